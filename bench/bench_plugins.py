"""The semeq plugins' cost, in pedalboard, with anchors in the same run: pedalboard's own 5-band EQ
(a low shelf, three peaks and a high shelf: its built-in filters in one Pedalboard) and semeq_rt.Processor
from Python. Stereo 48 kHz, 512-sample blocks, 60 s of music; the best of --repeats passes. Also the
plugin's load time (pedalboard.load_plugin: the plugin, its ONNX Runtime sessions and its models) and
the bundles' sizes.

Run: ``bash scripts/build_plugins.sh build/plugins-out && python3 bench/bench_plugins.py
[--plugins build/plugins-out] [--seconds 60] [--repeats 3]``.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import time
from pathlib import Path

import numpy as np

import semeq_rt
from semeq_rt.demo import demo_signal

SR = 48000
BLOCK = 512


def music(seconds):
    parts = [demo_signal(SR, 8.0, seed=k) for k in range(int(np.ceil(seconds / 8.0)))]
    return np.ascontiguousarray(np.concatenate(parts, axis=1)[:, : int(seconds * SR)])


def best_seconds(run, repeats):
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return best


def size_mb(path):
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 1e6 if Path(path).is_dir() \
        else Path(path).stat().st_size / 1e6


def main(argv=None):
    import pedalboard

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugins", default="build/plugins-out", help="scripts/build_plugins.sh's OUTDIR")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    folder = Path(args.plugins)
    audio = music(args.seconds)
    print(f"semeq plugins in pedalboard {pedalboard.__version__}: stereo 48 kHz, {BLOCK}-sample blocks, "
          f"{args.seconds:g} s of music, best of {args.repeats}; {os.uname().machine}")
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())

    loads = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        pedalboard.load_plugin(str(folder / "semeq.vst3"))
        loads.append(time.perf_counter() - t0)
    print(f"load time of semeq.vst3 (plugin, ONNX Runtime sessions, models): best {1e3 * min(loads):.0f} ms, "
          f"first {1e3 * loads[0]:.0f} ms")
    print("sizes: " + ", ".join(f"{name} {size_mb(folder / name):.1f} MB" for name in
                                ("semeq.vst3", "semeq.lv2", "semeq.clap", "semeq-resources")))

    anchor = pedalboard.Pedalboard([pedalboard.LowShelfFilter(120.0, 3.0, 0.707),
                                    pedalboard.PeakFilter(400.0, -2.0, 1.0), pedalboard.PeakFilter(2500.0, 4.0, 2.0),
                                    pedalboard.PeakFilter(6000.0, -3.0, 0.7),
                                    pedalboard.HighShelfFilter(10000.0, 2.0, 0.707)])
    rows = [("anchor: pedalboard's 5-band EQ (built-in filters)",
             lambda: anchor.process(audio, SR, buffer_size=BLOCK))]
    for render in ("live", "exact"):
        plugin = pedalboard.load_plugin(str(folder / "semeq.vst3"))
        plugin.term, plugin.intensity, plugin.render = "warm", 1.0, render
        rows.append((f"semeq.vst3, render {render}",
                     lambda plugin=plugin: plugin.process(audio, SR, buffer_size=BLOCK)))

    def python_processor():
        p = semeq_rt.Processor("warm", sample_rate=SR, channels=2)
        for start in range(0, audio.shape[1], BLOCK):
            p.process(audio[:, start:start + BLOCK])

    rows.append(("anchor: semeq_rt.Processor from Python", python_processor))
    for name, run in rows:
        seconds = best_seconds(run, args.repeats)
        print(f"{name:<52} {args.seconds / seconds:7.0f}× real time")
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
