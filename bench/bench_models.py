"""Model inference: ONNX Runtime (CPU, 1 thread) vs torch eager (1 thread) on one item per call, plus
the bundle's size and the time to validate it and create all its sessions.

    python3 bench/bench_models.py [--bundle DIR] [--eq-checkpoint P] [--audio-checkpoint P] [--rounds N]

The torch anchors are the checkpoints the bundle was exported from (defaults: runs/eq/eqspace.pt,
runs/audio/encoder.pt): the trained module as training runs it, and, for the audio encoder, also the
exported graph (FFT as matrix products) run in torch. ORT and torch calls are interleaved in rounds so
that load from other processes hits both alike; the machine's load average is printed with the results.
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def load_average() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def timed_calls(fn, n: int) -> list:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def interleaved(candidates: dict, rounds: int, per_round: int) -> dict:
    """name → per-call times (s); each round runs every candidate ``per_round`` times, in turn."""
    for fn in candidates.values():  # warm-up: first calls allocate and pick kernels
        timed_calls(fn, 3)
    times = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, fn in candidates.items():
            times[name] += timed_calls(fn, per_round)
    return times


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", help="bundle folder (default: the package's shipped bundle)")
    parser.add_argument("--eq-checkpoint", default=str(REPO / "runs/eq/eqspace.pt"))
    parser.add_argument("--audio-checkpoint", default=str(REPO / "runs/audio/encoder.pt"))
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--per-round", type=int, default=10)
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    start = time.perf_counter()
    import onnxruntime as ort

    import_s = time.perf_counter() - start
    from semeq_export.checkpoints import load_checkpoints
    from semeq_export.graphs import AudioEncoderGraph, EqDecoderGraph
    from semeq_rt.bundle import DEFAULT_BUNDLE_DIR, load_bundle, validate_bundle

    folder = Path(args.bundle) if args.bundle else DEFAULT_BUNDLE_DIR
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {load_average()}")
    print(f"onnxruntime {ort.__version__}, torch {torch.__version__}, numpy {np.__version__}")

    manifest = validate_bundle(folder)
    sizes = {e["file"]: e["size_bytes"] for e in manifest["models"].values()}
    manifest_bytes = (folder / "manifest.json").stat().st_size
    print(f"\nbundle {folder}: {(sum(sizes.values()) + manifest_bytes) / 1e6:.2f} MB in all "
          + ", ".join(f"{f} {b / 1e6:.2f} MB" for f, b in sizes.items())
          + f", manifest.json {manifest_bytes / 1e6:.2f} MB")
    load_times = timed_calls(lambda: load_bundle(folder, providers=["CPUExecutionProvider"]), 7)
    validate_times = timed_calls(lambda: validate_bundle(folder), 7)
    print(f"import onnxruntime {import_s * 1e3:.0f} ms (first in process); load_bundle (validate + hash + "
          f"{len(sizes)} sessions) median {np.median(load_times) * 1e3:.1f} ms, of which validate_bundle "
          f"{np.median(validate_times) * 1e3:.1f} ms")

    bundle = load_bundle(folder, providers=["CPUExecutionProvider"])
    space, encoder = load_checkpoints(args.eq_checkpoint, args.audio_checkpoint)
    rng = np.random.default_rng(0)
    window = (0.1 * rng.standard_normal((1, bundle.window))).astype(np.float32)
    curve = rng.normal(0.0, 6.0, (1, 121)).astype(np.float32)
    latent = bundle.encode_curve(curve)
    decoder_graph = EqDecoderGraph(space.decoder).eval()
    audio_graph = AudioEncoderGraph(encoder, bundle.window).eval()

    def torch_call(module, x):
        tensor = torch.from_numpy(x)

        def call():
            with torch.no_grad():
                module(tensor)
        return call

    def ort_call(role, x):
        session = bundle.sessions[role]
        feed = {session.get_inputs()[0].name: x}
        return lambda: session.run(None, feed)

    cases = {
        f"audio_encoder (1 window, {bundle.window} samples)": {
            "ORT": ort_call("audio_encoder", window),
            "torch eager, trained module": torch_call(encoder, window),
            "torch eager, exported graph": torch_call(audio_graph, window),
        },
        "eq_encoder (1 curve)": {"ORT": ort_call("eq_encoder", curve),
                                 "torch eager, trained module": torch_call(space.encoder, curve)},
        "eq_decoder (1 latent → params + response)": {
            "ORT": ort_call("eq_decoder", latent),
            "torch eager, trained module": torch_call(decoder_graph, latent)},
    }
    print("\n| model | runtime | median ms | p90 ms | torch / ORT (median) |\n|---|---|---|---|---|")
    for case, candidates in cases.items():
        times = interleaved(candidates, args.rounds, args.per_round)
        ort_median = np.median(times["ORT"])
        for name, t in times.items():
            ratio = "" if name == "ORT" else f"{np.median(t) / ort_median:.1f}×"
            print(f"| {case} | {name} | {np.median(t) * 1e3:.3f} | {np.percentile(t, 90) * 1e3:.3f} | {ratio} |")
    print(f"\nload average after: {load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
