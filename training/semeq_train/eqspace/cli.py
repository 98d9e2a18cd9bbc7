"""Train the semantic EQ space (SAFE-DB + SocialFX) and write its checkpoint with held-out metrics."""
from __future__ import annotations

from pathlib import Path

from .data import build_corpus
from .terms import L2_MODES
from .metrics import heldout_metrics
from .train import TrainConfig, train

DEFAULT_OUT = "runs/eq/eqspace.pt"


def add_arguments(parser):
    parser.add_argument("--data", help="data directory (default: $SEMEQ_DATA or <repo>/../shared/data)")
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"checkpoint path (default {DEFAULT_OUT})")
    parser.add_argument("--seed", type=int, default=0, help="seed for splits, initialisation and sampling")
    parser.add_argument("--smoke", action="store_true", help="seconds-long run (CI): small network, few steps")
    parser.add_argument("--steps", type=int, help="training steps (default: 12000, smoke 300)")
    parser.add_argument("--latent-dim", type=int, help="latent size (default 17: 16 shape coordinates + the level)")
    parser.add_argument("--hidden", type=int, help="hidden layer width (default 256)")
    parser.add_argument("--depth", type=int, help="hidden layers in encoder and decoder (default 2)")
    parser.add_argument("--term-loss-weight", type=float, help="weight of the term loss (default 0.3)")
    parser.add_argument("--scorer-l2", choices=L2_MODES,
                        help="term scorer's L2 penalty: divided by the term's number of training examples "
                             "('per-count', default) or the same for every term ('shared'); docs/eq-space.md")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def config_from_args(args) -> TrainConfig:
    overrides = {"seed": args.seed, "threads": args.threads}
    for name in ("steps", "latent_dim", "hidden", "depth", "term_loss_weight", "scorer_l2"):
        if getattr(args, name) is not None:
            overrides[name] = getattr(args, name)
    return TrainConfig.smoke(**overrides) if args.smoke else TrainConfig(**overrides)


def command_line(args) -> str:
    """The `semeq-train eq` command that reproduces this run."""
    words = ["semeq-train", "eq", "--out", str(args.out), "--seed", str(args.seed)]
    if args.data:
        words += ["--data", str(args.data)]
    if args.smoke:
        words.append("--smoke")
    for name in ("steps", "latent_dim", "hidden", "depth", "term_loss_weight", "scorer_l2"):
        if getattr(args, name) is not None:
            words += ["--" + name.replace("_", "-"), str(getattr(args, name))]
    return " ".join(words)


def run(args) -> int:
    config = config_from_args(args)
    corpus = build_corpus(args.data, seed=config.seed, min_examples=config.min_examples)
    space = train(corpus, config, progress=not args.no_progress)
    space.config["command"] = command_line(args)
    space.metrics = heldout_metrics(space, corpus, fit_steps=50 if args.smoke else 400)
    path = space.save(Path(args.out))
    m = space.metrics
    print(f"wrote {path}\n"
          f"  held-out SAFE median RMS {m['safe_rms_db']['median']:.3f} dB (level-free "
          f"{m['safe_rms_db_level_free']['median']:.3f} dB; mean-curve baseline "
          f"{m['safe_baseline_mean_curve_rms_db']['median']:.3f} dB)\n"
          f"  held-out SocialFX median RMS: decoder {m['socialfx_decoder_rms_db_level_free']['median']:.3f} dB, "
          f"direct 5-band fit {m['socialfx_direct_fit_rms_db_level_free']['median']:.3f} dB\n"
          f"  warm vs bright {m['warm_vs_bright_accuracy']:.3f} (raw nearest centroid "
          f"{m['warm_vs_bright_raw_nearest_centroid_accuracy']:.3f}), top-1 {m['top1']:.3f}, top-5 {m['top5']:.3f},"
          f" balanced top-1 {m['top1_balanced']:.3f}, top-5 {m['top5_balanced']:.3f}")
    return 0


def main(argv=None) -> int:
    """``python -m semeq_train.eqspace.cli`` = ``semeq-train eq``."""
    import argparse

    parser = argparse.ArgumentParser(prog="semeq-train eq", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
