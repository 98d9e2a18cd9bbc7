"""Per-term semantics: centroids, spreads, and the calibrated term scorer.

The scorer is ``semeq_rt.semantics.scores_from_curves`` (numpy, shared with the runtime): for term t,
sigmoid(slope_boost_t · boost_t + slope_cut_t · cut_t + intercept_t), where boost_t and cut_t are how
many times t's centroid EQ curve the curve's boosts and its cuts contain (``term_amounts``: level-free
least squares over 50 Hz–16 kHz). Each term is fitted on its own, by a logistic regression of
"labelled t" against "labelled with another term" on the decoded curves of the training examples, the
two sides weighted equally (equal priors: warm and bright, 60 % of SAFE-DB, are not favoured for being
frequent), with both slopes constrained ≥ 0. An L2 penalty on the slopes keeps terms with five
examples sane; its strength is chosen on the validation split. With ``l2_mode="per-count"`` the
penalty is divided by the term's number of training examples (a prior worth a fixed number of
examples): terms with five examples are shrunk as before, warm and bright (hundreds) hardly at all;
with ``"shared"`` every term gets the same penalty, so a strength chosen for the many small terms also
flattens the large ones.

Why amounts of the term's own EQ rather than a joint model of the latent: a score then rises
monotonically with the amount of the word's EQ in the curve, for EQ curves and music balances alike
(docs/eq-space.md compares it with the Gaussian posterior over all terms that it replaced, whose "warm"
share rose and fell again as a balance got darker, because dark, bassy and full took over). Why boosts
and cuts apart: listeners weigh them differently (warm: boosting the lows, hardly cutting the highs;
bright: cutting the lows more than boosting the highs), and one amount for both made warm against
bright a single linear threshold on the curve (docs/eq-space.md, "Boosts and cuts").
"""
from __future__ import annotations

import itertools

import numpy as np

from semeq_rt.bundle import TERM_SCORER_KIND
from semeq_rt.semantics import scores_from_curves, term_amounts

#: Candidate L2 strengths on the slopes; the one with the lowest validation log loss is kept.
L2_GRID = (0.01, 0.1, 1.0, 10.0)
#: How the L2 strength applies to a term: "shared" (the same for every term) or "per-count" (divided by
#: the term's number of training examples).
L2_MODES = ("shared", "per-count")


def fit_logistic(x: np.ndarray, y: np.ndarray, weights: np.ndarray, l2: float, iterations: int = 60) -> np.ndarray:
    """(slopes..., intercept) of a weighted logistic regression of y ∈ {0, 1} on features x (N, F),
    L2 penalty ``l2`` on the slopes (Newton)."""
    design = np.concatenate([x, np.ones((len(x), 1))], axis=1)
    penalty = l2 * np.diag([1.0] * x.shape[1] + [0.0])
    theta = np.zeros(design.shape[1])
    for _ in range(iterations):
        p = 0.5 * (1.0 + np.tanh(0.5 * design @ theta))
        gradient = design.T @ (weights * (p - y)) + penalty @ theta
        hessian = (design * (weights * p * (1.0 - p))[:, None]).T @ design + penalty + 1e-12 * np.eye(len(theta))
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if np.abs(step).max() < 1e-10:
            break
    return theta


def penalised_loss(x, y, weights, l2, theta) -> float:
    """The objective ``fit_logistic`` minimises."""
    logits = x @ theta[:-1] + theta[-1]
    return float((weights * (np.logaddexp(0.0, logits) - y * logits)).sum() + 0.5 * l2 * (theta[:-1] ** 2).sum())


