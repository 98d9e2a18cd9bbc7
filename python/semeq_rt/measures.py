"""Plain measurements of audio that say whether an EQ did what it should and how far it went: spectral
centroid, the energy ratio of lows to highs, the tonal tilt, integrated loudness (ITU-R BS.1770) and
``eq_change`` (loudness, peak and 1/3-octave band changes from input to output). Used by ``semeq
process`` and ``semeq demo``, the tests and bench/.

Each takes (channels, samples) or (samples,) float audio; channels are summed in power.
"""
from __future__ import annotations

import numpy as np

from . import eqdef, ltas

#: Nominal 1/3-octave band centres from 50 Hz to 16 kHz (base-2, 1 kHz reference).
THIRD_OCTAVE_CENTRES = 1000.0 * 2.0 ** (np.arange(-13, 13) / 3.0)
_N_FFT = 8192
#: ITU-R BS.1770 K-weighting as two RBJ designs that hold at any sample rate: the pre-filter's high
#: shelf and the RLB high-pass (pyloudnorm's choice; at 48 kHz within 0.05 dB of the standard's
#: published coefficients from 10 Hz to 23 kHz: tests/test_measures.py).
K_WEIGHTING_BANDS = (("highshelf", 1500.0, 4.0, eqdef.SHELF_Q), ("highpass", 38.0, 0.0, 0.5))
#: BS.1770 gating: 400 ms blocks every 100 ms, absolute gate −70 LKFS, relative gate −10 LU.
_SEGMENT_SECONDS = 0.1
_SEGMENTS_PER_BLOCK = 4
_ABSOLUTE_GATE_LKFS = -70.0
_RELATIVE_GATE_LU = -10.0


def k_weighting_db(freqs_hz, sample_rate=48000.0) -> np.ndarray:
    """The K-weighting's magnitude in dB at ``freqs_hz`` (below sample_rate / 2)."""
    return eqdef.bands_response_db(K_WEIGHTING_BANDS, freqs_hz, sample_rate)


def power_spectrum(audio, sample_rate, n_fft=_N_FFT):
    """(freqs_hz, mean periodogram per FFT bin, channels summed): ltas.power_spectrum per channel."""
    channels = np.atleast_2d(np.asarray(audio, dtype=np.float64))
    power = sum(ltas.power_spectrum(channel, n_fft) for channel in channels)
    return np.fft.rfftfreq(n_fft, 1.0 / sample_rate), power


def spectral_centroid(audio, sample_rate) -> float:
    """Power-weighted mean frequency in Hz."""
    freqs, power = power_spectrum(audio, sample_rate)
    return float(np.sum(freqs * power) / max(np.sum(power), 1e-300))


def low_high_ratio_db(audio, sample_rate, low_hz=250.0, high_hz=4000.0) -> float:
    """Energy below ``low_hz`` over energy above ``high_hz``, in dB (higher = darker)."""
    freqs, power = power_spectrum(audio, sample_rate)
    low = np.sum(power[(freqs > 0) & (freqs < low_hz)])
    high = np.sum(power[freqs > high_hz])
    return float(10.0 * np.log10(max(low, 1e-300) / max(high, 1e-300)))


def third_octave_levels_db(audio, sample_rate):
    """(centres_hz, level dB) of the 1/3-octave bands 50 Hz–16 kHz that lie below Nyquist."""
    freqs, power = power_spectrum(audio, sample_rate)
    centres = THIRD_OCTAVE_CENTRES[THIRD_OCTAVE_CENTRES * 2 ** (1 / 6) < sample_rate / 2]
    edge = 2.0 ** (1.0 / 6.0)
    levels = np.array([np.sum(power[(freqs >= c / edge) & (freqs < c * edge)]) for c in centres])
    return centres, 10.0 * np.log10(np.maximum(levels, 1e-30))


def tonal_tilt(audio, sample_rate) -> float:
    """Slope in dB/octave of a line fitted to the 1/3-octave levels, 50 Hz–16 kHz (pink noise ≈ 0,
    typical music negative)."""
    centres, levels = third_octave_levels_db(audio, sample_rate)
    return float(np.polyfit(np.log2(centres), levels, 1)[0])


