"""Plain spectral measurements of audio that say whether an EQ did what it should: spectral centroid,
the energy ratio of lows to highs, and the tonal tilt. Used by ``semeq demo``, the tests and bench/.

Each takes (channels, samples) or (samples,) float audio; channels are summed in power.
"""
from __future__ import annotations

import numpy as np

from . import eqdef, ltas

#: Nominal 1/3-octave band centres from 50 Hz to 16 kHz (base-2, 1 kHz reference).
THIRD_OCTAVE_CENTRES = 1000.0 * 2.0 ** (np.arange(-13, 13) / 3.0)
_N_FFT = 8192
#: ITU-R BS.1770 K-weighting at 48 kHz (pre-filter shelf, then the RLB high-pass), (b0, b1, b2, a1, a2).
K_WEIGHTING_48K = (
    (1.53512485958697, -2.69169618940638, 1.19839281085285, -1.69065929318241, 0.73248077421585),
    (1.0, -2.0, 1.0, -1.99004745483398, 0.99007225036621),
)


def k_weighting_db(freqs_hz) -> np.ndarray:
    """The K-weighting's magnitude in dB at ``freqs_hz`` (below 24 kHz)."""
    return sum(eqdef.biquad_response_db(c, freqs_hz, 48000.0) for c in K_WEIGHTING_48K)


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


def k_weighted_level_db(audio, sample_rate) -> float:
    """Mean K-weighted power in dB (BS.1770's weighting, without gating): a loudness measure."""
    freqs, power = power_spectrum(audio, sample_rate)
    inside = (freqs > 0) & (freqs < min(sample_rate, 48000.0) / 2)
    weighted = power[inside] * 10.0 ** (k_weighting_db(freqs[inside]) / 10.0)
    return float(10.0 * np.log10(max(np.sum(weighted), 1e-300)))
