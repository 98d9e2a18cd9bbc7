"""Figures of the EQ-space report: every kept term's centroid curve, the 2-D latent map, and
held-out reconstructions."""
from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from semeq_rt import eqdef  # noqa: E402

from . import curves as eqcurves  # noqa: E402
from .data import EqCorpus  # noqa: E402
from .space import EqSpace  # noqa: E402


def _log_freq_axis(ax, labels: bool):
    ax.set_xscale("log")
    ax.set_xlim(20, 20000)
    ax.set_xticks([100, 1000, 10000])
    ax.set_xticklabels(["100", "1k", "10k"] if labels else [])
    ax.axhline(0, color="0.7", lw=0.5)


def term_curves(space: EqSpace, path):
    """Small multiples: each term's decoded centroid curve over its training examples' mean ± 1 sd
    (both level-free, as the term's meaning does not include a level)."""
    names = space.term_names
    cols = 8
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.0 * cols, 1.55 * rows), sharey=True)
    f = eqdef.FREQ_GRID
    for ax, name in zip(axes.flat, names):
        t = space.terms[name]
        centroid = eqcurves.remove_level(np.asarray(t["curve_db"]))
        spread = np.asarray(t["curve_spread_db"])
        ax.fill_between(f, centroid - spread, centroid + spread, color="C0", alpha=0.15, lw=0)
        ax.plot(f, centroid, color="C0", lw=1.4)
        ax.set_title(f"{name} ({t['count']['total']})", fontsize=8, pad=2)
        _log_freq_axis(ax, labels=ax in axes[-1])
        ax.tick_params(labelsize=6)
    for ax in axes.flat[len(names):]:
        ax.set_visible(False)
    axes[0, 0].set_ylim(-12, 12)
    fig.suptitle("Decoded term centroids, dB (level-free; shaded: ±1 sd of the term's training curves; "
                 "n = examples)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def latent_map(space: EqSpace, corpus: EqCorpus, path):
    """Training latents and term centroids projected on the two leading discriminant directions of the
    terms (the plane that best separates the terms' centroids under their pooled within-term covariance)."""
    z = space.encode(corpus.curves).numpy().astype(np.float64)
    centroids = np.array([space.terms[n]["centroid"] for n in space.term_names], dtype=np.float64)
    labelled = corpus.select("train") & (corpus.term >= 0)
    residual = z[labelled] - centroids[corpus.term[labelled]]
    covariance = residual.T @ residual / max(int(labelled.sum()) - len(centroids), 1)
    # Whiten by the pooled covariance, then take the principal axes of the whitened centroids.
    whiten = np.linalg.cholesky(np.linalg.inv(covariance + 1e-6 * np.eye(len(covariance))))
    cw = (centroids - centroids.mean(0)) @ whiten
    axes = np.linalg.svd(cw, full_matrices=False)[2][:2].T
    project = lambda v: (v - centroids.mean(0)) @ whiten @ axes  # noqa: E731
    fig, ax = plt.subplots(figsize=(9, 7.5))
    train = corpus.select("train")
    pz = project(z[train])
    labels = corpus.term[train]
    colours = {"warm": "C3", "bright": "C1"}
    ax.scatter(pz[:, 0], pz[:, 1], s=4, color="0.8", label="other training curves")
    for name, colour in colours.items():
        mine = labels == space.term_names.index(name)
        ax.scatter(pz[mine, 0], pz[mine, 1], s=5, color=colour, alpha=0.35, label=f"{name} examples")
    pc = project(centroids)
    ax.scatter(pc[:, 0], pc[:, 1], s=14, color="k")
    for (x, y), name in zip(pc, space.term_names):
        ax.annotate(name, (x, y), fontsize=7, xytext=(2, 2), textcoords="offset points")
    lim = np.percentile(np.abs(np.concatenate([pz, pc])), 99, axis=0) * 1.1
    ax.set_xlim(-lim[0], lim[0])
    ax.set_ylim(-lim[1], lim[1])
    ax.set_xlabel("discriminant 1")
    ax.set_ylabel("discriminant 2")
    ax.set_title("EQ latent space: term centroids (black) and training curves")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def reconstructions(space: EqSpace, corpus: EqCorpus, path, n: int = 8, seed: int = 0):
    """Held-out SAFE curves against their reconstructions, and the error distribution."""
    test = corpus.curves[corpus.select("test", "safe")].astype(np.float64)
    pred = space.decode_curve(space.encode(test)).numpy()
    err = np.sqrt(((pred - test) ** 2).mean(1))
    pick = np.random.default_rng(seed).choice(len(test), n, replace=False)
    fig, axes = plt.subplots(2, n // 2 + 1, figsize=(15, 5))
    f = eqdef.FREQ_GRID
    for ax, i in zip(axes.flat, pick):
        ax.plot(f, test[i], color="k", lw=1.2, label="held-out")
        ax.plot(f, pred[i], color="C0", lw=1.0, ls="--", label="decoded")
        ax.set_title(f"RMS {err[i]:.2f} dB", fontsize=8)
        _log_freq_axis(ax, labels=True)
    axes.flat[0].legend(fontsize=7)
    hist = axes.flat[-1]
    for ax in axes.flat[n:-1]:
        ax.set_visible(False)
    hist.hist(err, bins=np.linspace(0, max(3.0, err.max()), 40), color="C0")
    hist.axvline(np.median(err), color="k", ls="--")
    hist.set_title(f"held-out SAFE RMS (median {np.median(err):.2f} dB)", fontsize=8)
    hist.set_xlabel("dB")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
