"""FilterBank: the native (C++) SIMD biquad filter bank that applies semeq's EQ to audio.

A bank holds up to ``max_bands`` RBJ bands (``eqdef.BAND_TYPES``: peak, lowshelf, highshelf, lowpass,
highpass) applied in series to every channel. Audio is float32; coefficients and filter state are
float64. Parameter changes ramp smoothly (gain linearly in dB, frequency and Q on a log scale) over
``smoothing_ms``; the output is sample-exact whatever the block size. See docs/dsp.md.
"""
from __future__ import annotations

import numpy as np

from . import _core, validate
from .eqdef import BAND_TYPES

_TYPE_CODES = {name: code for code, name in enumerate(BAND_TYPES)}


def _type_code(kind, index):
    if isinstance(kind, str):
        code = _TYPE_CODES.get(kind.lower())
        if code is not None:
            return code
    elif isinstance(kind, (int, np.integer)) and not isinstance(kind, bool) and 0 <= kind < len(BAND_TYPES):
        return int(kind)
    raise ValueError(f"band {index}: unknown band type {kind!r}; accepted: {', '.join(BAND_TYPES)} "
                     f"(or their codes 0..{len(BAND_TYPES) - 1})")


def _parse_bands(bands) -> list:
    """Bands as ``_set_bands`` takes them, (type code, freq, gain, q), or ValueError naming the band."""
    parsed = []
    for i, band in enumerate(bands):
        try:
            kind, freq, gain_db, q = band
        except (TypeError, ValueError):
            raise ValueError(f"band {i}: expected (type, freq_hz, gain_db, q), got {band!r}") from None
        try:
            parsed.append((_type_code(kind, i), float(freq), float(gain_db), float(q)))
        except (TypeError, ValueError) as err:
            if isinstance(err, ValueError) and str(err).startswith(f"band {i}"):
                raise
            raise ValueError(f"band {i}: freq, gain_db and q must be numbers, got {band!r}") from None
    return parsed


class FilterBank(_core.FilterBank):
    """A bank of up to ``max_bands`` RBJ biquads applied in series to ``channels`` channels.

    >>> fb = FilterBank(sample_rate=48000, channels=2, max_bands=16, smoothing_ms=20.0)
    >>> fb.set_bands([("lowshelf", 120.0, 4.0, 0.707), ("peak", 400.0, -3.0, 1.0)])
    >>> y = fb.process(x)          # x: (channels, samples) -> new float32 array; stateful
    >>> fb.process_inplace(x32)    # float32 C-contiguous (channels, samples), no allocation
    >>> fb.reset()                 # clears the filter state
    >>> fb.response(freqs_hz)      # dB magnitude of the current target bands
    >>> fb.applied_response(freqs_hz)  # dB magnitude of what process() applied last (mid-ramp too)

    Args:
        sample_rate: Hz, 1000..1000000.
        channels: 1..64.
        max_bands: 1..64 slots; ``set_bands`` may use fewer (the rest are off).
        smoothing_ms: ramp time of parameter changes, 0..10000 ms (0: switch at the next control point).

    Input of ``process``: ``(channels, samples)``, or ``(samples,)`` for a 1-channel bank, as float32,
    float64 (converted to float32) or int16 (PCM, scaled by 1/32768). The output is always float32.
    Non-finite input samples are processed as 0, so they never reach the filter state.

    Threads: ``process`` releases the GIL. ``set_bands`` may be called from another thread while
    ``process`` runs (lock-free hand-over). One bank must not be processed by two threads at once
    (a RuntimeError says so); banks are independent of each other.
    """

    def __init__(self, sample_rate: float = 48000, channels: int = 2, max_bands: int = 16,
                 smoothing_ms: float = 20.0):
        super().__init__(validate.number("sample_rate", sample_rate, 1000, 1000000, "Hz"),
                         validate.whole_number("channels", channels, 1, validate.MAX_CHANNELS),
                         validate.whole_number("max_bands", max_bands, 1, 64),
                         validate.number("smoothing_ms", smoothing_ms, 0, 10000, "ms"))

    def set_bands(self, bands):
        """Set the target bands: a sequence of ``(type, freq_hz, gain_db, q)``.

        ``type`` is a name from ``eqdef.BAND_TYPES`` (or its integer code); ``gain_db`` is ignored by
        lowpass/highpass. Accepted: 0 < freq < sample_rate/2, |gain_db| <= 48, 0.025 <= q <= 40, at most
        ``max_bands`` bands. Anything else raises ValueError and changes nothing.

        The first call on a new bank, and the first after ``reset()``, applies at once, and so does every
        call before the first ``process`` after construction or ``reset()`` (the last one wins). Later calls
        ramp over ``smoothing_ms``, starting at the next control point (every ``control_interval`` samples)
        at or after the start of the next ``process`` call. A band that keeps its type ramps its parameters;
        a peak or shelf that appears or disappears ramps its gain from or to 0 dB; a band that changes type,
        and a low-/high-pass that appears or disappears, crossfades its coefficients. A set equal to the
        target in force changes nothing (a ramp toward it goes on), so posting the same bands every block
        costs no ramp.
        """
        if not isinstance(bands, list):
            try:
                bands = list(bands)
            except TypeError:
                raise TypeError(f"bands must be a sequence of (type, freq_hz, gain_db, q), got "
                                f"{type(bands).__name__}") from None
        try:  # the common case, a list of (lower-case name or code, number, number, number), read in C++
            self._set_bands(bands)
        except TypeError:  # anything else: the other accepted forms, or a ValueError naming the band
            self._set_bands(_parse_bands(bands))

    @property
    def bands(self):
        """The current target bands, as ``(type name, freq_hz, gain_db, q)`` tuples."""
        return [(BAND_TYPES[code], freq, gain_db, q) for code, freq, gain_db, q in self._target_bands()]

    def response(self, freqs_hz):
        """dB magnitude response of the current target bands at ``freqs_hz`` (numpy array out).

        Computed by the C++ twin of ``eqdef.biquad_response_db``; frequencies in Hz, any shape.
        """
        freqs = np.asarray(freqs_hz, dtype=np.float64)
        return self._response_db(freqs.ravel()).reshape(freqs.shape)

    def applied_response(self, freqs_hz):
        """dB magnitude response at ``freqs_hz`` of the coefficients ``process`` used last: while a
        change ramps, where the ramp has got to (``response`` gives its target); flat before the first
        ``process``. Safe from any thread while ``process`` runs."""
        freqs = np.asarray(freqs_hz, dtype=np.float64)
        return self._applied_response_db(freqs.ravel()).reshape(freqs.shape)
