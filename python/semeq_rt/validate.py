"""What users hand the runtime, checked one way with one wording for every entry point (Processor,
analyze, FilterBank): whole numbers, numbers in a range, sample rates and audio blocks. numpy's scalar
types count as numbers; bool does not."""
from __future__ import annotations

import math
import numbers

import numpy as np

from . import _core

#: The sample rates the semantic EQ and its analysis accept (the filter bank alone takes more): the engine's.
SAMPLE_RATE_RANGE = tuple(int(v) for v in _core.OPTION_RANGES["sample_rate"][:2])
#: The most channels a block may have (the filter bank's limit).
MAX_CHANNELS = 64
#: Sample types accepted for audio: float32, float64 (converted to float32), int16 (PCM, scaled by 1/32768).
AUDIO_DTYPES = ("float32", "float64", "int16")


def whole_number(name, value, low, high) -> int:
    """``value`` as an int in [low, high], or ValueError saying what is accepted."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number in [{low}, {high}], got {value!r}")
    return int(value)


def number(name, value, low, high, unit="", low_open=False) -> float:
    """``value`` as a finite float in [low, high] (``low_open``: (low, high]), or ValueError saying what is
    accepted."""
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(value) \
        and (value > low if low_open else value >= low) and value <= high
    if not ok:
        span = f"{'(' if low_open else '['}{low:g}, {high:g}]{' ' + unit if unit else ''}"
        raise ValueError(f"{name} must be a number in {span}, got {value!r}")
    return float(value)


def sample_rate(value, low=SAMPLE_RATE_RANGE[0], high=SAMPLE_RATE_RANGE[1]) -> float:
    return number("sample_rate", value, low, high, "Hz")


def audio_block(x, channels=None, owner="audio", copy=True):
    """``x`` as float32 (channels, samples) (a new array unless ``copy`` is false and ``x`` already is
    one) and whether ``x`` was 1-D. ``channels``: the count the caller was made for (a 1-D block is then
    accepted only for 1 channel), or None to take any count (a 1-D block is one channel). ``owner``
    names the caller in the errors ("Processor")."""
    a = np.asarray(x)
    if a.dtype == np.float32 or a.dtype == np.float64:
        y = np.array(a, dtype=np.float32, order="C", copy=True if copy else None)
    elif a.dtype == np.int16:
        y = a.astype(np.float32) * np.float32(1.0 / 32768.0)
    else:
        raise ValueError(f"audio must be {', '.join(AUDIO_DTYPES[:-1])} or {AUDIO_DTYPES[-1]}, got {a.dtype}")
    one_dimensional = y.ndim == 1
    if one_dimensional:
        if channels not in (None, 1):
            raise ValueError(f"1-D audio given to a {channels}-channel {owner}; pass ({channels}, samples)")
        return y[None, :], True
    if y.ndim != 2:
        raise ValueError(f"audio must be (channels, samples), got shape {a.shape}")
    if channels is None:
        if y.shape[0] > MAX_CHANNELS:
            raise ValueError(f"audio of shape {a.shape} has more than {MAX_CHANNELS} channels: it looks like "
                             f"(samples, channels); pass (channels, samples), e.g. audio.T")
    elif y.shape[0] != channels:
        hint = " (that looks like (samples, channels): pass x.T)" if y.shape[1] == channels else ""
        raise ValueError(f"{owner} was created for {channels} channel(s); got a block of shape {a.shape}{hint}. "
                         f"Create a new one for another channel count")
    return y, False
