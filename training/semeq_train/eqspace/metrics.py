"""Held-out metrics of an EQ space on one split (the test split by default): reconstruction in dB
and term semantics."""
from __future__ import annotations

import copy

import numpy as np
import torch
from scipy.stats import spearmanr

from semeq_rt import eqdef

from . import curves as eqcurves
from .data import EqCorpus
from .space import EqSpace
from .terms import balanced_log_loss


def rms_db(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    return np.sqrt(((pred - target) ** 2).mean(-1))


def summary(errors: np.ndarray) -> dict:
    return {"median": float(np.median(errors)), "mean": float(np.mean(errors)),
            "p90": float(np.percentile(errors, 90)), "n": int(len(errors))}


def fit_curves_directly(decoder, targets: np.ndarray, level_free: bool, starts: int = 8, steps: int = 400,
                        seed: int = 0) -> np.ndarray:
    """Best 5-band settings for each target curve by direct optimisation of the 13 parameters.

    Adam on the decoder's own unbounded parametrisation (so the same ranges and peak order hold),
    from ``starts`` random starts per curve; the best start per curve is kept. Returns (N, 13).
    """
    generator = torch.Generator().manual_seed(seed)
    target = torch.as_tensor(targets, dtype=torch.float64).repeat(starts, 1)
    if level_free:
        target = eqcurves.remove_level(target)
    raw = torch.randn(len(target), eqdef.N_PARAMS, generator=generator, dtype=torch.float64).requires_grad_()
    optimiser = torch.optim.Adam([raw], lr=0.05)
    decoder = copy.deepcopy(decoder).double()

    def errors():
        pred = eqdef.params_response_db(decoder.to_params(raw))
        if level_free:
            pred = eqcurves.remove_level(pred)
        return ((pred - target) ** 2).mean(-1)

    for _ in range(steps):
        optimiser.zero_grad()
        errors().sum().backward()
        optimiser.step()
    with torch.no_grad():
        best = errors().view(starts, -1).argmin(0)
        params = decoder.to_params(raw).view(starts, -1, eqdef.N_PARAMS)
        return params[best, torch.arange(params.shape[1])].numpy()


def reconstruction_metrics(space: EqSpace, corpus: EqCorpus, split: str, fit_steps: int) -> dict:
    safe = corpus.select(split, "safe")
    target = corpus.curves[safe].astype(np.float64)
    pred = space.decode_curve(space.encode(target)).numpy()
    train_mean = corpus.curves[corpus.select("train", "safe")].mean(0)
    sfx = corpus.select(split, "socialfx")
    sfx_target = eqcurves.remove_level(corpus.curves[sfx].astype(np.float64))
    sfx_decoded = eqcurves.remove_level(space.decode_curve(space.encode(sfx_target)).numpy())
    best_params = fit_curves_directly(space.decoder, sfx_target, level_free=True, steps=fit_steps)
    sfx_best = eqcurves.remove_level(eqdef.params_response_db(best_params))
    # How much level a 5-band shape leaves open: fit each SAFE curve's level-free shape directly.
    shape_fit = eqdef.params_response_db(fit_curves_directly(space.decoder, target, level_free=True, steps=fit_steps))
    return {
        "safe_rms_db": summary(rms_db(pred, target)),
        "safe_rms_db_level_free": summary(rms_db(eqcurves.remove_level(pred), eqcurves.remove_level(target))),
        "safe_level_error_db": summary(np.abs(eqcurves.curve_level(pred - target)[:, 0])),
        "safe_baseline_mean_curve_rms_db": summary(rms_db(train_mean[None], target)),
        "safe_shape_fit_rms_db_level_free": summary(rms_db(eqcurves.remove_level(shape_fit),
                                                           eqcurves.remove_level(target))),
        "safe_shape_fit_level_error_db": summary(np.abs(eqcurves.curve_level(shape_fit - target)[:, 0])),
        "socialfx_decoder_rms_db_level_free": summary(rms_db(sfx_decoded, sfx_target)),
        "socialfx_direct_fit_rms_db_level_free": summary(rms_db(sfx_best, sfx_target)),
        "socialfx_flat_curve_rms_db_level_free": summary(rms_db(np.zeros_like(sfx_target), sfx_target)),
    }


def semantic_metrics(space: EqSpace, corpus: EqCorpus, split: str) -> dict:
    names = space.term_names
    warm, bright = names.index("warm"), names.index("bright")
    labelled = corpus.select(split) & (corpus.term >= 0)
    labels = corpus.term[labelled]
    scores = space.term_scores(space.encode(corpus.curves[labelled])).numpy()
    rank = (scores > scores[np.arange(len(labels)), labels][:, None]).sum(1)  # 0 = top-1
    is_safe = corpus.source[labelled] == 0
    pair = np.isin(labels, [warm, bright]) & is_safe
    pair_pred = np.where(scores[pair, bright] > scores[pair, warm], bright, warm)

    # Reference: nearest centroid on the raw curves (train-split SAFE warm/bright means).
    train_pair = corpus.select("train", "safe") & np.isin(corpus.term, [warm, bright])
    raw_centroids = np.stack([corpus.curves[train_pair & (corpus.term == k)].mean(0) for k in (warm, bright)])
    raw = corpus.curves[labelled][pair]
    raw_pred = np.array([warm, bright])[((raw[:, None] - raw_centroids[None]) ** 2).sum(-1).argmin(1)]

    # Do the scores follow the curve's tilt, as they should for these two words (held-out SAFE curves)?
    safe_curves = corpus.curves[labelled][is_safe].astype(np.float64)
    tilt = np.polyfit(np.log2(eqdef.FREQ_GRID[eqcurves.LEVEL_MASK]), safe_curves[:, eqcurves.LEVEL_MASK].T, 1)[0]

    per_term = {}
    for k, name in enumerate(names):
        mine = labels == k
        curves_k = eqcurves.remove_level(corpus.curves[labelled][mine].astype(np.float64))
        centroid = eqcurves.remove_level(np.asarray(space.terms[name]["curve_db"]))
        corr = [np.corrcoef(c, centroid)[0, 1] for c in curves_k if c.std() > 1e-9]
        per_term[name] = {"n": int(mine.sum()),
                          "top1": float((rank[mine] < 1).mean()) if mine.any() else None,
                          "top5": float((rank[mine] < 5).mean()) if mine.any() else None,
                          "curve_corr": float(np.mean(corr)) if corr else None}
    present = [t for t in per_term.values() if t["n"] > 0]
    return {
        "warm_vs_bright_accuracy": float((pair_pred == labels[pair]).mean()),
        "warm_vs_bright_n": int(pair.sum()),
        "warm_vs_bright_raw_nearest_centroid_accuracy": float((raw_pred == labels[pair]).mean()),
        "warm_score_tilt_spearman": float(spearmanr(scores[is_safe, warm], tilt)[0]),
        "bright_score_tilt_spearman": float(spearmanr(scores[is_safe, bright], tilt)[0]),
        "top1": float((rank < 1).mean()), "top5": float((rank < 5).mean()),
        "top1_balanced": float(np.mean([t["top1"] for t in present])),
        "top5_balanced": float(np.mean([t["top5"] for t in present])),
        "top1_safe": float((rank[is_safe] < 1).mean()), "top1_socialfx": float((rank[~is_safe] < 1).mean()),
        "n_labelled": int(len(labels)), "n_terms_with_heldout": len(present), "n_terms": len(names),
        "chance_top1_balanced": 1.0 / len(names), "chance_top5_balanced": 5.0 / len(names),
        "balanced_log_loss": balanced_log_loss(scores, labels), "constant_log_loss": float(np.log(2.0)),
        "per_term": per_term,
    }


def heldout_metrics(space: EqSpace, corpus: EqCorpus, split: str = "test", fit_steps: int = 400) -> dict:
    return {"split": split, **reconstruction_metrics(space, corpus, split, fit_steps),
            **semantic_metrics(space, corpus, split)}
