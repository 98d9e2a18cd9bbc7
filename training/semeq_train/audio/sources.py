"""Source signals for the audio encoder's training data, generated on the fly at 48 kHz: pink noise,
coloured noise, synthetic tones/chords and percussion with random spectral envelopes, and windows of
real recordings (music tracks, sequences of drum hits) from the training split of the packages.

Every generator returns float64 arrays (n, length) scaled to unit RMS; gains and EQs are applied by
``semeq_train.audio.data``.
"""
from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from semeq_rt import ltas

from .. import music

RATE = ltas.SAMPLE_RATE


def _unit_rms(x: np.ndarray) -> np.ndarray:
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + 1e-30)


def _bin_freqs(length: int) -> np.ndarray:
    return np.fft.rfftfreq(length, 1.0 / RATE)


def random_envelope_db(freqs: np.ndarray, n: int, rng: np.random.Generator, max_bumps: int = 4) -> np.ndarray:
    """(n, len(freqs)) smooth random spectral envelopes: 0–max_bumps Gaussian bumps in log frequency
    (centre 30 Hz–18 kHz, width 0.3–2 octaves, ±12 dB)."""
    log_f = np.log2(np.maximum(freqs, 10.0))
    env = np.zeros((n, len(freqs)))
    for i, count in enumerate(rng.integers(0, max_bumps + 1, n)):
        for centre, width, gain in zip(rng.uniform(np.log2(30), np.log2(18000), count),
                                       rng.uniform(0.3, 2.0, count), rng.uniform(-12, 12, count)):
            env[i] += gain * np.exp(-0.5 * ((log_f - centre) / width) ** 2)
    return env


def _shaped_noise(gain_db: np.ndarray, rng: np.random.Generator, length: int) -> np.ndarray:
    """Gaussian noise whose power density follows ``gain_db`` (n, bins); DC removed."""
    n = gain_db.shape[0]
    spectrum = (rng.standard_normal((n, gain_db.shape[1])) + 1j * rng.standard_normal((n, gain_db.shape[1])))
    spectrum *= 10.0 ** (gain_db / 20.0)
    spectrum[:, 0] = 0.0
    return _unit_rms(np.fft.irfft(spectrum, n=length))


def tilt_db(freqs: np.ndarray, db_per_octave) -> np.ndarray:
    """dB of a power density with the given slope(s) (n, 1) relative to 1 kHz (below 10 Hz: held)."""
    return np.asarray(db_per_octave) * np.log2(np.maximum(freqs, 10.0) / 1000.0)


def pink_noise(n: int, length: int, rng: np.random.Generator) -> np.ndarray:
    """Pink noise: power density ∝ 1/f (−3.01 dB/octave), exactly, by shaping white noise's spectrum."""
    freqs = _bin_freqs(length)
    return _shaped_noise(np.broadcast_to(-10.0 * np.log10(np.maximum(freqs, 1e-9)), (n, len(freqs))), rng, length)


def coloured_noise(n: int, length: int, rng: np.random.Generator) -> np.ndarray:
    """Noise with a random tilt (−9 to +3 dB/octave: darker than brown to brighter than white) and a
    random smooth envelope."""
    freqs = _bin_freqs(length)
    gain = tilt_db(freqs, rng.uniform(-9.0, 3.0, (n, 1))) + random_envelope_db(freqs, n, rng)
    return _shaped_noise(gain, rng, length)


def _note_envelopes(n: int, length: int, rng: np.random.Generator, rate_range, decay_range) -> np.ndarray:
    """(n, length) sums of exponentially decaying onsets at random times (one-pole filtered impulses)."""
    out = np.empty((n, length))
    for i in range(n):
        impulses = np.zeros(length)
        count = max(1, rng.poisson(rng.uniform(*rate_range) * length / RATE))
        impulses[rng.integers(0, length, count)] = rng.uniform(0.3, 1.0, count)
        pole = np.exp(-1.0 / (rng.uniform(*decay_range) * RATE))
        out[i] = lfilter([1.0], [1.0, -pole], impulses)
    return out


