"""The semantic vocabulary as the runtime uses it: the shared default bundle, the kept terms, blends of
terms (validated, with close matches for typos), term scores of a latent point, and the EQ bands a
latent point decodes to at a given sample rate.

Everything model-related goes through the bundle (docs/bundle.md); the EQ itself is eqdef's.
"""
from __future__ import annotations

import difflib
import functools
import math
import numbers
from pathlib import Path

import numpy as np

from . import eqdef, ltas

#: Highest band frequency, as a fraction of the sample rate, that the runtime hands to the filter bank.
#: The semantic EQ's frequencies reach 20 kHz; at low sample rates they are clamped below Nyquist (a
#: band above fs/2 could not be realised; its audible effect would lie above Nyquist anyway).
MAX_FREQ_FRACTION = 0.45


@functools.lru_cache(maxsize=1)
def _default_bundle():
    from .bundle import load_bundle

    return load_bundle()


def get_bundle(bundle=None):
    """The bundle to use: ``None`` → the shipped default (loaded once per process and shared), a path →
    that bundle folder, a loaded bundle → itself."""
    if bundle is None:
        return _default_bundle()
    if isinstance(bundle, (str, Path)):
        from .bundle import load_bundle

        return load_bundle(bundle)
    return bundle


def terms(bundle=None) -> list:
    """The kept descriptive words of the semantic space, most-supported (most training examples) first."""
    table = get_bundle(bundle).terms
    return sorted(table, key=lambda name: (-table[name].count, name))


def _normalise_name(name) -> str:
    if not isinstance(name, str):
        raise TypeError(f"a term must be a string, got {type(name).__name__}")
    return " ".join(name.strip().lower().split())


def _unknown_term_error(name, known) -> ValueError:
    close = difflib.get_close_matches(name, known, n=5, cutoff=0.6)
    hint = f"did you mean {', '.join(repr(c) for c in close)}?" if close else \
        f"known terms include {', '.join(known[:12])} ({len(known)} in all; semeq_rt.terms() lists them)"
    return ValueError(f"unknown term {name!r}: {hint}")


def resolve_blend(spec, bundle=None) -> dict:
    """A term or a blend → {term: weight} with weights summing to 1.

    ``spec`` is a term (``"warm"``), a mapping of terms to non-negative weights (``{"warm": 0.7,
    "airy": 0.3}``), or a sequence of (term, weight) pairs. Names are matched case-insensitively.
    Raises ``ValueError`` for an unknown term (listing close matches), a negative or non-finite weight,
    or weights that sum to zero.
    """
    table = get_bundle(bundle).terms
    if isinstance(spec, str):
        pairs = [(spec, 1.0)]
    elif isinstance(spec, dict):
        pairs = list(spec.items())
    else:
        try:
            pairs = [tuple(p) for p in spec]
        except TypeError:
            raise TypeError(f"a term must be a string, a dict of term → weight or (term, weight) pairs; "
                            f"got {type(spec).__name__}") from None
        if any(len(p) != 2 for p in pairs):
            raise ValueError("a blend given as a sequence must hold (term, weight) pairs")
    if not pairs:
        raise ValueError("a blend needs at least one term")
    known = terms(bundle)
    weights = {}
    for name, weight in pairs:
        key = _normalise_name(name)
        if key not in table:
            raise _unknown_term_error(key, known)
        if isinstance(weight, bool) or not isinstance(weight, numbers.Real) or not math.isfinite(weight) \
                or weight < 0:
            raise ValueError(f"the weight of {key!r} must be a finite number ≥ 0, got {weight!r}")
        weights[key] = weights.get(key, 0.0) + float(weight)
    total = sum(weights.values())
    if total <= 0:
        raise ValueError("the weights of a blend must not all be zero")
    return {name: w / total for name, w in weights.items() if w > 0}


def blend_latent(weights: dict, bundle=None) -> np.ndarray:
    """The latent point of a resolved blend: the weighted mean of the terms' centroids."""
    table = get_bundle(bundle).terms
    return sum(w * table[name].centroid.astype(np.float64) for name, w in weights.items()).astype(np.float32)


