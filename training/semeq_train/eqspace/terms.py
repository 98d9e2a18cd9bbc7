"""Per-term semantics: centroids, spreads, and the calibrated term scorer.

The scorer is ``semeq_rt.semantics.scores_from_curves`` (numpy, shared with the runtime): for term t,
sigmoid(slope_t · amount_t + intercept_t), where amount_t is how many times t's centroid EQ curve a
curve contains (level-free least squares over 50 Hz–16 kHz). Each term is fitted on its own, by a
logistic regression of "labelled t" against "labelled with another term" on the decoded curves of the
training examples, the two sides weighted equally (equal priors: warm and bright, 60 % of SAFE-DB, are
not favoured for being frequent). An L2 penalty on the slope keeps terms with five examples sane; its
strength is chosen on the validation split. With ``l2_mode="per-count"`` the penalty is divided by the
term's number of training examples (a prior worth a fixed number of examples): terms with five examples
are shrunk as before, warm and bright (hundreds) hardly at all; with ``"shared"`` every term gets the
same penalty, so a strength chosen for the many small terms also flattens the large ones.

Why one amount per term rather than a joint model of the latent: a score then rises monotonically
with the amount of the word's EQ in the curve, for EQ curves and music balances alike (docs/eq-space.md
compares it with the Gaussian posterior over all terms that it replaced, whose "warm" share rose and
fell again as a balance got darker, because dark, bassy and full took over).
"""
from __future__ import annotations

import numpy as np

from semeq_rt.semantics import scores_from_curves, term_amounts

#: Candidate L2 strengths on the slope; the one with the lowest validation log loss is kept.
L2_GRID = (0.01, 0.1, 1.0, 10.0)
#: How the L2 strength applies to a term: "shared" (the same for every term) or "per-count" (divided by
#: the term's number of training examples).
L2_MODES = ("shared", "per-count")


def fit_logistic(x: np.ndarray, y: np.ndarray, weights: np.ndarray, l2: float, iterations: int = 50):
    """(slope, intercept) of a weighted logistic regression of y ∈ {0, 1} on one feature x (Newton)."""
    design = np.stack([x, np.ones_like(x)], axis=1)
    penalty = np.diag([l2, 0.0])
    theta = np.zeros(2)
    for _ in range(iterations):
        p = 0.5 * (1.0 + np.tanh(0.5 * design @ theta))
        gradient = design.T @ (weights * (p - y)) + penalty @ theta
        hessian = (design * (weights * p * (1.0 - p))[:, None]).T @ design + penalty + 1e-12 * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if np.abs(step).max() < 1e-10:
            break
    return float(theta[0]), float(theta[1])


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
    """The scorer's numbers (``scores_from_curves``'s ``scorer`` argument, plus the chosen L2, its mode and
    its validation loss) from decoded curves (N, 121) with term labels, and the terms' centroid curves
    (K, 121). ``l2_mode``: one of ``L2_MODES`` (module docstring)."""
    if l2_mode not in L2_MODES:
        raise ValueError(f"l2_mode must be one of {L2_MODES}, got {l2_mode!r}")
    amounts = term_amounts(curves_train, term_curves)
    counts = np.bincount(labels_train[labels_train >= 0], minlength=len(term_curves))
    divisor = np.maximum(counts, 1) if l2_mode == "per-count" else np.ones(len(term_curves))
    best = None
    for l2 in L2_GRID:
        fits = [fit_logistic(amounts[:, k], (labels_train == k).astype(float),
                             balanced_weights(labels_train == k), l2 / divisor[k]) for k in range(len(term_curves))]
        scorer = {"curves_db": np.asarray(term_curves, dtype=np.float64), "slope": np.array([f[0] for f in fits]),
                  "intercept": np.array([f[1] for f in fits])}
        loss = balanced_log_loss(scores_from_curves(curves_val, scorer), labels_val)
        if best is None or loss < best[0]:
            best = (loss, l2, scorer)
    loss, l2, scorer = best
    return {"curves_db": scorer["curves_db"].tolist(), "slope": scorer["slope"].tolist(),
            "intercept": scorer["intercept"].tolist(), "l2": l2, "l2_mode": l2_mode, "validation_log_loss": loss}


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
