"""`semeq-export vocabulary`: the open vocabulary (`semeq-train vocab`'s output) into a bundle.

Writes the text encoder (ONNX + tokenizer, held to the PyTorch reference by ``text_model``; the 24 MB ONNX
file goes to the models folder, ``semeq_rt.text.models_dir``, not into the bundle), the
neighbours' and the confidence phrases' embeddings as that ONNX file computes them (each within
``text_model.MIN_COSINE`` of the embeddings the vocabulary was fitted on), the known words as the
manifest's terms and its ``text`` section, and rewrites the model files' metadata. Everything is checked
in a staging folder and moved into the bundle only when the result loads and places a word.
"""
from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from semeq_rt.bundle import DEFAULT_BUNDLE_DIR, MANIFEST_NAME, load_bundle, model_roles, sha256_file, validate_bundle
from semeq_rt.text import TextEncoder, cached_name, models_dir
from semeq_train.vocabulary.build import eq_space_scored_terms, graph_sha256

from .manifest import restamp_models
from .text_model import MIN_COSINE, export_text_encoder

VOCABULARY_FORMAT = "semeq-vocabulary/1"
NEIGHBOURS_FILE = "text_neighbours.npy"
#: Term fields the manifest keeps of each known word.
TERM_KEYS = ("name", "centroid", "spread", "count", "counts", "agreement", "audealize_agreement", "params",
             "curve_db")


def _read_vocabulary(path: Path, bundle_dir: Path, manifest: dict) -> dict:
    vocabulary = json.loads(Path(path).read_text(encoding="utf-8"))
    if vocabulary.get("format") != VOCABULARY_FORMAT:
        raise ValueError(f"{path} is not a vocabulary of format {VOCABULARY_FORMAT!r} (`semeq-train vocab` writes one)")
    for role, sha in vocabulary["config"]["eq_graphs_sha256"].items():
        if graph_sha256(bundle_dir / manifest["models"][role]["file"]) != sha:
            raise ValueError(f"{path} was built on another EQ space (its {role} differs from this bundle's): "
                             "rerun `semeq-train vocab --bundle` on this bundle")
    return vocabulary


def text_section(vocabulary: dict, encoder_entry: dict, embeddings_sha256: str) -> dict:
    words = vocabulary["words"]
    return {
        "encoder": encoder_entry,
        "template": vocabulary["config"]["template"],
        "temperature": vocabulary["temperature"],
        "confidence": {"slope": vocabulary["confidence"]["slope"], "intercept": vocabulary["confidence"]["intercept"],
                       "neighbours": vocabulary["config"]["neighbours"],
                       "phrases": vocabulary["confidence"]["phrases"]},  # rows after the words
        "neighbours": {
            "file": NEIGHBOURS_FILE, "sha256": embeddings_sha256, "words": [w["name"] for w in words],
            "others": [{k: w[k] for k in ("name", "centroid", "spread", "count")} for w in words if not w["known"]],
        },
        "training": {
            "command": vocabulary["config"]["command"], "data_sha256": vocabulary["data_sha256"],
            "min_support": vocabulary["min_support"],
            "cross_validation": vocabulary["metrics"]["cross_validation"]["median"],
            "refusal": {k: v for k, v in vocabulary["metrics"]["refusal"].items() if not isinstance(v, list)},
        },
    }


def add_vocabulary(bundle_dir, vocabulary_path, command: str) -> dict:
    """Put the vocabulary into the bundle at ``bundle_dir``; returns the new manifest."""
    bundle_dir = Path(bundle_dir)
    manifest = validate_bundle(bundle_dir)
    vocabulary = _read_vocabulary(Path(vocabulary_path), bundle_dir, manifest)
    staging = Path(tempfile.mkdtemp(prefix=f".{bundle_dir.name}-", dir=bundle_dir.parent))
    try:
        for name in [manifest["models"][r]["file"] for r in model_roles(manifest)]:
            shutil.copy2(bundle_dir / name, staging / name)
        encoder_entry = export_text_encoder(staging)
        encoder = TextEncoder(staging / encoder_entry["file"], staging / encoder_entry["tokenizer"],
                              max_tokens=encoder_entry["max_tokens"])
        # the neighbours' rows, then the confidence pool's phrases
        names = [w["name"] for w in vocabulary["words"]] + vocabulary["confidence"]["phrases"]
        embeddings = encoder.embed([vocabulary["config"]["template"].format(n) for n in names])
        fitted = np.concatenate([vocabulary["embeddings"], vocabulary["confidence"]["phrase_embeddings"]])
        cosine = np.sum(embeddings.astype(np.float64) * fitted, axis=1)
        if cosine.min() < MIN_COSINE:
            worst = names[int(np.argmin(cosine))]
            raise ValueError(f"the ONNX text encoder's embedding of {worst!r} is at cosine {cosine.min():.5f} "
                             f"of the one the vocabulary was fitted on (needs ≥ {MIN_COSINE})")
        np.save(staging / NEIGHBOURS_FILE, embeddings.astype(np.float32))
        manifest["terms"] = [{k: w[k] for k in TERM_KEYS} for w in vocabulary["words"] if w["known"]]
        scorer = manifest["term_scorer"]
        n = len(eq_space_scored_terms(manifest))  # the EQ space's, then the vocabulary's
        for key in ("terms", "slope_boost", "slope_cut", "intercept"):
            scorer[key] = scorer[key][:n] + ([*vocabulary["scorers"]] if key == "terms" else
                                             [v[key] for v in vocabulary["scorers"].values()])
        scorer["eq_space_terms"] = n
        manifest["text"] = text_section(vocabulary, encoder_entry, sha256_file(staging / NEIGHBOURS_FILE))
        manifest["text"]["encoder"]["neighbours_min_cosine"] = float(cosine.min())
        manifest["text"]["training"]["export_command"] = command
        manifest = restamp_models(manifest, staging)  # the models' metadata carry the manifest
        from semeq_rt.semantics import resolve_blend

        resolve_blend("glassy", load_bundle(staging, providers=["CPUExecutionProvider"]))
        names = [manifest["models"][r]["file"] for r in model_roles(manifest)]
        names += [encoder_entry["tokenizer"], NEIGHBOURS_FILE, MANIFEST_NAME]
        for name in names:
            shutil.move(str(staging / name), str(bundle_dir / name))
        _install(staging / encoder_entry["file"], encoder_entry)  # 24 MB: kept out of the repository
        return manifest
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _install(encoder: Path, entry: dict) -> Path:
    """Move an exported text encoder to the models folder under its bundle's name for it."""
    target = models_dir() / cached_name(entry)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    shutil.move(str(encoder), str(partial))
    partial.replace(target)
    return target


