"""Test signals for the Processor, analyze and CLI tests: real audio made here (no data download)."""
import numpy as np

from semeq_rt import FilterBank, eqdef
from semeq_rt.semantics import get_bundle, realisable_bands


def reference_noise(seconds, sample_rate=48000, channels=2, seed=0):
    """Gaussian noise whose long-term spectrum is the shipped bundle's neutral reference: a track that
    sits exactly at "flat" tonal balance. float32 (channels, samples), peak about 0.5."""
    n = int(seconds * sample_rate)
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal((channels, n)), axis=-1)
    freqs = np.fft.rfftfreq(n, 1.0 / sample_rate)
    reference = np.asarray(get_bundle().neutral_reference["curve_db"])
    level_db = np.interp(np.log(np.maximum(freqs, 1.0)), np.log(eqdef.FREQ_GRID), reference)
    audio = np.fft.irfft(spectrum * 10.0 ** (level_db / 20.0), n, axis=-1)
    return (0.5 * audio / np.max(np.abs(audio))).astype(np.float32)


def term_bands(term, sample_rate=48000, gain_scale=1.0):
    """The five bands of a term's centroid EQ (what static mode applies at intensity 1)."""
    bundle = get_bundle()
    params, _ = bundle.decode(bundle.terms[term].centroid)
    return realisable_bands(params, sample_rate, gain_scale)


def apply_bands(audio, bands, sample_rate=48000):
    """``audio`` through a fresh filter bank holding ``bands``."""
    fb = FilterBank(sample_rate, audio.shape[0])
    fb.set_bands(bands)
    return fb.process(np.ascontiguousarray(audio, dtype=np.float32))


def stream(processor, audio, block):
    """Process ``audio`` block by block and join the output."""
    return np.concatenate([processor.process(audio[..., i:i + block]) for i in range(0, audio.shape[-1], block)],
                          axis=-1)


def without_level(curve_db, freqs):
    """A dB curve with its mean over 50 Hz–16 kHz removed (level carries no meaning in the space)."""
    band = (freqs >= 50.0) & (freqs <= 16000.0)
    return curve_db - curve_db[band].mean()


def rms(values) -> float:
    return float(np.sqrt(np.mean(np.square(values))))
