"""Speed and memory of the Processor and `semeq process` (the engine issue's must-shows), with anchors
measured in the same run: the bare FilterBank running the same bands, and an analysis's model calls alone.
Runs against whichever semeq_rt is imported (PYTHONPATH), so the same script measures an older version.

- streaming: stereo 48 kHz, 512-sample blocks, analysis on, pinned to one CPU core: throughput
  (× real time) and per-block times (p50 / p99 / p99.9 / max, as % of a block's 10.7 ms), for the
  synchronous mode (analysis inside `process`) and realtime mode (analysis on a worker thread, which
  shares the same core), with the encoder and LTAS analyses, and static mode; plus realtime mode
  with the audio thread pinned and the worker free to use the other cores (a real host's layout),
  also paced like an audio callback at 10× real time; the blocks that run an analysis (synchronous
  mode) are reported apart; where the extension runs the models in C++, the encoder rows again with
  the models called through Python (the anchor);
- threads: two threads, each with its own Processor (or FilterBank), against one thread (512-sample
  blocks, unpinned);
- `semeq process` on a 5-minute stereo 16-bit WAV, wall clock of the whole command (interpreter start
  and model load included);
- RSS of a fresh interpreter with a Processor created and 10 s processed;
- a one-hour simulated stream (realtime mode) whose term and intensity a second thread changes every
  100 ms of stream time: output finite, peak, RSS every 10 minutes.

Run: ``python bench/bench_processor.py [--seconds 60] [--cpu 0] [--no-hour] [--bundle DIR] [--repeats N]``;
prints a report and ``uptime`` (the load average: other processes make every figure slower; the
block times' p99.9 is also given in the calling thread's CPU time, which they do not inflate).
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

import semeq_rt
from semeq_rt import FilterBank
from semeq_rt import processor as semeq_processor
from semeq_rt.analysis import BalanceMeter
from semeq_rt.demo import demo_signal
from semeq_rt.semantics import fit_latent, get_bundle

SR = 48000
BLOCK = 512
ALL_CORES = os.sched_getaffinity(0)
REPEATS = 2
#: Paced runs call process() at this multiple of real time, like an audio callback (× real time is
#: then fixed by the pacing; the block times and the analyses run are what they show).
PACE = 10.0
BLOCK_MS = 1000.0 * BLOCK / SR
#: Model bundle folder (--bundle); None: the shipped one.
BUNDLE_DIR = None


@functools.lru_cache(maxsize=None)
def bundle():
    """The bench's bundle, loaded once."""
    return get_bundle(BUNDLE_DIR)


def processor(term="warm", **options) -> semeq_rt.Processor:
    """A Processor at the bench's rate and channel count, on the bench's bundle."""
    return semeq_rt.Processor(term, sample_rate=SR, channels=2, bundle=bundle(), **options)


@contextlib.contextmanager
def python_model():
    """Processors made inside run the bundle's models through ONNX Runtime's Python API, as with an
    extension built without ONNX Runtime's headers (the anchor for the C++ model, semeq_rt.native_model)."""
    saved = semeq_processor.native_model
    semeq_processor.native_model = lambda bundle: None
    try:
        yield
    finally:
        semeq_processor.native_model = saved


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def test_audio(seconds) -> np.ndarray:
    """Stereo music: the demo piece (chords, bass, drums) tiled, with different seeds per 8 s."""
    parts = [demo_signal(SR, 8.0, seed=k) for k in range(int(np.ceil(seconds / 8.0)))]
    return np.ascontiguousarray(np.concatenate(parts, axis=1)[:, : int(seconds * SR)])


def time_blocks(make, audio, pace=None):
    """Feed ``audio`` in BLOCK-sample blocks to a fresh stream from ``make()`` (a processor or a
    filter bank), REPEATS times; returns (wall seconds, per-block wall seconds, per-block CPU
    seconds of the calling thread, process CPU seconds, stream) of the fastest pass: other processes
    on the machine only ever add time. CPU times leave out time the thread was preempted (by other
    processes, or waiting for the GIL); the process's includes the analysis thread's. With ``pace``, block k
    starts no earlier than k block durations / pace
    after the first, as an audio callback would (and the thread sleeps in between, leaving the GIL
    to the analysis thread)."""
    runs = []
    for _ in range(REPEATS):
        stream = make()
        blocks = [np.ascontiguousarray(audio[:, i:i + BLOCK]) for i in range(0, audio.shape[1] - BLOCK + 1, BLOCK)]
        times, cpu = np.empty(len(blocks)), np.empty(len(blocks))
        clock, cpu_clock = time.perf_counter, time.thread_time
        start, process_start = clock(), time.process_time()
        for k, block in enumerate(blocks):
            if pace is not None:
                time.sleep(max(0.0, start + k * BLOCK / SR / pace - clock()))
            t0, c0 = clock(), cpu_clock()
            stream.process(block)
            times[k], cpu[k] = clock() - t0, cpu_clock() - c0
        wall, process_cpu = clock() - start, time.process_time() - process_start
        if isinstance(stream, semeq_rt.Processor):
            stream.close()
        runs.append((wall, times, cpu, process_cpu, stream))
    return min(runs, key=lambda run: run[0])


