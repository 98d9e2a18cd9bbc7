"""`semeq-export decoder-params --bundle DIR`: the bundle's eq_decoder cut to its ``params`` output
(role eq_decoder_params, docs/bundle.md).

An adaptive analysis decodes two latents and reads only their settings; ONNX Runtime computes every
node of a graph whatever outputs are asked for, and 488 of the decoder's 619 nodes compute the
121-point response. The cut graph (onnx.utils.extract_model: the same nodes and weights up to
``params``) runs in about a quarter of the time. `semeq-export` (from checkpoints) runs this step too.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnx.utils

from semeq_rt.bundle import MANIFEST_NAME, model_roles, validate_bundle

from .manifest import restamp_models
from .parity import PARAM_TOLERANCE_OF_RANGE, cpu_session, max_abs

ROLE = "eq_decoder_params"
SOURCE_ROLE = "eq_decoder"
N_RANDOM = 256
#: How the model was made, as its manifest entry records it (the bundle folder left out: the files carry
#: the manifest, and the same bundle gives the same bytes wherever it lies).
COMMAND = "semeq-export decoder-params --bundle <this bundle>"


def _parity_latents(manifest: dict, seed: int = 0) -> tuple:
    """(random latents around the terms' centroids, the centroids): the inputs both graphs are run on."""
    centroids = np.array([t["centroid"] for t in manifest["terms"]], dtype=np.float32)
    mean, std = centroids.mean(0), centroids.std(0) + 1e-3
    rng = np.random.default_rng(seed)
    random = (mean + 2.0 * std * rng.standard_normal((N_RANDOM, centroids.shape[1]))).astype(np.float32)
    return random, centroids


def cut_decoder(source: Path, target: Path, manifest: dict) -> dict:
    """Write ``source``'s params subgraph to ``target``; returns its manifest entry (parity against the
    source's params on random latents and the term centroids, as a fraction of each parameter's range)."""
    onnx.utils.extract_model(str(source), str(target), ["latent"], ["params"])
    model = onnx.load(str(target))
    model.doc_string = ("semeq EQ decoder, settings only: latent → 13 EQ parameters (eqdef layout); "
                        "eq_decoder's graph up to its params output")
    onnx.save(model, str(target))
    entry = manifest["models"][SOURCE_ROLE]
    scale = np.array([p["high"] - p["low"] for p in manifest["eq"]["param_layout"]])
    full, cut = cpu_session(source), cpu_session(target)
    parity = {}
    for kind, latents in zip(("random", "real"), _parity_latents(manifest)):
        expected = full.run(["params"], {"latent": latents})[0]
        got = cut.run(None, {"latent": latents})[0]
        measured = max_abs(got / scale, expected / scale)
        if not measured <= PARAM_TOLERANCE_OF_RANGE:
            raise ValueError(f"{target.name}: its params differ from {SOURCE_ROLE}'s by {measured:.3g} of a "
                             f"parameter's range on {kind} latents (tolerance {PARAM_TOLERANCE_OF_RANGE:g})")
        parity[f"max_abs_params_{kind}"] = measured
    parity.update(reference=f"max_abs_params_<inputs>: |this model - {SOURCE_ROLE}'s params output| in ONNX Runtime, "
                            "as a fraction of each parameter's range",
                  tolerances={"params": PARAM_TOLERANCE_OF_RANGE}, units={"params": "fraction of range"},
                  inputs={"random": N_RANDOM, "real": len(manifest["terms"]),
                          "real_description": "the terms' centroids"})
    return {"file": target.name, "opset": entry["opset"], "ir_version": entry["ir_version"],
            "inputs": entry["inputs"], "outputs": [o for o in entry["outputs"] if o["name"] == "params"],
            "derived_from": SOURCE_ROLE, "parity": parity}


def add_decoder_params(bundle_dir) -> dict:
    """Add (or redo) eq_decoder_params in the bundle at ``bundle_dir``; returns the new manifest. Written
    in a staging folder first: a failure leaves the bundle as it was."""
    bundle_dir = Path(bundle_dir)
    manifest = validate_bundle(bundle_dir)
    staging = Path(tempfile.mkdtemp(prefix=f".{bundle_dir.name}-", dir=bundle_dir.parent)) / "bundle"
    try:
        shutil.copytree(bundle_dir, staging)
        manifest["models"][ROLE] = cut_decoder(staging / manifest["models"][SOURCE_ROLE]["file"],
                                               staging / f"{ROLE}.onnx", manifest)
        manifest["models"][ROLE]["command"] = COMMAND
        manifest = restamp_models(manifest, staging)
        validate_bundle(staging)
        for name in [manifest["models"][r]["file"] for r in model_roles(manifest)] + [MANIFEST_NAME]:
            shutil.move(str(staging / name), str(bundle_dir / name))
        return manifest
    finally:
        shutil.rmtree(staging.parent, ignore_errors=True)


def main(argv: list) -> int:
    """`semeq-export decoder-params ARGS` (called by semeq_export.cli with ARGS)."""
    parser = argparse.ArgumentParser(prog="semeq-export decoder-params", description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", required=True,
                        help="bundle folder to add it to (e.g. python/semeq_rt/models/default)")
    args = parser.parse_args(argv)
    try:
        manifest = add_decoder_params(args.bundle)
    except (FileNotFoundError, ValueError) as e:
        print(f"semeq-export decoder-params: error: {e}", file=sys.stderr)
        return 1
    entry = manifest["models"][ROLE]
    path = Path(args.bundle) / entry["file"]
    nodes = len(onnx.load(str(path)).graph.node)
    parity = entry["parity"]
    print(f"wrote {path}: {nodes} nodes; max |difference| to {SOURCE_ROLE}'s params "
          f"{parity['max_abs_params_random']:.2g} / {parity['max_abs_params_real']:.2g} of range (random / centroids)")
    return 0
