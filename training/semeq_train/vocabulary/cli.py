"""Build the open vocabulary (known words, text placement, refusal) on a bundle's EQ space and write it
with its held-out metrics; `semeq-export vocabulary` puts it into the bundle."""
from __future__ import annotations

import json
from pathlib import Path

from semeq_rt.bundle import load_bundle

from .build import build_vocabulary
from .text_reference import reference_embeddings

DEFAULT_OUT = "runs/vocab/vocabulary.json"


def add_arguments(parser):
    parser.add_argument("--bundle", help="bundle whose EQ encoder and decoder place the words (default: shipped)")
    parser.add_argument("--data", help="data directory (default: $SEMEQ_DATA or <repo>/../shared/data)")
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"output JSON (default {DEFAULT_OUT})")
    parser.add_argument("--seed", type=int, default=0, help="seed of the folds and the support study")


def run(args) -> int:
    bundle = load_bundle(args.bundle, providers=["CPUExecutionProvider"])
    vocabulary = build_vocabulary(bundle, reference_embeddings, args.data, args.seed)
    words = ["semeq-train", "vocab", "--out", str(args.out), "--seed", str(args.seed)]
    for name in ("bundle", "data"):
        if getattr(args, name):
            words += [f"--{name}", str(getattr(args, name))]
    vocabulary["config"]["command"] = " ".join(words)
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(vocabulary))
    partial.replace(path)
    m = vocabulary["metrics"]
    cv = m["cross_validation"]["median"]
    print(f"wrote {path}: {m['known_words']} known words (≥ {vocabulary['min_support']} contributions) of "
          f"{m['words_in_data']}; text placement, {m['cross_validation']['words']} held-out words: median r "
          f"{cv['text']['r']:.2f} (mean curve {cv['mean_curve']['r']:.2f}, spelling {cv['spelling']['r']:.2f}); "
          f"non-sonic refused {m['refusal']['non_sonic_check_refused']:.0%}")
    return 0
