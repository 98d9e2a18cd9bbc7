"""The one definition of semeq's EQ: RBJ biquad designs, their magnitude response, and the
13-parameter layout of the 5-band semantic EQ.

Every function here works on numpy arrays *and* on torch tensors (the array namespace is taken from
the inputs), so the runtime (numpy), training (torch, differentiable) and the C++ core
(``cpp/include/semeq/rbj.h``) share one set of formulas; ``tests/test_eqdef_golden.py`` ties the three
together. The runtime never imports torch: the torch path is only taken when a tensor is passed in.

Designs follow R. Bristow-Johnson's "Audio EQ Cookbook". Shelves use the cookbook's Q form; the SAFE
plugin's shelves have slope S = 1, which is Q = 1/sqrt(2) (``SHELF_Q``). Coefficients are normalised
so that a0 = 1 and returned as (b0, b1, b2, a1, a2).

Near Nyquist: the designs are bilinear-transform based, so a band's response is exact at its centre
and at DC, and is compressed ("cramped") toward fs/2: above ~fs/4 a peak narrows and a high shelf's
plateau is only reached at fs/2. Frequencies must lie strictly inside (0, fs/2).
"""
from __future__ import annotations

import math

import numpy as np

SHELF_Q = math.sqrt(0.5)  # 1/sqrt(2), correctly rounded (as the C++ kShelfQ)

#: Filter types the core implements, in the order of their integer codes in C++ (``BandType``).
BAND_TYPES = ("peak", "lowshelf", "highshelf", "lowpass", "highpass")

#: The 13 parameters of the semantic 5-band EQ, in the SAFE plugin's column order:
#: (name, unit, low, high). Shelves have fixed Q = SHELF_Q; peaking bands are ordered by frequency.
PARAM_LAYOUT = (
    ("lowshelf_gain", "dB", -12.0, 12.0),
    ("lowshelf_freq", "Hz", 22.0, 1000.0),
    ("peak1_gain", "dB", -12.0, 12.0),
    ("peak1_freq", "Hz", 82.0, 3900.0),
    ("peak1_q", "", 0.1, 10.0),
    ("peak2_gain", "dB", -12.0, 12.0),
    ("peak2_freq", "Hz", 180.0, 4700.0),
    ("peak2_q", "", 0.1, 10.0),
    ("peak3_gain", "dB", -12.0, 12.0),
    ("peak3_freq", "Hz", 220.0, 10000.0),
    ("peak3_q", "", 0.1, 10.0),
    ("highshelf_gain", "dB", -12.0, 12.0),
    ("highshelf_freq", "Hz", 580.0, 20000.0),
)
PARAM_NAMES = tuple(p[0] for p in PARAM_LAYOUT)
#: Columns of PARAM_LAYOUT that hold a band's frequency.
FREQ_PARAMS = tuple(i for i, p in enumerate(PARAM_LAYOUT) if p[1] == "Hz")
PARAM_LOW = np.array([p[2] for p in PARAM_LAYOUT])
PARAM_HIGH = np.array([p[3] for p in PARAM_LAYOUT])
N_PARAMS = len(PARAM_LAYOUT)

#: Sample rate at which the semantic space's curves are defined (the SAFE plugin ran at 44.1/48 kHz).
REFERENCE_SAMPLE_RATE = 48000.0
#: Highest band frequency, as a fraction of the sample rate, that the runtime realises. The semantic
#: EQ's frequencies reach 20 kHz; at low sample rates they are clamped below Nyquist (a band above
#: fs/2 could not be realised; its audible effect would lie above Nyquist anyway).
MAX_FREQ_FRACTION = 0.45
#: The response grid of the semantic space: log-spaced, 20 Hz to 20 kHz, 1/12 octave apart (121 points).
N_GRID = 121
FREQ_GRID = np.geomspace(20.0, 20000.0, N_GRID)


def _namespace(*arrays):
    """numpy, or torch if any input is a torch tensor (torch is imported only then)."""
    for a in arrays:
        if type(a).__module__.split(".")[0] == "torch":
            import torch

            return torch
    return np


def _asarray(xp, a, like=None):
    if xp is np:
        return np.asarray(a, dtype=np.float64)
    if isinstance(a, xp.Tensor):
        return a
    dtype = like.dtype if like is not None else xp.float64
    device = like.device if like is not None else None
    return xp.as_tensor(a, dtype=dtype, device=device)


