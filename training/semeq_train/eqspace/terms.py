"""Per-term semantics in the latent space: centroids, spreads, and a calibrated scorer.

Class balance: warm and bright own most examples, so the scorer uses equal priors, and its
temperature is fitted by class-balanced negative log-likelihood (each validation example weighted by
1 / its term's count), which is the calibration that matches equal priors.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import minimize_scalar

from .model import TermScorer


def fit_gaussian(z: np.ndarray, labels: np.ndarray, n_terms: int, shrinkage: float):
    """Centroids (K, D) and the precision of the pooled within-term covariance, shrunk toward
    (trace / D) · I by ``shrinkage`` so that it stays well conditioned with few examples per term."""
    z = np.asarray(z, dtype=np.float64)
    centroids = np.stack([z[labels == k].mean(0) for k in range(n_terms)])
    residual = z - centroids[labels]
    cov = residual.T @ residual / max(len(z) - n_terms, 1)
    dim = cov.shape[0]
    cov = (1.0 - shrinkage) * cov + shrinkage * np.trace(cov) / dim * np.eye(dim)
    return centroids, np.linalg.inv(cov)


def balanced_nll(log_probs: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-likelihood with every term weighted equally."""
    nll = -log_probs[np.arange(len(labels)), labels]
    terms = np.unique(labels)
    return float(np.mean([nll[labels == k].mean() for k in terms]))


def fit_term_scorer(z_train, labels_train, z_val, labels_val, n_terms: int, shrinkage: float) -> TermScorer:
    """Gaussian term model on training latents; temperature by balanced NLL on validation latents."""
    centroids, precision = fit_gaussian(z_train, labels_train, n_terms, shrinkage)
    scorer = TermScorer(torch.as_tensor(centroids), torch.as_tensor(precision), 1.0)
    with torch.no_grad():
        base = scorer.logits(torch.as_tensor(z_val, dtype=torch.float32)).double()

    def nll(log_t):
        return balanced_nll(torch.log_softmax(base / np.exp(log_t), -1).numpy(), labels_val)

    log_t = minimize_scalar(nll, bounds=(-5.0, 8.0), method="bounded").x
    scorer.temperature.fill_(float(np.exp(log_t)))
    return scorer


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
