"""How long an analysis window must be, and whether its STFT frames need to overlap: the level-free RMS
distance between a window's 1/3-octave LTAS and its whole track's, on the validation tracks.

    python -m semeq_train.audio.window_study
"""
from __future__ import annotations

import argparse

import numpy as np

from semeq_rt import ltas

from .. import music
from .model import WINDOW

LENGTHS = tuple(1 << k for k in range(14, 19))


def band_db(mid: np.ndarray, frame_hop: int) -> np.ndarray:
    """1/3-octave level (dB, in-band, mean removed) of Hann frames of ltas.N_FFT, ``frame_hop`` apart."""
    frames = np.lib.stride_tricks.sliding_window_view(mid, ltas.N_FFT)[::frame_hop]
    power = (np.abs(np.fft.rfft(frames * ltas.hann(), axis=-1)) ** 2).mean(axis=0)
    return ltas.band_db_from_power(power, ltas.smoothing_matrix())


def deviations(length: int, tracks, windows_per_track: int, rng, frame_hop: int = ltas.HOP) -> np.ndarray:
    out = []
    for track in tracks:
        audio = np.asarray(music.load_mid(track, ltas.SAMPLE_RATE), dtype=np.float64)
        whole = band_db(audio, ltas.N_FFT // 2)
        for start in rng.integers(0, len(audio) - length, windows_per_track):
            diff = band_db(audio[start : start + length], frame_hop) - whole
            out.append(np.sqrt(np.mean((diff - diff.mean()) ** 2)))
    return np.array(out)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m semeq_train.audio.window_study",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--windows-per-track", type=int, default=20)
    args = parser.parse_args(argv)
    music.fetch(music.MUSIC_PACKAGES)
    _, validation = music.split_tracks(music.list_tracks(music.MUSIC_PACKAGES))
    print("| window (samples) | seconds | median RMS deviation (dB) | 90th percentile (dB) |\n|---|---|---|---|")
    for length in LENGTHS:
        d = deviations(length, validation, args.windows_per_track, np.random.default_rng(0))
        print(f"| {length} | {length / ltas.SAMPLE_RATE:.2f} | {np.median(d):.2f} | {np.percentile(d, 90):.2f} |")
    print(f"\nFrame hop at the model's window ({WINDOW} samples), same windows:\n"
          "| frame hop | median RMS deviation (dB) | 90th percentile (dB) |\n|---|---|---|")
    for hop in (ltas.N_FFT // 2, ltas.N_FFT):
        d = deviations(WINDOW, validation, args.windows_per_track, np.random.default_rng(0), hop)
        print(f"| {hop} | {np.median(d):.2f} | {np.percentile(d, 90):.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