def rbj_coefficients(kind, freq, gain_db, q, sample_rate):
    """RBJ biquad coefficients (b0, b1, b2, a1, a2), normalised to a0 = 1.

    ``kind`` is one of BAND_TYPES; ``freq``, ``gain_db``, ``q`` may be scalars or arrays (numpy or
    torch) that broadcast together; ``gain_db`` is ignored for lowpass/highpass.
    """
    xp = _namespace(freq, gain_db, q, sample_rate)
    like = next((a for a in (freq, gain_db, q) if xp is not np and isinstance(a, xp.Tensor)), None)
    freq, gain_db, q = (_asarray(xp, a, like) for a in (freq, gain_db, q))
    w0 = 2.0 * math.pi * freq / sample_rate
    cos_w0, sin_w0 = xp.cos(w0), xp.sin(w0)
    alpha = sin_w0 / (2.0 * q)
    big_a = 10.0 ** (gain_db / 40.0)
    if kind == "peak":
        b = (1.0 + alpha * big_a, -2.0 * cos_w0, 1.0 - alpha * big_a)
        a = (1.0 + alpha / big_a, -2.0 * cos_w0, 1.0 - alpha / big_a)
    elif kind in ("lowshelf", "highshelf"):
        sign = 1.0 if kind == "lowshelf" else -1.0
        two_sqrt_a_alpha = 2.0 * xp.sqrt(big_a) * alpha
        ap1, am1 = big_a + 1.0, big_a - 1.0
        b = (
            big_a * (ap1 - sign * am1 * cos_w0 + two_sqrt_a_alpha),
            sign * 2.0 * big_a * (am1 - sign * ap1 * cos_w0),
            big_a * (ap1 - sign * am1 * cos_w0 - two_sqrt_a_alpha),
        )
        a = (
            ap1 + sign * am1 * cos_w0 + two_sqrt_a_alpha,
            -sign * 2.0 * (am1 + sign * ap1 * cos_w0),
            ap1 + sign * am1 * cos_w0 - two_sqrt_a_alpha,
        )
    elif kind in ("lowpass", "highpass"):
        sign = 1.0 if kind == "lowpass" else -1.0
        edge = (1.0 - sign * cos_w0) / 2.0
        b = (edge, sign * 2.0 * edge, edge)
        a = (1.0 + alpha, -2.0 * cos_w0, 1.0 - alpha)
    else:
        raise ValueError(f"unknown band type {kind!r}; accepted: {', '.join(BAND_TYPES)}")
    a0 = a[0]
    return (b[0] / a0, b[1] / a0, b[2] / a0, a[1] / a0, a[2] / a0)


def biquad_response_db(coefficients, freqs, sample_rate):
    """Magnitude response in dB of one biquad (b0, b1, b2, a1, a2) at ``freqs``.

    Uses the cookbook's phi = sin^2(w/2) form, which keeps its precision near DC (float32 included).
    Coefficient arrays broadcast against ``freqs``: give them a trailing axis for a batch.
    """
    b0, b1, b2, a1, a2 = coefficients
    xp = _namespace(b0, b1, b2, a1, a2, freqs)
    freqs = _asarray(xp, freqs, b0 if xp is not np else None)
    phi = xp.sin(math.pi * freqs / sample_rate) ** 2

    def power(c0, c1, c2):
        return (c0 + c1 + c2) ** 2 - 4.0 * (c0 * c1 + 4.0 * c0 * c2 + c1 * c2) * phi + 16.0 * c0 * c2 * phi**2

    tiny = 1e-30
    num = power(b0, b1, b2)
    den = power(1.0, a1, a2)
    return 10.0 * (xp.log10(xp.clamp(num, min=tiny) if xp is not np else np.maximum(num, tiny))
                   - xp.log10(xp.clamp(den, min=tiny) if xp is not np else np.maximum(den, tiny)))


def bands_response_db(bands, freqs, sample_rate):
    """Summed dB response of a list of (kind, freq, gain_db, q) bands at ``freqs`` (numpy)."""
    freqs = np.asarray(freqs, dtype=np.float64)
    total = np.zeros_like(freqs)
    for kind, freq, gain_db, q in bands:
        total = total + biquad_response_db(rbj_coefficients(kind, freq, gain_db, q, sample_rate), freqs, sample_rate)
    return total


def params_to_bands(params):
    """One 13-parameter setting (sequence of 13 numbers) → five (kind, freq, gain_db, q) bands."""
    p = [float(v) for v in params]
    if len(p) != N_PARAMS:
        raise ValueError(f"expected {N_PARAMS} EQ parameters {PARAM_NAMES}, got {len(p)}")
    return [
        ("lowshelf", p[1], p[0], SHELF_Q),
        ("peak", p[3], p[2], p[4]),
        ("peak", p[6], p[5], p[7]),
        ("peak", p[9], p[8], p[10]),
        ("highshelf", p[12], p[11], SHELF_Q),
    ]


def clamp_frequencies(params, sample_rate) -> np.ndarray:
    """13-parameter settings (..., 13) with every band frequency clamped to MAX_FREQ_FRACTION ×
    ``sample_rate``: the settings as they are realised at that rate (numpy)."""
    params = np.array(params, dtype=np.float64)
    columns = list(FREQ_PARAMS)
    params[..., columns] = np.minimum(params[..., columns], MAX_FREQ_FRACTION * float(sample_rate))
    return params


def params_response_db(params, freqs=FREQ_GRID, sample_rate=REFERENCE_SAMPLE_RATE):
    """dB response of 13-parameter settings, shape (..., 13) → (..., len(freqs)); numpy or torch.

    Differentiable when given torch tensors (the training loss lives here).
    """
    xp = _namespace(params)
    params = _asarray(xp, params)
    freqs = _asarray(xp, freqs, params if xp is not np else None)
    p = params[..., None]  # trailing axis broadcasts against freqs

    def band(kind, gain_i, freq_i, q):
        coefs = rbj_coefficients(kind, p[..., freq_i, :], p[..., gain_i, :], q, sample_rate)
        return biquad_response_db(coefs, freqs, sample_rate)

    shelf_q = SHELF_Q if xp is np else xp.full_like(p[..., 0, :], SHELF_Q)
    return (
        band("lowshelf", 0, 1, shelf_q)
        + band("peak", 2, 3, p[..., 4, :])
        + band("peak", 5, 6, p[..., 7, :])
        + band("peak", 8, 9, p[..., 10, :])
        + band("highshelf", 11, 12, shelf_q)
    )
