"""FilterBank speed against its anchors, measured in one run.

    python3 bench/bench_filterbank.py [--seconds 10] [--repeats 5]

Anchors: scipy.signal.sosfilt (float64, whole buffer) and pedalboard (LowShelf, 3 x Peak, HighShelf,
512-sample blocks, reset=False). Ours: 512-sample blocks through the Python API (call overhead
included), with smoothing on and set_bands every 100 ms (ramps 20 % of the time), and steady state.
The ceiling is the bare dependency chain of the layout the bank picks (_core._chain_ns_per_step:
the wavefront step without loads, stores, masks or edges). Times are the best of --repeats; ratios use thread
CPU time (robust on a shared machine), wall-clock figures are printed alongside.
"""
import argparse
import os
import platform
import time

import numpy as np
import scipy.signal as ss

from semeq_rt import FilterBank, _core, eqdef

FS = 48000
BANDS = [("lowshelf", 120.0, 4.0, eqdef.SHELF_Q), ("peak", 400.0, -3.0, 1.0), ("peak", 2500.0, 6.0, 3.0),
         ("peak", 6000.0, -5.0, 0.5), ("highshelf", 10000.0, 3.0, eqdef.SHELF_Q)]
BANDS_ALT = [(k, f, -g, q) for k, f, g, q in BANDS]
BLOCK = 512


def best_time(fn, repeats, setup=None):
    """(best wall, best thread-CPU) seconds of fn() over repeats; setup() runs untimed before each."""
    walls, cpus = [], []
    for _ in range(repeats):
        if setup is not None:
            setup()
        w0, c0 = time.perf_counter(), time.thread_time()
        fn()
        cpus.append(time.thread_time() - c0)
        walls.append(time.perf_counter() - w0)
    return min(walls), min(cpus)


def sos():
    return np.array([[*eqdef.rbj_coefficients(k, f, g, q, FS)[:3], 1.0, *eqdef.rbj_coefficients(k, f, g, q, FS)[3:]]
                     for k, f, g, q in BANDS])


def blocks_of(x):
    return [np.ascontiguousarray(x[:, i:i + BLOCK]) for i in range(0, x.shape[1] - BLOCK + 1, BLOCK)]


