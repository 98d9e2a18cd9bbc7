"""The one representation of both data sets: a dB magnitude response on ``eqdef.FREQ_GRID``.

SAFE settings → ``eqdef.params_response_db`` (the runtime's RBJ formulas). SocialFX 40-band weight
vectors → the curve the Audealize plugin produces from them: 40 RBJ peaking filters with Q = 4.31 at
the plugin's band centres, gain = weight × a dB scale fitted to SAFE (``fit_socialfx_db_scale``).
Rendering through the plugin's filters (rather than interpolating the 40 values) keeps the overlap of
neighbouring bands that a listener of these curves actually heard.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from semeq_rt import eqdef

#: Audealize plugin band centres (Hz), the columns of the SocialFX/Audealize 40-band vectors.
AUDEALIZE_CENTRES = np.array([
    20, 50, 83, 120, 161, 208, 259, 318, 383, 455, 537, 628, 729, 843, 971, 1114, 1273, 1452, 1652,
    1875, 2126, 2406, 2719, 3070, 3462, 3901, 4392, 4941, 5556, 6244, 7014, 7875, 8839, 9917, 11124,
    12474, 13984, 15675, 17566, 19682,
], dtype=np.float64)
AUDEALIZE_Q = 4.31

#: Band over which a curve's level is measured (as the audio side does: audio level carries no meaning).
LEVEL_BAND_HZ = (50.0, 16000.0)
LEVEL_MASK = (eqdef.FREQ_GRID >= LEVEL_BAND_HZ[0]) & (eqdef.FREQ_GRID <= LEVEL_BAND_HZ[1])


def curve_level(curves):
    """Mean dB over 50 Hz–16 kHz, shape (..., 121) → (..., 1); numpy or torch."""
    return curves[..., LEVEL_MASK].mean(-1, keepdims=True) if isinstance(curves, np.ndarray) \
        else curves[..., _torch_mask(curves)].mean(-1, keepdim=True)


def _torch_mask(like):
    import torch

    return torch.as_tensor(LEVEL_MASK, device=like.device)


def remove_level(curves):
    """Curves with their 50 Hz–16 kHz mean removed (the level-normalised form the audio side feeds)."""
    return curves - curve_level(curves)


def sort_peaks(params: np.ndarray) -> np.ndarray:
    """13-parameter settings with the three peaking bands reordered by frequency.

    Peaks commute, so the response is unchanged; and because the k-th smallest of three values each in
    its band's range lies in the k-th band's range (the ranges' ends are themselves ordered), the
    sorted setting stays within eqdef's ranges.
    """
    params = np.array(params, dtype=np.float64, copy=True)
    peaks = params[:, 2:11].reshape(-1, 3, 3)  # (N, band, [gain, freq, q])
    order = np.argsort(peaks[:, :, 1], axis=1, kind="stable")
    params[:, 2:11] = np.take_along_axis(peaks, order[:, :, None], axis=1).reshape(-1, 9)
    return params


def safe_curves(params: np.ndarray) -> np.ndarray:
    """(N, 13) SAFE settings → (N, 121) dB curves via eqdef."""
    return eqdef.params_response_db(np.asarray(params, dtype=np.float64))


def graphic_eq_curves(gains_db: np.ndarray) -> np.ndarray:
    """(N, 40) Audealize band gains in dB → (N, 121) dB curves, as the Audealize plugin applies them."""
    gains = np.asarray(gains_db, dtype=np.float64)[:, :, None]  # (N, 40, 1) against the grid
    centres = AUDEALIZE_CENTRES[:, None]
    coefs = eqdef.rbj_coefficients("peak", centres, gains, AUDEALIZE_Q, eqdef.REFERENCE_SAMPLE_RATE)
    coefs = tuple(np.broadcast_to(c, gains.shape) for c in coefs)
    return eqdef.biquad_response_db(coefs, eqdef.FREQ_GRID, eqdef.REFERENCE_SAMPLE_RATE).sum(axis=1)


def fit_socialfx_db_scale(safe_means: np.ndarray, socialfx_means: np.ndarray, weights=None) -> float:
    """dB per SocialFX unit that best matches SAFE's level-free mean curves of the shared words.

    ``safe_means`` (W, 121) are mean SAFE curves, ``socialfx_means`` (W, 40) mean SocialFX weight
    vectors of the same W words; the error is the weighted squared dB difference of level-free curves.
    """
    target = remove_level(np.asarray(safe_means, dtype=np.float64))
    w = np.ones(len(target)) if weights is None else np.asarray(weights, dtype=np.float64)

    def error(scale):
        rendered = remove_level(graphic_eq_curves(scale * np.asarray(socialfx_means)))
        return float((w[:, None] * (rendered - target) ** 2).sum())

    return float(minimize_scalar(error, bounds=(0.01, 20.0), method="bounded").x)
