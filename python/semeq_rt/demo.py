"""``semeq demo``: a short piece of music made from scratch (chords, bass, drums), processed "warm" and
"bright", with measurements that show the difference, so a new user sees semeq work in one command."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import measures
from .fileio import check_output_path, process_file, read_audio, write_audio

DEMO_SAMPLE_RATE = 48000
DEMO_SECONDS = 8.0
DEMO_TERMS = ("warm", "bright")


def _tone(freq, seconds, sample_rate, n_harmonics, rng):
    """A harmonic tone with 1/k partials (a soft sawtooth), random partial phases."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    out = np.zeros_like(t)
    for k in range(1, n_harmonics + 1):
        if k * freq < sample_rate / 2:
            out += np.sin(2 * np.pi * k * freq * t + rng.uniform(0, 2 * np.pi)) / k
    return out


def demo_signal(sample_rate=DEMO_SAMPLE_RATE, seconds=DEMO_SECONDS, seed=0) -> np.ndarray:
    """Stereo (2, samples) float32: a I–vi–IV–V chord loop with bass, kick, snare and hi-hat at 120 bpm,
    mixed near the neutral reference's balance (neither dark nor bright), so that both "warm" and
    "bright" have something audible to do."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    left, right = np.zeros(n), np.zeros(n)
    chords = ((261.63, 329.63, 392.00), (220.00, 261.63, 329.63), (174.61, 220.00, 261.63), (196.00, 246.94, 293.66))
    bar = 2.0  # seconds per chord
    for i in range(int(np.ceil(seconds / bar))):
        start = int(i * bar * sample_rate)
        length = min(int(bar * sample_rate), n - start)
        attack, decay = 0.02 * sample_rate, 1.5 * sample_rate
        envelope = np.minimum(1.0, np.arange(length) / attack) * np.exp(-np.arange(length) / decay)
        chord = chords[i % len(chords)]
        for j, f in enumerate(chord):
            tone = 0.12 * envelope * _tone(f, length / sample_rate, sample_rate, 24, rng)[:length]
            pan = 0.3 + 0.2 * j
            left[start:start + length] += (1 - pan) * tone
            right[start:start + length] += pan * tone
        bass = 0.1 * envelope * _tone(chord[0] / 2, length / sample_rate, sample_rate, 8, rng)[:length]
        left[start:start + length] += bass
        right[start:start + length] += bass
    beat = int(0.5 * sample_rate)
    for b, start in enumerate(range(0, n, beat)):
        length = min(int(0.4 * sample_rate), n - start)
        t = np.arange(length) / sample_rate
        if b % 2 == 0:  # kick: a falling sine
            hit = 0.15 * np.sin(2 * np.pi * (50 * t + 60 * (1 - np.exp(-t / 0.03)) * 0.03)) * np.exp(-t / 0.12)
        else:  # snare: noise and a tone
            hit = (0.05 * rng.standard_normal(length) + 0.3 * np.sin(2 * np.pi * 190 * t)) * np.exp(-t / 0.08)
        left[start:start + length] += hit
        right[start:start + length] += hit
    for start in range(0, n, beat // 2):  # hi-hat: short noise burst
        length = min(int(0.05 * sample_rate), n - start)
        hat = 0.1 * rng.standard_normal(length) * np.exp(-np.arange(length) / (0.01 * sample_rate))
        left[start:start + length] += hat
        right[start:start + length] += hat
    audio = np.stack([left, right])
    return (0.5 * audio / np.max(np.abs(audio))).astype(np.float32)


def run_demo(out_dir="semeq-demo", overwrite=False, progress=print) -> list:
    """Write the demo input and its "warm" and "bright" versions into ``out_dir`` and print how they
    measure. Returns rows of (file, centroid Hz, low/high dB, tilt dB/octave)."""
    out_dir = Path(out_dir)
    paths = {"input": out_dir / "input.wav", **{t: out_dir / f"{t}.wav" for t in DEMO_TERMS}}
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in paths.values():  # refuse before writing anything
        check_output_path(path, overwrite)
    write_audio(paths["input"], demo_signal(), DEMO_SAMPLE_RATE, subtype="FLOAT", overwrite=overwrite)
    for term in DEMO_TERMS:
        progress(f"processing {paths['input']} → {paths[term]} (\"{term}\", adaptive, intensity 1)")
        process_file(paths["input"], paths[term], term=term, intensity=1.0, overwrite=overwrite)
    rows = []
    progress(f"\n{'file':<28} {'centroid':>9} {'low/high':>9} {'tilt':>10}")
    for path in paths.values():
        audio, rate = read_audio(path)
        row = (str(path), measures.spectral_centroid(audio, rate), measures.low_high_ratio_db(audio, rate),
               measures.tonal_tilt(audio, rate))
        rows.append(row)
        progress(f"{row[0]:<28} {row[1]:>6.0f} Hz {row[2]:>6.1f} dB {row[3]:>5.2f} dB/oct")
    warm, bright = rows[1], rows[2]
    verdict = "darker" if warm[1] < bright[1] and warm[2] > bright[2] else "NOT darker"
    progress(f"\n\"warm\" is {verdict} than \"bright\": centroid {warm[1]:.0f} Hz vs {bright[1]:.0f} Hz, "
             f"energy below 250 Hz vs above 4 kHz {warm[2]:+.1f} dB vs {bright[2]:+.1f} dB. "
             f"Listen to the files in {out_dir}/")
    return rows