def install_text_encoder(bundle_dir) -> tuple:
    """Export the text encoder of the bundle at ``bundle_dir`` (its manifest's ``text`` section) into
    the models folder, where ``semeq_rt.text.find_text_encoder`` finds it; returns (path, the lowest
    cosine of its embeddings to the bundle's stored ones, whether its bytes equal the bundle's hash)."""
    bundle_dir = Path(bundle_dir)
    manifest = validate_bundle(bundle_dir)
    if "text" not in manifest:
        raise ValueError(f"{bundle_dir} has no open vocabulary (no 'text' section): nothing to export")
    text = manifest["text"]
    names = text["neighbours"]["words"] + text["confidence"]["phrases"]
    stored = np.load(bundle_dir / text["neighbours"]["file"], allow_pickle=False).astype(np.float64)
    with tempfile.TemporaryDirectory() as tmp:
        entry = export_text_encoder(Path(tmp))
        encoder = TextEncoder(Path(tmp) / entry["file"], bundle_dir / text["encoder"]["tokenizer"],
                              max_tokens=text["encoder"]["max_tokens"])
        cosine = float(np.min(np.sum(encoder.embed([text["template"].format(n) for n in names]) * stored, axis=1)))
        if cosine < MIN_COSINE:
            raise ValueError(f"the exported text encoder reproduces {bundle_dir}'s stored embeddings only to cosine "
                             f"{cosine:.5f} (needs ≥ {MIN_COSINE})")
        path = _install(Path(tmp) / entry["file"], text["encoder"])
    return path, cosine, entry["sha256"] == text["encoder"]["sha256"]


def install_main(argv: list) -> int:
    """`semeq-export text-encoder [--bundle DIR]`."""
    parser = argparse.ArgumentParser(prog="semeq-export text-encoder",
                                     description="Export a bundle's text encoder (all-MiniLM-L6-v2 → ONNX) into the "
                                                 "models folder ($SEMEQ_MODELS_DIR or ~/.cache/semeq/models)")
    parser.add_argument("--bundle", help="the bundle (default: the shipped one)")
    args = parser.parse_args(argv)
    try:
        path, cosine, same = install_text_encoder(args.bundle or DEFAULT_BUNDLE_DIR)
    except (FileNotFoundError, ValueError) as e:
        print(f"semeq-export text-encoder: error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {path} (embeddings within cosine {cosine:.5f} of the bundle's; "
          f"{'the same bytes as' if same else 'other bytes than'} the bundle's export)")
    return 0


def main(argv: list) -> int:
    """`semeq-export vocabulary ARGS` (called by semeq_export.cli with ARGS)."""
    parser = argparse.ArgumentParser(prog="semeq-export vocabulary", description=__doc__.splitlines()[0])
    parser.add_argument("--vocabulary", default="runs/vocab/vocabulary.json",
                        help="`semeq-train vocab`'s output (default runs/vocab/vocabulary.json)")
    parser.add_argument("--bundle", required=True,
                        help="bundle folder to add it to (e.g. python/semeq_rt/models/default)")
    args = parser.parse_args(argv)
    command = shlex.join(["semeq-export", "vocabulary", *argv])
    try:
        manifest = add_vocabulary(args.bundle, args.vocabulary, command)
    except (FileNotFoundError, ValueError) as e:
        print(f"semeq-export vocabulary: error: {e}", file=sys.stderr)
        return 1
    text = manifest["text"]
    print(f"wrote {args.bundle}: {len(manifest['terms'])} known words, {len(text['neighbours']['words'])} "
          f"neighbours, text encoder {text['encoder']['weights']} (parity min cosine "
          f"{text['encoder']['parity']['min_cosine']:.5f}; neighbours {text['encoder']['neighbours_min_cosine']:.5f})")
    return 0
