"""`semeq batch`'s throughput on real music: hours of audio per wall hour with 1 and 2 workers (the
command's wall clock, interpreter start included), and a rerun that skips everything.

Run: ``python3 bench/bench_batch.py [--files 30] [--minutes 2] [--ray]`` (needs ``python -m
semeq_train.music fetch`` and pyarrow; ``--ray`` also times the same batch on a local Ray instance, which needs
Ray Data). ``--stages``: instead, what one worker spends per hour of audio on each stage, decode, analyse,
process, encode, on one 10-minute file per format. The files are cut from the training packages' validation
tracks (nexuiz-music, hyperrogue-music) in turn, WAV 16-bit, FLAC and Ogg Vorbis alternately, at their own
rates.
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


def stages(folder, minutes):
    """Seconds per hour of audio of each stage of one file's work, on one core (the calling thread)."""
    import semeq_rt
    from semeq_rt.fileio import PRIME_SECONDS

    make_catalog(folder, len(FORMATS), minutes)
    for path in sorted(Path(folder).iterdir()):
        clock = time.thread_time
        t0 = clock()
        audio, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
        audio = np.ascontiguousarray(audio.T)
        t1 = clock()
        semeq_rt.analyze(audio, rate)
        t2 = clock()
        p = semeq_rt.Processor("warm", sample_rate=rate, channels=len(audio))
        p.prime(audio[:, : int(PRIME_SECONDS * rate)])
        out = np.concatenate([p.process(audio[:, i:i + 65536]) for i in range(0, audio.shape[1], 65536)], axis=1)
        t3 = clock()
        write_audio(Path(folder) / f"out{path.suffix}", out, rate, subtype=soundfile.info(str(path)).subtype,
                    overwrite=True)
        t4 = clock()
        per_hour = 3600.0 / (audio.shape[1] / rate)
        print(f"{path.suffix[1:]:<5} s per hour of audio: decode {per_hour * (t1 - t0):5.1f}, analyse "
              f"{per_hour * (t2 - t1):5.1f}, process {per_hour * (t3 - t2):5.1f}, encode {per_hour * (t4 - t3):5.1f}")


def run(src, dst, *options):
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "semeq_rt.cli", "batch", str(src), str(dst), *options, "-q"], check=True)
    return time.perf_counter() - t0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=30)
    parser.add_argument("--minutes", type=float, default=2.0, help="length of each file")
    parser.add_argument("--stages", action="store_true", help="the cost of each stage instead (10-minute files)")
    parser.add_argument("--ray", action="store_true", help="also `--ray` (a local Ray instance) against the pool")
    args = parser.parse_args(argv)
    if args.stages:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        with tempfile.TemporaryDirectory() as tmp:
            stages(tmp, 10.0)
        return
    print(f"semeq batch: {args.files} files of {args.minutes:g} min; {os.cpu_count()} cores")
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in"
        src.mkdir()
        hours = make_catalog(src, args.files, args.minutes) / 3600.0
        walls = {}
        runs = [(1, "--workers", "1"), (2, "--workers", "2")] + ([("ray", "--ray")] if args.ray else [])
        for key, *options in runs:
            walls[key] = run(src, Path(tmp) / f"out{key}", *options)
            print(f"{' '.join(options):<12} {walls[key]:6.1f} s wall, {hours * 3600 / walls[key]:6.0f} h of "
                  f"audio per wall hour")
        rerun = run(src, Path(tmp) / "out2", "--workers", "2")
        print(f"2 workers / 1 worker: {walls[1] / walls[2]:.2f}×; rerun (all skipped): {rerun:.1f} s = "
              f"{100 * rerun / walls[2]:.0f} % of the first run")
        if args.ray:
            print(f"--ray / 2 workers (throughput): {walls[2] / walls['ray']:.2f}")
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