def tones(n: int, length: int, rng: np.random.Generator) -> np.ndarray:
    """Chords of 1–6 harmonic notes (f0 30 Hz–2 kHz) whose partials follow a random tilt and envelope,
    played as repeated decaying notes or sustained."""
    freqs = _bin_freqs(length)
    spectrum = np.zeros((n, len(freqs)), dtype=complex)
    tilt = rng.uniform(-12.0, 0.0, (n, 1))
    env = random_envelope_db(freqs, n, rng) + tilt_db(freqs, tilt)
    for i in range(n):
        for f0 in np.exp(rng.uniform(np.log(30.0), np.log(2000.0), rng.integers(1, 7))):
            partials = f0 * np.arange(1, int(20000.0 / f0) + 1)
            bins = np.rint(partials / freqs[1]).astype(int)
            amp = 10.0 ** (env[i, bins] / 20.0) * np.exp(2j * np.pi * rng.random(len(bins)))
            np.add.at(spectrum[i], bins, amp)
    steady = np.fft.irfft(spectrum, n=length)
    sustained = rng.random((n, 1)) < 0.3
    articulation = np.where(sustained, 1.0, _note_envelopes(n, length, rng, (1.0, 8.0), (0.1, 1.5)))
    return _unit_rms(steady * articulation)


def percussion(n: int, length: int, rng: np.random.Generator) -> np.ndarray:
    """Hits of coloured noise (random tilt and envelope, decays 10–300 ms), half of the clips with
    pitch-dropping sine kicks."""
    noise = coloured_noise(n, length, rng) * _note_envelopes(n, length, rng, (1.0, 10.0), (0.01, 0.3))
    t = np.arange(length) / RATE
    kicks = np.zeros((n, length))
    for i in np.flatnonzero(rng.random(n) < 0.5):
        period = rng.uniform(0.25, 1.0)
        local = t % period
        f_start, f_end, drop = rng.uniform(80, 200), rng.uniform(35, 70), rng.uniform(0.02, 0.08)
        phase = 2 * np.pi * (f_end * local + (f_start - f_end) * drop * (1 - np.exp(-local / drop)))
        kicks[i] = np.sin(phase) * np.exp(-local / rng.uniform(0.1, 0.4))
    return _unit_rms(noise + rng.uniform(0.0, 3.0, (n, 1)) * _unit_rms(kicks + 1e-12 * noise))


class MusicWindows:
    """Random windows of whole tracks (decoded once, cached as .npy); near-silent windows are redrawn."""

    def __init__(self, tracks, cache_dir=None):
        self.tracks = list(tracks)
        self.audio = [np.asarray(music.load_mid(t, RATE, cache_dir)) for t in self.tracks]
        self.rms = [float(np.sqrt(np.mean(a.astype(np.float64) ** 2))) for a in self.audio]

    def __call__(self, n: int, length: int, rng: np.random.Generator) -> np.ndarray:
        out = np.empty((n, length))
        for i in range(n):
            for _ in range(20):  # quiet intros and fade-outs: take another window
                k = rng.integers(len(self.audio))
                audio = self.audio[k]
                start = rng.integers(0, max(1, len(audio) - length))
                window = np.asarray(audio[start : start + length], dtype=np.float64)
                if np.sqrt(np.mean(window**2)) > 0.1 * self.rms[k]:
                    break
            out[i] = np.pad(window, (0, length - len(window)))
        return _unit_rms(out)


class DrumSequences:
    """Windows of 3–16 single hits of one drum kit at random times and levels (−20 to 0 dB)."""

    def __init__(self, tracks, cache_dir=None):
        self.kits = {}
        for t in tracks:
            self.kits.setdefault(t.group, []).append(np.asarray(music.load_mid(t, RATE, cache_dir), dtype=np.float64))
        self.kit_names = sorted(self.kits)

    def __call__(self, n: int, length: int, rng: np.random.Generator) -> np.ndarray:
        out = np.zeros((n, length))
        for i in range(n):
            hits = self.kits[self.kit_names[rng.integers(len(self.kit_names))]]
            for _ in range(rng.integers(3, 17)):
                hit = hits[rng.integers(len(hits))]
                start = rng.integers(0, length)
                end = min(length, start + len(hit))
                out[i, start:end] += 10.0 ** (rng.uniform(-20, 0) / 20.0) * hit[: end - start]
        return _unit_rms(out)