def ours(x, repeats, ramps, inplace=True):
    fb = FilterBank(FS, x.shape[0], smoothing_ms=20.0)
    fb.set_bands(BANDS)
    blocks = blocks_of(x)
    work = [b.copy() for b in blocks]
    every = int(0.1 * FS / BLOCK)  # set_bands every ~100 ms

    def refresh():  # fresh input for each repeat, untimed
        for w, b in zip(work, blocks):
            w[...] = b

    def run():
        for i, b in enumerate(work):
            if ramps and i % every == 0:
                fb.set_bands(BANDS_ALT if (i // every) % 2 else BANDS)
            if inplace:
                fb.process_inplace(b)
            else:
                fb.process(b)

    return best_time(run, repeats, refresh)


def pedalboard_stream(x, repeats):
    import pedalboard as pb

    board = pb.Pedalboard([
        pb.LowShelfFilter(cutoff_frequency_hz=120.0, gain_db=4.0, q=eqdef.SHELF_Q),
        pb.PeakFilter(cutoff_frequency_hz=400.0, gain_db=-3.0, q=1.0),
        pb.PeakFilter(cutoff_frequency_hz=2500.0, gain_db=6.0, q=3.0),
        pb.PeakFilter(cutoff_frequency_hz=6000.0, gain_db=-5.0, q=0.5),
        pb.HighShelfFilter(cutoff_frequency_hz=10000.0, gain_db=3.0, q=eqdef.SHELF_Q),
    ])
    blocks = blocks_of(x)

    def run():
        for b in blocks:
            board.process(b, FS, reset=False)

    return best_time(run, repeats)


def scipy_whole(x, repeats):
    s = sos()
    x64 = x.astype(np.float64)
    return best_time(lambda: ss.sosfilt(s, x64, axis=1), repeats)


def chain_ceiling(channels, repeats):
    """Real-time factor of the kernel's bare dependency chain (no loads, stores, masks or edges) for
    the layout the bank picks for `channels` channels and the 5 bands."""
    fb = FilterBank(FS, channels)
    fb.set_bands(BANDS)
    fb.process(np.zeros((channels, 16), np.float32))
    lay = fb._kernel_layout()
    per_pass = lay["groups_per_pass"]
    passes = lay["chunks"] * -(-lay["channel_groups"] // per_pass)
    ns = min(_core._chain_ns_per_step(1_000_000, lay["channels_per_vector"], per_pass, lay["vectors_per_chain"])
             for _ in range(repeats))
    return 1e9 / (passes * ns) / FS, lay


def load():
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    seconds, reps = args.seconds, args.repeats
    rng = np.random.default_rng(0)
    stereo = rng.uniform(-1, 1, (2, int(seconds * FS))).astype(np.float32)
    multi = rng.uniform(-1, 1, (16, int(seconds * FS))).astype(np.float32)
    usable = len(blocks_of(stereo)) * BLOCK / FS  # seconds actually streamed in whole blocks

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, kernel {_core.isa()} "
          f"(available {', '.join(_core.available_isas())}); {load()} at start")
    rows = []

    def row(name, t, secs):
        wall, cpu = t
        rows.append((name, secs / cpu, secs / wall))
        print(f"  {name:58s} {secs / cpu:8.0f}x RT (CPU)  {secs / wall:8.0f}x RT (wall)  "
              f"{cpu / (secs * FS / BLOCK) * 1e6:7.2f} us CPU per 512 frames")
        return secs / cpu

    print("stereo, 48 kHz, 5 bands:")
    sci = row("scipy sosfilt float64, whole buffer", scipy_whole(stereo, reps), seconds)
    ped = row("pedalboard, 512-sample blocks, reset=False", pedalboard_stream(stereo, reps), usable)
    ramp = row("FilterBank.process_inplace, 512 blocks, set_bands every 100 ms", ours(stereo, reps, True), usable)
    steady = row("FilterBank.process_inplace, 512 blocks, steady state", ours(stereo, reps, False), usable)
    alloc = row("FilterBank.process (new array), 512 blocks, set_bands every 100 ms",
                ours(stereo, reps, True, inplace=False), usable)
    ceiling, layout = chain_ceiling(2, reps)
    print(f"  {'ceiling: bare dependency chain of the layout':58s} {ceiling:8.0f}x RT   {layout}")

    print("16 channels, 48 kHz, 5 bands:")
    sci16 = row("scipy sosfilt float64, whole buffer (16 channels)", scipy_whole(multi, reps), seconds)
    ours16 = row("FilterBank.process_inplace, 512 blocks, set_bands every 100 ms", ours(multi, reps, True),
                 usable)
    steady16 = row("FilterBank.process_inplace, 512 blocks, steady state", ours(multi, reps, False), usable)
    ceiling16, layout16 = chain_ceiling(16, reps)
    print(f"  {'ceiling: bare dependency chain of the layout':58s} {ceiling16:8.0f}x RT   {layout16}")

    print("silence right after a loud signal vs noise (stereo, steady state):")
    fb = FilterBank(FS, 2)
    fb.set_bands(BANDS)
    loud, quiet = blocks_of(stereo), [np.zeros((2, BLOCK), np.float32) for _ in blocks_of(stereo)]

    def feed(blocks):
        def run():
            for b in blocks:
                fb.process(b)
        return run

    t_noise = best_time(feed(loud), reps)[1]
    times = []
    for _ in range(reps):
        feed(loud)()
        c0 = time.thread_time()
        feed(quiet)()
        times.append(time.thread_time() - c0)
    t_silence = min(times)

    print()
    print(f"ratios (CPU time); {load()} at end")
    print(f"  stereo, ramps:        {ramp / sci:5.2f}x scipy (target 4.5)   {ramp / ped:5.2f}x pedalboard (target 9)"
          f"   {ramp / ceiling:5.0%} of the chain ceiling")
    print(f"  stereo, steady state: {steady / sci:5.2f}x scipy              {steady / ped:5.2f}x pedalboard"
          f"              {steady / ceiling:5.0%} of the chain ceiling")
    print(f"  stereo, process():    {alloc / sci:5.2f}x scipy              {alloc / ped:5.2f}x pedalboard")
    print(f"  16 channels, ramps:   {ours16 / sci16:5.2f}x scipy aggregate (target 12)"
          f"   {ours16 / ceiling16:5.0%} of the chain ceiling")
    print(f"  16 channels, steady:  {steady16 / sci16:5.2f}x scipy aggregate"
          f"              {steady16 / ceiling16:5.0%} of the chain ceiling")
    print(f"  silence after loud / noise time: {t_silence / t_noise:4.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
