"""The figures of docs/audio-encoder.md, from the packages' tracks and a trained checkpoint:

    python -m semeq_train.audio.figures --checkpoint runs/audio/encoder.pt --out docs/img
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from semeq_rt import eqdef, ltas

from .. import music
from ..eqspace import load_checkpoint as load_eqspace
from . import evaluate as evaluation
from .eq import SafeEqSampler, apply_eq
from .model import load_checkpoint
from .reference import REFERENCE_PACKAGES, track_ltas


def reference_figure(out: Path, plt):
    train, _ = music.split_tracks(music.list_tracks(REFERENCE_PACKAGES))
    curves = track_ltas(train)
    f = eqdef.FREQ_GRID[ltas.BAND_MASK]
    fig, ax = plt.subplots(figsize=(7, 4))
    for c in curves:
        ax.semilogx(f, c[ltas.BAND_MASK], color="0.8", lw=0.7)
    ax.semilogx(f, ltas.MUSIC_REFERENCE_DB[ltas.BAND_MASK], color="C0", lw=2.5,
                label="music reference (training tracks, 1-octave smoothed)")
    ax.semilogx(f, ltas.pink_reference_db()[ltas.BAND_MASK], "--", color="C3", lw=2, label="pink noise (−3 dB/octave)")
    ax.set(xlabel="Hz", ylabel="dB (band mean removed)",
           title=f"1/3-octave LTAS of {len(curves)} training tracks (grey)")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "audio-reference.png", dpi=110)


def recovery_figure(out: Path, plt, model, space):
    clips, names, _ = evaluation.validation_clips(1)
    held_out = SafeEqSampler("test", seed=space.config["seed"], identity_share=0.0, jitter=False)
    params = held_out.params[np.random.default_rng(1).integers(0, len(held_out), 3)]
    clip = clips[len(clips) // 2]
    eq_clips = apply_eq(torch.tensor(clip).expand(3, -1), torch.tensor(params)).numpy()
    analysers = {"audio encoder": evaluation.model_analyser(model), "LTAS baseline": evaluation.ltas_analyser(space)}
    f = eqdef.FREQ_GRID[ltas.BAND_MASK]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), sharey=True)
    for i, ax in enumerate(axes):
        response = eqdef.params_response_db(params[i])[ltas.BAND_MASK]
        ax.semilogx(f, response - response.mean(), "k", lw=2.5, label="held-out EQ e")
        for (name, encode), colour in zip(analysers.items(), ("C0", "C1")):
            change = (space.decode_curve(encode(eq_clips[i: i + 1]))
                      - space.decode_curve(encode(clip[None]))).numpy()[0]
            band = change[ltas.BAND_MASK]
            ax.semilogx(f, band - band.mean(), color=colour, label=f"{name}: decode(enc(e·x)) − decode(enc(x))")
        ax.grid(True, which="both", alpha=0.3)
        ax.set(xlabel="Hz")
    axes[0].set_ylabel("dB (level-free)")
    axes[0].legend(fontsize=7)
    fig.suptitle(f"EQ-change recovery on a validation window of {names[len(clips) // 2].split('/')[-1]}")
    fig.tight_layout()
    fig.savefig(out / "audio-recovery.png", dpi=110)


def tilt_figure(out: Path, plt, model, space):
    clips, _, _ = evaluation.validation_clips(8)
    tilt = evaluation.band_level_tilt(clips)
    warm, bright = (space.term_names.index(t) for t in ("warm", "bright"))
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharex=True)
    for ax, (name, encode) in zip(axes, {"audio encoder": evaluation.model_analyser(model),
                                         "LTAS baseline": evaluation.ltas_analyser(space)}.items()):
        scores = space.term_scores(encode(clips)).numpy()
        ax.scatter(tilt, scores[:, warm], s=12, color="C3", label="warm")
        ax.scatter(tilt, scores[:, bright], s=12, color="C0", label="bright")
        ax.set(title=name, xlabel="measured tilt of 1/3-octave levels, dB/octave", ylabel="term score")
        ax.grid(True, alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(out / "audio-tilt.png", dpi=110)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m semeq_train.audio.figures", description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="runs/audio/encoder.pt")
    parser.add_argument("--eqspace", default=evaluation.DEFAULT_EQSPACE)
    parser.add_argument("--out", default="docs/img")
    args = parser.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model, space = load_checkpoint(args.checkpoint), load_eqspace(args.eqspace)
    reference_figure(out, plt)
    recovery_figure(out, plt, model, space)
    tilt_figure(out, plt, model, space)
    print(f"wrote {out}/audio-reference.png, audio-recovery.png, audio-tilt.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