class LoudnessMeter:
    """Integrated loudness (ITU-R BS.1770-4, LKFS/LUFS) of a stream: ``push`` blocks of (channels,
    samples) audio, then ``integrated()``. K-weighting runs in the native filter bank (the standard's
    two biquads, designed for the stream's rate); each 100 ms segment's mean square is kept, and the
    gated 400 ms blocks (75 % overlap) are formed from them at the end. All channels weigh 1 (the
    standard's weights for left, right and centre)."""

    def __init__(self, sample_rate, channels):
        from .filterbank import FilterBank

        self.sample_rate, self.channels = float(sample_rate), int(channels)
        self._filter = FilterBank(self.sample_rate, self.channels, max_bands=2, smoothing_ms=0.0)
        self._filter.set_bands(list(K_WEIGHTING_BANDS))
        self._segment = max(1, int(round(_SEGMENT_SECONDS * self.sample_rate)))
        self._partial, self._filled = 0.0, 0  # the segment in progress: sum of squares, samples
        self._segments = []  # mean square (channels summed) of each whole segment

    def push(self, audio):
        """Add the next block of the stream; returns self."""
        weighted = self._filter.process(np.ascontiguousarray(np.atleast_2d(audio), dtype=np.float32))
        np.square(weighted, out=weighted)
        squares = weighted[0] if len(weighted) == 1 else weighted.sum(axis=0)
        # the segment in progress, then the whole segments at once, then the start of the next
        take = min(self._segment - self._filled, len(squares))
        self._partial += float(squares[:take].sum(dtype=np.float64))
        self._filled += take
        if self._filled < self._segment:
            return self
        self._segments.append(self._partial / self._segment)
        whole = (len(squares) - take) // self._segment
        rest = squares[take:]
        sums = rest[: whole * self._segment].reshape(whole, self._segment).sum(axis=1, dtype=np.float64)
        self._segments.extend(sums / self._segment)
        tail = rest[whole * self._segment:]
        self._partial, self._filled = float(tail.sum(dtype=np.float64)), len(tail)
        return self

    def integrated(self) -> float:
        """Gated integrated loudness in LUFS; −inf for silence or less than 400 ms of audio."""
        segments = np.asarray(self._segments)
        if len(segments) < _SEGMENTS_PER_BLOCK:
            return float("-inf")
        blocks = np.convolve(segments, np.ones(_SEGMENTS_PER_BLOCK) / _SEGMENTS_PER_BLOCK, mode="valid")
        with np.errstate(divide="ignore"):
            levels = -0.691 + 10.0 * np.log10(blocks)
        gated = blocks[levels > _ABSOLUTE_GATE_LKFS]
        if len(gated) == 0:
            return float("-inf")
        relative_gate = -0.691 + 10.0 * np.log10(gated.mean()) + _RELATIVE_GATE_LU
        gated = blocks[(levels > _ABSOLUTE_GATE_LKFS) & (levels > relative_gate)]
        return float(-0.691 + 10.0 * np.log10(gated.mean()))


def integrated_loudness(audio, sample_rate) -> float:
    """Integrated loudness (BS.1770-4) in LUFS of (channels, samples) or (samples,) audio."""
    audio = np.atleast_2d(np.asarray(audio, dtype=np.float32))
    return LoudnessMeter(sample_rate, audio.shape[0]).push(audio).integrated()


#: A 1/3-octave band "holds no content" when its level is this far or more below the loudest band's.
EMPTY_BAND_DB = 60.0


def eq_change(before, after, sample_rate) -> dict:
    """How far processing went from ``before`` to ``after`` (same shape, same rate):

    - ``loudness_change_lu``: integrated loudness (BS.1770) after minus before;
    - ``peak_rise_db``: sample peak after over before, in dB;
    - ``band_change_db``: per 1/3-octave band (50 Hz–16 kHz, centres below the EQ's top frequency,
      0.45 × sample rate) the level change minus the loudness change (what the EQ did, apart from the
      overall level), with ``band_centres_hz``;
    - ``largest_boost_db`` / ``largest_cut_db``: the largest and smallest of those;
    - ``empty_bands_hz`` and ``largest_empty_boost_db``: the bands of ``before`` at least
      EMPTY_BAND_DB below its loudest band, and the largest change there (−inf when there are none).
    """
    centres, level_in = third_octave_levels_db(before, sample_rate)
    _, level_out = third_octave_levels_db(after, sample_rate)
    keep = centres < eqdef.MAX_FREQ_FRACTION * sample_rate
    centres, level_in, level_out = centres[keep], level_in[keep], level_out[keep]
    loudness_change = integrated_loudness(after, sample_rate) - integrated_loudness(before, sample_rate)
    change = level_out - level_in - loudness_change
    empty = level_in <= level_in.max() - EMPTY_BAND_DB
    peak_in, peak_out = float(np.max(np.abs(before))), float(np.max(np.abs(after)))
    return {
        "loudness_change_lu": float(loudness_change),
        "peak_rise_db": float(20.0 * np.log10(max(peak_out, 1e-30) / max(peak_in, 1e-30))),
        "band_centres_hz": centres,
        "band_change_db": change,
        "largest_boost_db": float(change.max()),
        "largest_cut_db": float(change.min()),
        "empty_bands_hz": centres[empty],
        "largest_empty_boost_db": float(change[empty].max()) if empty.any() else float("-inf"),
    }