@functools.lru_cache(maxsize=8)
def _term_model(bundle):
    """(names, centroids (K, D), precision (D, D) or None, per-term spreads (K, D), temperature)."""
    scorer = bundle.manifest.get("term_scorer")
    if scorer is not None:
        return (list(scorer["terms"]), np.asarray(scorer["centroids"], dtype=np.float64),
                np.asarray(scorer["precision"], dtype=np.float64), None, float(scorer["temperature"]))
    names = list(bundle.terms)
    centroids = np.stack([bundle.terms[n].centroid for n in names]).astype(np.float64)
    spreads = np.maximum(np.stack([bundle.terms[n].spread for n in names]).astype(np.float64), 1e-3)
    return names, centroids, None, spreads, 1.0


def term_scores(latent, bundle=None) -> dict:
    """How well each term describes a latent point, as calibrated probabilities with equal priors
    (so that frequent training words such as warm and bright are not favoured for being frequent),
    best first, summing to 1. Uses the bundle's ``term_scorer`` (a Gaussian model with a shared
    precision matrix and a fitted temperature, docs/eq-space.md); a bundle without one is scored with
    a diagonal Gaussian per term from its centroid and spread."""
    names, centroids, precision, spreads, temperature = _term_model(get_bundle(bundle))
    diff = np.asarray(latent, dtype=np.float64) - centroids
    if precision is not None:
        log_likelihood = -0.5 * np.einsum("kd,de,ke->k", diff, precision, diff) / temperature
    else:
        log_likelihood = -0.5 * np.sum((diff / spreads) ** 2 + 2.0 * np.log(spreads), axis=1)
    posterior = np.exp(log_likelihood - log_likelihood.max())
    posterior /= posterior.sum()
    order = np.argsort(-posterior, kind="stable")
    return {names[i]: float(posterior[i]) for i in order}


def realisable_bands(params, sample_rate, gain_scale=1.0) -> list:
    """eqdef's five bands of one 13-parameter setting at ``sample_rate``: gains scaled by ``gain_scale``,
    frequencies clamped to ``MAX_FREQ_FRACTION`` × sample rate."""
    top = MAX_FREQ_FRACTION * float(sample_rate)
    return [(kind, min(freq, top), gain * gain_scale, q) for kind, freq, gain, q in eqdef.params_to_bands(params)]


def fit_latent(curve_db, initial, bundle=None, iterations=3) -> np.ndarray:
    """The latent whose decoded EQ best reproduces ``curve_db`` (dB on FREQ_GRID; least squares over
    the analysis band, 50 Hz–16 kHz, level removed), refined from ``initial`` by Levenberg–Marquardt
    with finite-difference Jacobians through the bundle's decoder (one batched decoder call per
    iteration, plus one).

    Why: docs/audio-encoder.md defines the audio's latent as this least-squares fit. The EQ encoder
    alone does not compute it on music (trained on EQ curves, it maps a music balance far from the
    decoder's manifold), and the adaptive EQ inverts the decoded curve, so the miss would stay in the
    output. On validation music the fit brings the LTAS analysis from 74 % to ≈ 55 % of the input's
    tilt spread and its second pass from 41 % to ≈ 25 % of the first (docs/processor.md)."""
    bundle = get_bundle(bundle)
    band = ltas.BAND_MASK
    target = np.asarray(curve_db, dtype=np.float64)[band]
    target = target - target.mean()
    z = np.asarray(initial, dtype=np.float64)
    step_size = 0.02
    probes = np.vstack([np.zeros(len(z)), step_size * np.eye(len(z))])

    def residual_and_jacobian(point):
        _, response = bundle.decode((point + probes).astype(np.float32))
        response = np.asarray(response, dtype=np.float64)[:, band]
        response -= response.mean(axis=1, keepdims=True)
        return response[0] - target, (response[1:] - response[0]).T / step_size

    residual, jacobian = residual_and_jacobian(z)
    cost, damping = float(np.mean(residual ** 2)), 1.0
    for _ in range(iterations):
        normal = jacobian.T @ jacobian
        step = np.linalg.solve(normal + damping * np.eye(len(z)), -jacobian.T @ residual)
        candidate = z + step
        new_residual, new_jacobian = residual_and_jacobian(candidate)
        new_cost = float(np.mean(new_residual ** 2))
        if np.isfinite(new_cost) and new_cost < cost:
            z, residual, jacobian, cost, damping = candidate, new_residual, new_jacobian, new_cost, damping / 3.0
        else:
            damping *= 10.0
    return z.astype(np.float32)