def fit_nonnegative_logistic(x: np.ndarray, y: np.ndarray, weights: np.ndarray, l2: float) -> np.ndarray:
    """``fit_logistic`` with every slope constrained ≥ 0. The objective is convex, so its constrained
    optimum is the unconstrained optimum on the features it leaves free: the best feasible fit over
    all subsets of free features (2^F fits; F = 2 here)."""
    best = None
    for free in itertools.product((True, False), repeat=x.shape[1]):
        keep = np.flatnonzero(free)
        theta = np.zeros(x.shape[1] + 1)
        fitted = fit_logistic(x[:, keep], y, weights, l2)
        theta[keep], theta[-1] = fitted[:-1], fitted[-1]
        if (theta[:-1] < 0.0).any():
            continue
        loss = penalised_loss(x, y, weights, l2, theta)
        if best is None or loss < best[0]:
            best = (loss, theta)
    return best[1]


def balanced_weights(is_term: np.ndarray) -> np.ndarray:
    """Half the total weight on the term's examples, half on the others'."""
    n_pos = max(int(is_term.sum()), 1)
    n_neg = max(int((~is_term).sum()), 1)
    return np.where(is_term, 0.5 / n_pos, 0.5 / n_neg)


def balanced_log_loss(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mean over terms with examples of each term's one-vs-rest log loss, term and rest weighted equally."""
    scores = np.clip(scores, 1e-12, 1.0 - 1e-12)
    losses = []
    for k in np.unique(labels):
        is_term = labels == k
        loss = -np.where(is_term, np.log(scores[:, k]), np.log(1.0 - scores[:, k]))
        losses.append(float((balanced_weights(is_term) * loss).sum()))
    return float(np.mean(losses))


def fit_term_scorer(curves_train, labels_train, curves_val, labels_val, term_curves, *, l2_mode: str) -> dict:
    """The scorer's numbers (``scores_from_curves``'s ``scorer`` argument, plus its kind, the chosen L2,
    its mode and its validation loss) from decoded curves (N, 121) with term labels, and the terms'
    centroid curves (K, 121). ``l2_mode``: one of ``L2_MODES`` (module docstring)."""
    if l2_mode not in L2_MODES:
        raise ValueError(f"l2_mode must be one of {L2_MODES}, got {l2_mode!r}")
    amounts = term_amounts(curves_train, term_curves)  # (N, K, 2)
    counts = np.bincount(labels_train[labels_train >= 0], minlength=len(term_curves))
    divisor = np.maximum(counts, 1) if l2_mode == "per-count" else np.ones(len(term_curves))
    best = None
    for l2 in L2_GRID:
        fits = np.stack([fit_nonnegative_logistic(amounts[:, k], (labels_train == k).astype(float),
                                                  balanced_weights(labels_train == k), l2 / divisor[k])
                         for k in range(len(term_curves))])
        scorer = {"curves_db": np.asarray(term_curves, dtype=np.float64), "slope_boost": fits[:, 0],
                  "slope_cut": fits[:, 1], "intercept": fits[:, 2]}
        loss = balanced_log_loss(scores_from_curves(curves_val, scorer), labels_val)
        if best is None or loss < best[0]:
            best = (loss, l2, scorer)
    loss, l2, scorer = best
    return {"kind": TERM_SCORER_KIND, **{k: v.tolist() for k, v in scorer.items()}, "l2": l2, "l2_mode": l2_mode,
            "validation_log_loss": loss}


def term_table(names, z_train, labels_train, curves_train, centroid_params, centroid_curves, counts) -> dict:
    """name → centroid, spreads, example counts and the centroid's EQ (parameters and curve)."""
    table = {}
    for k, name in enumerate(names):
        mine = labels_train == k
        zk = z_train[mine]
        table[name] = {
            "centroid": zk.mean(0).tolist(),
            "spread": zk.std(0).tolist(),                      # per latent dimension
            "spread_rms": float(np.sqrt(((zk - zk.mean(0)) ** 2).sum(1).mean())),
            "count": counts[name],                             # all splits, per source and total
            "params": centroid_params[k].tolist(),             # decoded centroid, eqdef layout
            "curve_db": centroid_curves[k].tolist(),           # its response on FREQ_GRID
            "curve_spread_db": curves_train[mine].std(0).tolist(),  # examples' spread per frequency
        }
    return table
