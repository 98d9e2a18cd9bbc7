"""How long an analysis window must be: the level-free RMS distance between a window's 1/3-octave LTAS
and its whole track's, on the validation tracks, for several window lengths.

    python -m semeq_train.audio.window_study
"""
from __future__ import annotations

import argparse

import numpy as np

from semeq_rt import ltas

from .. import music

LENGTHS = tuple(1 << k for k in range(14, 19))


def deviations(length: int, tracks, windows_per_track: int, rng) -> np.ndarray:
    out = []
    for track in tracks:
        audio = np.asarray(music.load_mid(track, ltas.SAMPLE_RATE), dtype=np.float64)
        whole = ltas.ltas_db(audio)
        for start in rng.integers(0, len(audio) - length, windows_per_track):
            diff = (ltas.ltas_db(audio[start : start + length]) - whole)[ltas.BAND_MASK]
            out.append(np.sqrt(np.mean((diff - diff.mean()) ** 2)))
    return np.array(out)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m semeq_train.audio.window_study", description=__doc__.splitlines()[0])
    parser.add_argument("--windows-per-track", type=int, default=20)
    args = parser.parse_args(argv)
    music.fetch(music.MUSIC_PACKAGES)
    _, validation = music.split_tracks(music.list_tracks(music.MUSIC_PACKAGES))
    rng = np.random.default_rng(0)
    print("| window (samples) | seconds | median RMS deviation (dB) | 90th percentile (dB) |\n|---|---|---|---|")
    for length in LENGTHS:
        d = deviations(length, validation, args.windows_per_track, rng)
        print(f"| {length} | {length / ltas.SAMPLE_RATE:.2f} | {np.median(d):.2f} | {np.percentile(d, 90):.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
