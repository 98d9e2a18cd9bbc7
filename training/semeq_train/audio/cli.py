"""Train the audio encoder (raw audio → semantic EQ latent), or evaluate encoders on audio files.

    semeq-train audio [--smoke] [--eqspace runs/eq/eqspace.pt] [--out runs/audio/encoder.pt] [--mix full|pink]
    semeq-train audio --evaluate [DIR] [--checkpoint PATH ...] [--report PATH]
"""
from __future__ import annotations

import shlex
import sys

import torch

from ..data_paths import sha256_file
from ..eqspace import load_checkpoint as load_eqspace
from . import evaluate as evaluation
from .data import MIXES
from .model import save_checkpoint
from .train import DEFAULT_CONFIG, SMOKE_CONFIG, generated_holdout_losses, train


def add_arguments(parser):
    parser.add_argument("--smoke", action="store_true", help="seconds-long run of the whole path (CI)")
    parser.add_argument("--eqspace", default=evaluation.DEFAULT_EQSPACE, help="EQ-space checkpoint giving the labels")
    parser.add_argument("--out", default="runs/audio/encoder.pt", help="checkpoint to write")
    parser.add_argument("--mix", choices=sorted(MIXES), default=DEFAULT_CONFIG["mix"],
                        help="training sources: full (noise, synthetic, music, drums) or pink (ablation)")
    parser.add_argument("--steps", type=int, help=f"generated batches (default {DEFAULT_CONFIG['steps']})")
    parser.add_argument("--cycle-weight", type=float, default=DEFAULT_CONFIG["cycle_weight"],
                        help=f"weight of the stay-on-the-EQ-manifold term (default {DEFAULT_CONFIG['cycle_weight']})")
    parser.add_argument("--difference-weight", type=float, default=DEFAULT_CONFIG["difference_weight"],
                        help="weight of the term asking that an EQ added to the audio moves the decoded curve "
                             f"by that EQ (default {DEFAULT_CONFIG['difference_weight']})")
    parser.add_argument("--seed", type=int, default=DEFAULT_CONFIG["seed"])
    parser.add_argument("--threads", type=int, default=DEFAULT_CONFIG["threads"], help="torch threads (default 1)")
    parser.add_argument("--music-dir", help="music cache (default $SEMEQ_MUSIC_DIR or ~/.cache/semeq/music)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--evaluate", nargs="?", const="", metavar="DIR",
                        help="evaluate instead of training: audio files in DIR, or without DIR the validation tracks")
    evaluation.add_evaluation_options(parser)


def run(args):
    torch.set_num_threads(args.threads)
    if args.evaluate is not None:
        evaluation.run_evaluation(args, args.evaluate or None)
        return 0
    space = load_eqspace(args.eqspace)
    config = dict(DEFAULT_CONFIG, mix=args.mix, seed=args.seed, threads=args.threads, cycle_weight=args.cycle_weight,
                  difference_weight=args.difference_weight)
    if args.smoke:
        config.update(SMOKE_CONFIG)
    if args.steps is not None:
        config["steps"] = args.steps
    model, data_sha256, seconds = train(config, space, args.music_dir, progress=not args.no_progress)
    per_file, eqs = (1, 2) if args.smoke else (args.windows_per_file, args.eqs_per_clip)
    report = evaluation.evaluate([], space, None, per_file, eqs, music_dir=args.music_dir, models={"model": model})
    metrics = {
        "validation": report["analysers"]["model"],
        "ltas_baseline": report["analysers"]["ltas"],
        "validation_tracks": report["source"]["validation_tracks"],
        "n_clips": report["n_clips"], "eqs_per_clip": report["eqs_per_clip"],
        "generated_holdout": generated_holdout_losses(model, space, config["mix"], 8 if args.smoke else 256,
                                                              config["seed"], args.music_dir),
    }
    data_sha256.update(report["data_sha256"])
    data_sha256.update({f"{k}.deb": v for k, v in report["source"]["deb_sha256"].items()})
    config.update(latent_dim=space.latent_dim, train_seconds=round(seconds, 1), smoke=args.smoke,
                  eqspace=args.eqspace, eqspace_sha256=sha256_file(args.eqspace), eqspace_data_sha256=space.data_sha256,
                  command=" ".join(["semeq-train audio"] + [shlex.quote(a) for a in sys.argv[2:]]))
    path = save_checkpoint(model, args.out, config, data_sha256, metrics)
    analysers = {"model": metrics["validation"], "ltas": metrics["ltas_baseline"]}
    print(evaluation.format_table({**report, "analysers": analysers}))
    print(f"trained in {seconds:.0f} s; wrote {path}")
    return 0
