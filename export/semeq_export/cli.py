"""`semeq-export`: trained checkpoints → the ONNX model bundle that semeq_rt loads (docs/bundle.md);
`semeq-export vocabulary --bundle DIR`: the open vocabulary into it (docs/vocabulary.md);
`semeq-export decoder-params --bundle DIR`: the decoder's settings-only graph into it (docs/bundle.md);
`semeq-export text-encoder`: the shipped bundle's text encoder into the models folder (too large for the
repository).

Checks full ONNX validity and ONNX Runtime vs PyTorch parity before anything is written to --out.
"""
from __future__ import annotations

import argparse
import shlex
import sys

DEFAULT_EQ_CHECKPOINT = "runs/eq/eqspace.pt"
DEFAULT_AUDIO_CHECKPOINT = "runs/audio/encoder.pt"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="semeq-export", description=__doc__.splitlines()[0])
    parser.add_argument("--eq-checkpoint", default=DEFAULT_EQ_CHECKPOINT,
                        help=f"EQ-space checkpoint from `semeq-train eq` (default {DEFAULT_EQ_CHECKPOINT})")
    parser.add_argument("--audio-checkpoint", default=DEFAULT_AUDIO_CHECKPOINT,
                        help=f"audio-encoder checkpoint from `semeq-train audio` (default {DEFAULT_AUDIO_CHECKPOINT})")
    parser.add_argument("--out", required=True,
                        help="bundle folder to write (the package's default: python/semeq_rt/models/default)")
    parser.add_argument("--data", help="data directory for the held-out parity curves "
                                       "(default: $SEMEQ_DATA or <repo>/../shared/data)")
    parser.add_argument("--music-dir", help="music cache for the parity clips "
                                            "(default: $SEMEQ_MUSIC_DIR or ~/.cache/semeq/music)")
    parser.add_argument("--clips-per-track", type=int, default=2,
                        help="windows taken from each validation track for the parity check (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random parity inputs (default 0)")
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["vocabulary"]:
        from .vocabulary import main as vocabulary_main

        return vocabulary_main(argv[1:])
    if argv[:1] == ["decoder-params"]:
        from .decoder_params import main as decoder_params_main

        return decoder_params_main(argv[1:])
    if argv[:1] == ["text-encoder"]:
        from .vocabulary import install_main

        return install_main(argv[1:])
    args = build_parser().parse_args(argv)
    from .checkpoints import export_checkpoints
    from .parity import ParityError

    command = shlex.join(["semeq-export", *argv])
    try:
        manifest = export_checkpoints(args.eq_checkpoint, args.audio_checkpoint, args.out, data_dir=args.data,
                                      music_dir=args.music_dir, clips_per_track=args.clips_per_track,
                                      seed=args.seed, command=command)
    except (FileNotFoundError, ValueError, ParityError) as e:
        print(f"semeq-export: error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}: latent_dim {manifest['latent_dim']}, {len(manifest['terms'])} terms")
    print("max |ONNX Runtime - PyTorch float64| (in brackets: - PyTorch float32 eager), random / real inputs:")
    for entry in manifest["models"].values():
        parity = entry["parity"]
        if "derived_from" in entry:  # cut from another model: compared with it, not with PyTorch
            print(f"  {entry['file']:20s} {entry['size_bytes'] / 1e6:5.2f} MB  the {entry['derived_from']} graph's "
                  f"params: max |difference| {parity['max_abs_params_random']:.2g} / "
                  f"{parity['max_abs_params_real']:.2g} of range")
            continue
        checks = "; ".join(
            f"{name} " + " / ".join(f"{parity[f'max_abs_{name}_{kind}']:.2g} "
                                    f"({parity[f'max_abs_{name}_{kind}_vs_float32_torch']:.2g})"
                                    for kind in ("random", "real"))
            + f" ≤ {tolerance:g}" for name, tolerance in parity["tolerances"].items())
        print(f"  {entry['file']:20s} {entry['size_bytes'] / 1e6:5.2f} MB  {checks}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