def analysis_blocks(stream, n_blocks, delay=0) -> list:
    """Indices of the blocks in which a synchronous Processor runs an analysis (a position p is
    reached in block (p - 1) // BLOCK): where its window ends, or ``delay`` samples later (where its
    EQ is computed: ``adopt_delay_samples``)."""
    window, interval = stream.analysis_window_samples, stream.analysis_interval_samples
    if not window:
        return []
    early = [round(s * SR) for s in getattr(semeq_rt.processor, "EARLY_ANALYSES_S", ()) if round(s * SR) < window]
    positions = [p + delay for p in early + list(range(window, n_blocks * BLOCK + 1, interval))]
    return sorted({(p - 1) // BLOCK for p in positions if (p - 1) // BLOCK < n_blocks})


def report(name, seconds_of_audio, wall, times, cpu, process_cpu, stream):
    pct = 100.0 * np.percentile(times, [50, 99, 99.9]) / (BLOCK_MS / 1000.0)
    cpu_pct = 100.0 * np.percentile(cpu, 99.9) / (BLOCK_MS / 1000.0)
    counts = f"   analyses {stream.analyses} run, {stream.skipped_analyses} skipped" \
        if isinstance(stream, semeq_rt.Processor) and stream.mode == "adaptive" else ""
    worst = 100.0 * times.max() / (BLOCK_MS / 1000.0)
    print(f"{name:<44} {seconds_of_audio / wall:6.0f}× real time (CPU {seconds_of_audio / process_cpu:5.0f}×)   "
          f"block p50 {pct[0]:5.2f} %  p99 {pct[1]:5.2f} %  p99.9 {pct[2]:6.2f} % (CPU {cpu_pct:5.2f} %)  "
          f"max {worst:6.2f} %{counts}")
    synchronous = isinstance(stream, semeq_rt.Processor) and stream.mode == "adaptive" and "synchronous" in name
    if synchronous:
        def share(values):
            return 100.0 * values / (BLOCK_MS / 1000.0)

        measured = analysis_blocks(stream, len(times))
        # an engine that computes the EQ apart from the measurement (`adopt_delay_samples`) or not
        delay = getattr(stream, "adopt_delay_samples", 0)
        adopted = analysis_blocks(stream, len(times), delay) if delay else []
        rest = np.delete(times, sorted(set(measured) | set(adopted)))
        parts = [("where a window ends", measured)] + ([("where its EQ is computed", adopted)] if adopted else [])
        print(f"{'':<44} " + "; ".join(f"blocks {what} ({len(marked)}): median {share(np.median(times[marked])):5.2f} "
                                       f"%, max {share(times[marked].max()):5.2f} %" for what, marked in parts)
              + f"; the others: p99.9 {share(np.percentile(rest, 99.9)):5.2f} %")


def median_ms(call, repeats=50) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def bench_analysis_parts(audio):
    """What an analysis's model calls cost (medians of repeated calls; the engine adds its own
    arithmetic, which the blocks with an analysis show): the audio encoder's head on a balance, the
    LTAS fit (3 steps), the decoder on two latents; and for comparison the full audio encoder on one
    window (what ``analyze`` runs)."""
    b = bundle()
    meter = BalanceMeter(b, SR, "encoder")
    mid = np.ascontiguousarray(audio.mean(axis=0, dtype=np.float32))[: meter.window]
    balance = meter.balance_db(mid)
    z = b.encode_balance(balance)
    pair = np.stack([z, z])
    print(f"anchor: model calls of one analysis: encoder head {median_ms(lambda: b.encode_balance(balance)):.3f} ms; "
          f"LTAS fit {median_ms(lambda: fit_latent(balance, z, b, 3)):.3f} ms; "
          f"decoder on two latents {median_ms(lambda: b.decode(pair)):.3f} ms")
    print(f"anchor: full audio encoder on one window (analyze)  {median_ms(lambda: meter.measure(mid)):.3f} ms")


def bench_threads(audio, seconds=10.0):
    """Two threads, each streaming its own copy of the audio through its own Processor (or FilterBank),
    against one thread doing one stream: throughput ratio (2 streams' audio / wall time, over 1's)."""
    print(f"\n## threads: {seconds:g} s per stream, {BLOCK}-sample blocks, unpinned "
          f"({len(ALL_CORES)} cores allowed)")
    clip = np.ascontiguousarray(audio[:, : int(seconds * SR)])
    blocks = [np.ascontiguousarray(clip[:, i:i + BLOCK]) for i in range(0, clip.shape[1] - BLOCK + 1, BLOCK)]
    own_cores = os.sched_getaffinity(0)
    os.sched_setaffinity(0, ALL_CORES)
    try:
        for label, make in (("FilterBank (its bands)", lambda: anchor_bank(clip)), ("Processor", processor)):
            def run_one(stream):
                for block in blocks:
                    stream.process(block)

            rates = {}
            for count in (1, 2):
                best = float("inf")
                for _ in range(REPEATS):
                    streams = [make() for _ in range(count)]
                    threads = [threading.Thread(target=run_one, args=(s,)) for s in streams]
                    t0 = time.perf_counter()
                    for t in threads:
                        t.start()
                    for t in threads:
                        t.join()
                    best = min(best, time.perf_counter() - t0)
                rates[count] = count * seconds / best
            print(f"{label:<24} 1 thread {rates[1]:6.0f}× real time; 2 threads {rates[2]:6.0f}× in all: "
                  f"{rates[2] / rates[1]:.2f}× one thread")
    finally:
        os.sched_setaffinity(0, own_cores)


def anchor_bank(audio):
    """A FilterBank with the bands a primed Processor hands its filter bank on ``audio``."""
    p = processor()
    p.prime(audio)
    fb = FilterBank(SR, 2)
    fb.set_bands(p.eq_bands)
    return fb


def bench_streaming(audio):
    seconds = audio.shape[1] / SR
    print(f"\n## streaming: stereo 48 kHz, {BLOCK}-sample blocks ({BLOCK_MS:.2f} ms), {seconds:.0f} s of music, "
          f"best of {REPEATS} passes")
    report("anchor: FilterBank, the Processor's bands", seconds,
           *time_blocks(functools.partial(anchor_bank, audio), audio))
    bench_analysis_parts(audio)
    audio_core = os.sched_getaffinity(0)

    def worker_free(analysis):
        # a real-time host runs its audio thread on one core and leaves the others to the rest: the
        # analysis thread is created on all cores, then this (audio) thread is pinned back
        os.sched_setaffinity(0, ALL_CORES)
        p = processor(analysis=analysis, realtime=True)
        os.sched_setaffinity(0, audio_core)
        return p

    for analysis in ("encoder", "ltas"):
        for realtime in (False, True):
            make = functools.partial(processor, analysis=analysis, realtime=realtime)
            report(f"Processor {analysis}, {'realtime' if realtime else 'synchronous'}", seconds,
                   *time_blocks(make, audio))
        report(f"Processor {analysis}, realtime, worker free", seconds,
               *time_blocks(functools.partial(worker_free, analysis), audio))
        if analysis == "encoder" and getattr(processor(), "native_model", False):
            with python_model():  # the anchor: the same models called through Python
                for realtime in (False, True):
                    make = functools.partial(processor, realtime=realtime)
                    report(f"Processor encoder, {'realtime' if realtime else 'synchronous'}, Python model",
                           seconds, *time_blocks(make, audio))
                report("Processor encoder, realtime, worker free, Python model", seconds,
                       *time_blocks(functools.partial(worker_free, analysis), audio))
        report(f"Processor {analysis}, realtime, worker free, paced", seconds,
               *time_blocks(functools.partial(worker_free, analysis), audio, pace=PACE))
    static = functools.partial(processor, mode="static")
    report("Processor static", seconds, *time_blocks(static, audio))


def bench_cli(minutes, tmp):
    print(f"\n## semeq process: {minutes:g}-minute stereo 48 kHz PCM_16 WAV (command pinned to the same core)")
    import soundfile as sf

    src, dst = Path(tmp) / "in.wav", Path(tmp) / "out.wav"
    piece = test_audio(60.0).T
    with sf.SoundFile(src, "w", samplerate=SR, channels=2, subtype="PCM_16") as f:
        for _ in range(int(minutes)):
            f.write(piece)
    for mode in ("adaptive", "static"):
        t0 = time.perf_counter()
        option = ["--bundle", BUNDLE_DIR] if BUNDLE_DIR else []
        subprocess.run([sys.executable, "-m", "semeq_rt.cli", *option, "process", str(src), str(dst), "-q", "-y",
                        "--mode", mode],
                       check=True)
        wall = time.perf_counter() - t0
        print(f"semeq process --mode {mode:<9} {wall:6.2f} s wall   {60.0 * minutes / wall:6.0f}× real time")


def bench_rss():
    code = ("import numpy as np, semeq_rt\n"
            "from semeq_rt.demo import demo_signal\n"
            f"p = semeq_rt.Processor('warm', sample_rate=48000, channels=2, bundle={BUNDLE_DIR!r})\n"
            "x = demo_signal(48000, 10.0)\n"
            "[p.process(x[:, i:i + 512]) for i in range(0, x.shape[1], 512)]\n"
            "print(open('/proc/self/status').read())\n")
    status = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    fields = {line.split(":")[0]: int(line.split()[1]) / 1024.0 for line in status.splitlines()
              if line.startswith(("VmRSS", "VmHWM"))}
    print(f"\n## memory: fresh interpreter, Processor with models loaded, 10 s processed: "
          f"RSS {fields['VmRSS']:.0f} MB (peak {fields['VmHWM']:.0f} MB)")


def bench_hour(audio):
    print("\n## one hour of stream, realtime mode, term and intensity changed every 100 ms from a second thread")
    p = processor(realtime=True)
    words = semeq_rt.terms()[:8]
    position = [0]
    changed = threading.Condition()
    done = threading.Event()

    def control():
        rng = np.random.default_rng(0)
        next_change = 0
        while not done.is_set():
            with changed:
                changed.wait_for(lambda: position[0] >= next_change or done.is_set())
            p.set_term({words[rng.integers(len(words))]: 1.0, words[rng.integers(len(words))]: rng.random()})
            p.set_intensity(float(rng.random()))
            next_change += SR // 10

    thread = threading.Thread(target=control)
    thread.start()
    peak_in, peak_out, finite = float(np.max(np.abs(audio))), 0.0, True
    rss = [rss_mb()]
    n_blocks = 3600 * SR // BLOCK
    loop = audio.shape[1] // BLOCK
    t0 = time.perf_counter()
    for k in range(n_blocks):
        i = (k % loop) * BLOCK
        y = p.process(audio[:, i:i + BLOCK])
        peak_out = max(peak_out, float(np.max(np.abs(y))))
        finite &= bool(np.all(np.isfinite(y)))
        with changed:
            position[0] += BLOCK
            changed.notify()
        if (k + 1) % (600 * SR // BLOCK) == 0:
            rss.append(rss_mb())
    wall = time.perf_counter() - t0
    done.set()
    with changed:
        changed.notify()
    thread.join()
    p.close()
    print(f"{wall:.1f} s wall ({3600 / wall:.0f}× real time); output finite: {finite}; peak in {peak_in:.2f}, "
          f"out {peak_out:.2f}; RSS every 10 min (MB): {' '.join(f'{r:.1f}' for r in rss)}")


def main(argv=None):
    global BUNDLE_DIR, REPEATS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of music for streaming (default 60)")
    parser.add_argument("--cpu", type=int, default=None, help="pin to this CPU core (default: the first allowed)")
    parser.add_argument("--file-minutes", type=float, default=5.0)
    parser.add_argument("--no-hour", action="store_true", help="skip the one-hour stream")
    parser.add_argument("--only", choices=("streaming", "threads", "cli"), help="run one section")
    parser.add_argument("--bundle", help="model bundle folder (default: the shipped models)")
    parser.add_argument("--repeats", type=int, default=REPEATS, help=f"passes per streaming figure, the "
                        f"fastest reported (default {REPEATS}; more on a loaded machine)")
    args = parser.parse_args(argv)
    BUNDLE_DIR, REPEATS = args.bundle, args.repeats
    cpu = args.cpu if args.cpu is not None else min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    print(f"semeq Processor benchmark — pinned to CPU {cpu}; python {sys.version.split()[0]}, "
          f"numpy {np.__version__}; {os.uname().machine}")
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    print(f"bundle: {bundle().path}; analysis frames: {bundle().neutral_reference['n_fft']} samples, "
          f"hop {bundle().neutral_reference['frame_hop']}; the encoder analysis's models "
          f"{'in C++ (semeq_rt.native_model)' if getattr(processor(), 'native_model', False) else 'through Python'}")
    audio = test_audio(args.seconds)
    if args.only in (None, "streaming"):
        bench_streaming(audio)
    if args.only in (None, "threads"):
        bench_threads(audio)
    if args.only in (None, "cli"):
        with tempfile.TemporaryDirectory() as tmp:
            bench_cli(args.file_minutes, tmp)
    if args.only is None:
        bench_rss()
        if not args.no_hour:
            bench_hour(audio)
    print("\nuptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
