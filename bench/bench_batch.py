"""`semeq batch`'s throughput on real music: hours of audio per wall hour with 1 and 2 workers (the
command's wall clock, interpreter start included), and a rerun that skips everything.

Run: ``python3 bench/bench_batch.py [--files 30] [--minutes 2]`` (needs ``python -m semeq_train.music fetch``
and pyarrow): the files are cut from the training packages' validation tracks (nexuiz-music,
hyperrogue-music) in turn, WAV 16-bit, FLAC and Ogg Vorbis alternately, at their own rates.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

from semeq_rt.fileio import write_audio

FORMATS = (("wav", "PCM_16"), ("flac", "PCM_16"), ("ogg", "VORBIS"))


def make_catalog(folder, files, minutes):
    from semeq_train import music

    music.fetch(("nexuiz-music", "hyperrogue-music"))
    tracks = music.list_tracks(("nexuiz-music", "hyperrogue-music"))
    seconds = 0.0
    for k in range(files):
        track = tracks[k % len(tracks)]
        audio, rate = soundfile.read(str(track.path), dtype="float32", always_2d=True)
        n = int(minutes * 60 * rate)
        audio = np.tile(audio, (int(np.ceil(n / len(audio))), 1))[:n]
        extension, subtype = FORMATS[k % len(FORMATS)]
        write_audio(Path(folder) / f"{k:03d}.{extension}", audio.T, rate, subtype=subtype)
        seconds += n / rate
    return seconds


def run(src, dst, workers):
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "semeq_rt.cli", "batch", str(src), str(dst), "--workers", str(workers),
                    "-q"], check=True)
    return time.perf_counter() - t0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=30)
    parser.add_argument("--minutes", type=float, default=2.0, help="length of each file")
    args = parser.parse_args(argv)
    print(f"semeq batch: {args.files} files of {args.minutes:g} min; {os.cpu_count()} cores")
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in"
        src.mkdir()
        hours = make_catalog(src, args.files, args.minutes) / 3600.0
        walls = {}
        for workers in (1, 2):
            walls[workers] = run(src, Path(tmp) / f"out{workers}", workers)
            print(f"{workers} worker(s): {walls[workers]:6.1f} s wall, {hours * 3600 / walls[workers]:6.0f} h of "
                  f"audio per wall hour")
        rerun = run(src, Path(tmp) / "out2", 2)
        print(f"2 workers / 1 worker: {walls[1] / walls[2]:.2f}×; rerun (all skipped): {rerun:.1f} s = "
              f"{100 * rerun / walls[2]:.0f} % of the first run")
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
