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

from . import eqdef, ltas, vocabulary
from .bundle import Bundle, load_bundle, term_scorer_arrays
from .words import clean, to_known

#: The longest text placed as a term: a word or a short phrase, not a description.
MAX_TERM_CHARACTERS = 60


@functools.lru_cache(maxsize=1)
def _default_bundle():
    return load_bundle()


def get_bundle(bundle=None):
    """The bundle to use: ``None`` → the shipped default (loaded once per process and shared), a path →
    that bundle folder, a loaded bundle → itself."""
    if bundle is None:
        return _default_bundle()
    if isinstance(bundle, (str, Path)):
        return load_bundle(bundle)
    if not isinstance(bundle, Bundle):
        raise TypeError(f"bundle must be None (the shipped models), a folder path or a loaded bundle "
                        f"(semeq_rt.load_bundle), got {type(bundle).__name__}")
    return bundle


def terms(bundle=None) -> list:
    """The known words (their own human data places them), most-supported (most contributions) first.
    Any other word or short phrase is placed from its text where the bundle has a text encoder."""
    table = get_bundle(bundle).terms
    return sorted(table, key=lambda name: (-table[name].count, name))


def _normalise_name(name) -> str:
    if not isinstance(name, str):
        raise TypeError(f"a term must be a string, got {type(name).__name__}")
    return clean(name)


def _resolve_name(key: str, bundle, known) -> str:
    """A cleaned name → the known word it is (itself, an alias or an inflection: brighter → bright),
    or itself once the bundle's text encoder has placed it; ValueError otherwise."""
    word = to_known(key, bundle.terms)
    if word is not None:
        return word
    placer = vocabulary.placer(bundle) if key else None
    if placer is None:
        raise _unknown_term_error(key, known)
    if len(key) > MAX_TERM_CHARACTERS:
        raise ValueError(f"term {key[:40]!r}… is {len(key)} characters long: a term is a word or a short phrase "
                         f"(at most {MAX_TERM_CHARACTERS} characters)")
    if " " not in key and key not in placer.words and not placer.is_model_word(key) \
            and difflib.get_close_matches(key, known, n=1, cutoff=0.75):
        raise _unknown_term_error(key, known)  # a typo of a known word ("wram"), not a new word
    try:
        placer.place(key)
    except vocabulary.NotASoundError as e:
        close = difflib.get_close_matches(key, known, n=3, cutoff=0.75)
        raise vocabulary.NotASoundError(f"{e}" + (f"; or did you mean {', '.join(map(repr, close))}?" if close
                                                  else "")) from None
    return key


def term_point(name: str, bundle=None):
    """(centroid, spread) of a resolved name: a known word's, or its text placement's."""
    bundle = get_bundle(bundle)
    term = bundle.terms.get(name) or vocabulary.placer(bundle).place(name)
    return term.centroid, term.spread


def _unknown_term_error(name, known) -> ValueError:
    close = difflib.get_close_matches(name[:100], known, n=5, cutoff=0.6)
    hint = f"did you mean {', '.join(repr(c) for c in close)}?" if close else \
        f"known terms include {', '.join(known[:12])} ({len(known)} in all; semeq_rt.terms() lists them)"
    shown = name if len(name) <= 60 else f"{name[:57]}…"  # a pasted essay is not echoed whole
    return ValueError(f"unknown term {shown!r}: {hint}")


def resolve_blend(spec, bundle=None) -> dict:
    """A term or a blend → {term: weight} with weights summing to 1.

    ``spec`` is a term (``"warm"``), a mapping of terms to non-negative weights (``{"warm": 0.7,
    "airy": 0.3}``), or a sequence of (term, weight) pairs. Names are matched case-insensitively;
    inflections and variants of a known word resolve to it (brighter → bright); any other word or short
    phrase is placed from its text (``semeq_rt.vocabulary``) when the bundle has a text encoder.
    Raises ``ValueError`` for a text that is not a sound (``vocabulary.NotASoundError``, naming the
    nearest known words), an unknown term with no text encoder (listing close matches), a negative or
    non-finite weight, or weights that sum to zero.
    """
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
        key = _resolve_name(_normalise_name(name), get_bundle(bundle), known)
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
    return sum(w * term_point(name, bundle)[0].astype(np.float64) for name, w in weights.items()).astype(np.float32)


def blend_spread(weights: dict, bundle=None) -> np.ndarray:
    """The human spread (per latent dimension) of a resolved blend: the weighted mean of the terms'."""
    return sum(w * term_point(name, bundle)[1].astype(np.float64) for name, w in weights.items())


def term_amounts(curves_db, term_curves_db) -> np.ndarray:
    """How many times each term's EQ curve the boosts and the cuts of a curve contain: the least-squares
    coefficients of the term's level-free curve in the positive part and in the negative part of the
    level-free curve, over 50 Hz–16 kHz. (…, 121) dB curves and (K, 121) term curves → (…, K, 2)
    [boost, cut]; their sum is the plain amount (1.0: "the reference plus exactly the term's EQ", 0:
    "none of it", negative: "the opposite"). Levels are left out because audio balances carry none.

    Why two parts: listeners weigh them differently (docs/eq-space.md): a curve is "warm" when it
    boosts along warm's EQ (the lows) much more than when it cuts along it (the highs), and "bright"
    the other way round; one amount for both made warm against bright a single linear threshold."""
    band = ltas.BAND_MASK
    curves = np.asarray(curves_db, dtype=np.float64)[..., band]
    terms_ = np.asarray(term_curves_db, dtype=np.float64)[:, band]
    curves = curves - curves.mean(axis=-1, keepdims=True)
    terms_ = terms_ - terms_.mean(axis=-1, keepdims=True)
    norms = np.sum(terms_ ** 2, axis=-1)
    boost = np.maximum(curves, 0.0) @ terms_.T / norms
    cut = np.minimum(curves, 0.0) @ terms_.T / norms
    return np.stack([boost, cut], axis=-1)


