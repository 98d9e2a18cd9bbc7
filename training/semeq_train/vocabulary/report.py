"""docs/vocabulary.md's tables and figures from `semeq-train vocab`'s output and a bundle that carries it.

    python -m semeq_train.vocabulary.report runs/vocab/vocabulary.json --bundle python/semeq_rt/models/default
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from semeq_rt import eqdef, vocabulary  # noqa: E402
from semeq_rt.semantics import get_bundle, resolve_blend  # noqa: E402


def _curve(bundle, latent):
    _, response = bundle.decode(np.asarray(latent, dtype=np.float32))
    return response - response[(eqdef.FREQ_GRID >= 50) & (eqdef.FREQ_GRID <= 16000)].mean()


def unseen_table_and_plot(bundle, words, path) -> str:
    rows = ["| text | confidence | nearest words (weight) | 100 Hz | 1 kHz | 8 kHz |", "|---|---|---|---|---|---|"]
    placed = []
    for text in words:
        try:
            (name,) = resolve_blend(text, bundle)
        except vocabulary.NotASoundError:
            conf = vocabulary.placer(bundle)
            sim = conf.pool @ conf.encoder.embed([conf.template.format(text)])[0]
            c = vocabulary.placement.confidence(sim[None], conf.slope, conf.intercept)[0]
            rows.append(f"| {text} | {c:.2f} | refused | | | |")
            continue
        p = vocabulary.placer(bundle).place(name)
        curve = _curve(bundle, p.centroid)
        at = [float(np.interp(f, eqdef.FREQ_GRID, curve)) for f in (100, 1000, 8000)]
        near = ", ".join(f"{w} {x:.0%}" for w, x in p.neighbours[:3])
        rows.append(f"| {text} | {p.confidence:.2f} | {near} | {at[0]:+.1f} | {at[1]:+.1f} | {at[2]:+.1f} |")
        placed.append((text, curve))
    cols, rows_ = 6, math.ceil(len(placed) / 6)
    fig, axes = plt.subplots(rows_, cols, figsize=(2.1 * cols, 1.6 * rows_), sharey=True, squeeze=False)
    for ax, (text, curve) in zip(axes.flat, placed):
        ax.semilogx(eqdef.FREQ_GRID, curve, color="C1")
        ax.axhline(0, color="0.7", lw=0.5)
        ax.set_title(text, fontsize=8)
        ax.set_xlim(20, 20000)
        ax.set_xticks([100, 1000, 10000], ["100", "1k", "10k"], fontsize=6)
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[len(placed):]:
        ax.axis("off")
    fig.suptitle("Words absent from the data sets, placed from their text: decoded EQ (dB, level removed)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return "\n".join(rows)


def cv_plot(per_word: dict, path) -> None:
    fig, ax = plt.subplots(figsize=(5.2, 3.2))
    methods = (("text_decoded", "text placement, decoded EQ"), ("text", "text placement, weighted curves"),
               ("mean_curve", "mean curve of all words"), ("spelling", "nearest by spelling"))
    data = [[w[m]["r"] for w in per_word.values()] for m, _ in methods]
    ax.boxplot(data, orientation="horizontal")
    ax.set_yticks(range(1, len(methods) + 1), [label for _, label in methods], fontsize=8)
    ax.axvline(0.6, color="C3", lw=0.8, ls="--")
    ax.set_xlabel("Pearson r with the held-out word's human curve (50 Hz–16 kHz)", fontsize=8)
    ax.set_title(f"Word-grouped 5-fold CV, {len(per_word)} words with ≥ 5 contributions", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("vocabulary")
    parser.add_argument("--bundle")
    parser.add_argument("--img", default="docs/img")
    args = parser.parse_args(argv)
    built = json.loads(Path(args.vocabulary).read_text())
    bundle = get_bundle(args.bundle)
    img = Path(args.img)
    m = built["metrics"]
    cv_plot(m["cross_validation"]["per_word"], img / "vocabulary-cv.png")
    print(unseen_table_and_plot(bundle, m["unseen_probe_words"], img / "vocabulary-unseen.png"))
    print(json.dumps({k: v for k, v in m.items() if k not in ("cross_validation",)}, indent=1)[:6000])
    print(json.dumps(m["cross_validation"]["median"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