def scores_from_curves(curves_db, scorer) -> np.ndarray:
    """Calibrated term scores (…, K) of dB curves (…, 121) under a term scorer (``curves_db`` (K, 121):
    the terms' reference curves, the manifest's ``terms[].curve_db``; ``slope_boost``, ``slope_cut``,
    ``intercept`` (K,) each: the manifest's ``term_scorer``): for each term, the probability that a
    listener calls the curve by that word rather than another, from the amounts of the term's EQ in
    the curve's boosts and cuts (``term_amounts``), sigmoid(slope_boost · boost + slope_cut · cut +
    intercept), fitted per term with equal weight on the term and on the rest (docs/eq-space.md). Both
    slopes are ≥ 0, so more of the term's EQ, boosted or cut, never lowers its score."""
    amounts = term_amounts(curves_db, scorer["curves_db"])
    logits = (amounts[..., 0] * np.asarray(scorer["slope_boost"], dtype=np.float64)
              + amounts[..., 1] * np.asarray(scorer["slope_cut"], dtype=np.float64)
              + np.asarray(scorer["intercept"], dtype=np.float64))
    return 0.5 * (1.0 + np.tanh(0.5 * logits))  # the logistic function, without overflow


@functools.lru_cache(maxsize=8)
def _term_scorer(bundle):
    return term_scorer_arrays(bundle.manifest)


def term_scores(latent, bundle=None) -> dict:
    """How well each term describes a latent point: per term, a calibrated probability that a listener
    would use that word for its EQ curve (or audio balance) rather than another word, from how much of
    the term's EQ it contains (``scores_from_curves``). Terms are scored independently (a curve can be
    both warm and soft), so the scores do not sum to 1; best first."""
    bundle = get_bundle(bundle)
    names, scorer = _term_scorer(bundle)
    _, response = bundle.decode(np.asarray(latent, dtype=np.float32))
    scores = scores_from_curves(np.asarray(response, dtype=np.float64).reshape(-1, eqdef.N_GRID)[0], scorer)
    order = np.argsort(-scores, kind="stable")
    return {names[i]: float(scores[i]) for i in order}


def realisable_bands(params, sample_rate, gain_scale=1.0) -> list:
    """eqdef's five bands of one 13-parameter setting at ``sample_rate``: gains scaled by ``gain_scale``,
    frequencies clamped to ``eqdef.MAX_FREQ_FRACTION`` × sample rate (``eqdef.clamp_frequencies``)."""
    bands = eqdef.params_to_bands(eqdef.clamp_frequencies(params, sample_rate))
    return [(kind, freq, gain * gain_scale, q) for kind, freq, gain, q in bands]


def fit_latent(curve_db, initial, bundle=None, iterations=3) -> np.ndarray:
    """The latent whose decoded EQ best reproduces ``curve_db`` (dB on FREQ_GRID; least squares over
    the analysis band, 50 Hz–16 kHz, level removed), refined from ``initial`` by Levenberg–Marquardt
    with finite-difference Jacobians through the bundle's decoder (one batched decoder call per
    iteration, plus one). The level coordinate (the latent's last, docs/eq-space.md) is held at
    ``initial``'s: a level-free fit cannot determine it.

    Why: docs/audio-encoder.md defines the audio's latent as this least-squares fit. The EQ encoder
    alone does not compute it on music (trained on EQ curves, it maps a music balance far from the
    decoder's manifold), and the adaptive EQ inverts the decoded curve, so the miss would stay in the
    output."""
    bundle = get_bundle(bundle)
    band = ltas.BAND_MASK
    target = np.asarray(curve_db, dtype=np.float64)[band]
    target = target - target.mean()
    z = np.asarray(initial, dtype=np.float64)
    step_size = 0.02
    shape_dims = len(z) - 1
    probes = np.vstack([np.zeros(len(z)), step_size * np.eye(len(z))[:shape_dims]])

    def residual_and_jacobian(point):
        _, response = bundle.decode((point + probes).astype(np.float32))
        response = np.asarray(response, dtype=np.float64)[:, band]
        response -= response.mean(axis=1, keepdims=True)
        return response[0] - target, (response[1:] - response[0]).T / step_size

    residual, jacobian = residual_and_jacobian(z)
    cost, damping = float(np.mean(residual ** 2)), 1.0
    for _ in range(iterations):
        normal = jacobian.T @ jacobian
        step = np.linalg.solve(normal + damping * np.eye(shape_dims), -jacobian.T @ residual)
        candidate = z + np.append(step, 0.0)
        new_residual, new_jacobian = residual_and_jacobian(candidate)
        new_cost = float(np.mean(new_residual ** 2))
        if np.isfinite(new_cost) and new_cost < cost:
            z, residual, jacobian, cost, damping = candidate, new_residual, new_jacobian, new_cost, damping / 3.0
        else:
            damping *= 10.0
    return z.astype(np.float32)
