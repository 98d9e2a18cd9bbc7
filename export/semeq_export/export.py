"""Model specs + facts → a validated bundle folder (ONNX files, parity, manifest, final load check)."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch

from semeq_rt.bundle import FORMAT_VERSION, MANIFEST_NAME, load_bundle

from .manifest import build_manifest, metadata_props, write_manifest
from .onnx_file import IR_VERSION, OPSET, export_module, set_metadata
from .parity import cpu_session, max_abs, ort_outputs, require, torch_outputs


def measure_parity(spec, path: Path) -> dict:
    """ORT vs the trained PyTorch module on the spec's random and real inputs; ParityError past a
    tolerance.

    The reference is the module evaluated in float64, i.e. the function itself: the float32 module
    has rounding errors of its own (its direct 4096-point DFT on a pure tone: ~1e-4 on the latent),
    so two float32 implementations cannot be held to 1e-4 of each other. The difference to the
    float32 module (torch eager as trained) is measured and recorded too.
    """
    session = cpu_session(path)
    result = {}
    for kind, inputs in (("random", spec.random_inputs), ("real", spec.real_inputs)):
        onnx_out = ort_outputs(session, inputs)
        exact = torch_outputs(spec.reference, inputs, float64=True)
        eager = torch_outputs(spec.reference, inputs, float64=False)
        for check, o, e, f in zip(spec.checks, onnx_out, exact, eager):
            measured = max_abs(o / check.scale, e / check.scale)
            what = f"{check.name} ({kind} inputs{', ' + check.unit if check.unit else ''})"
            result[f"max_abs_{check.name}_{kind}"] = require(spec.file, what, measured, check.tolerance)
            result[f"max_abs_{check.name}_{kind}_vs_float32_torch"] = max_abs(o / check.scale, f / check.scale)
            result[f"max_abs_{check.name}_{kind}_float32_torch_vs_float64"] = max_abs(f / check.scale, e / check.scale)
    result["reference"] = ("max_abs_<output>_<inputs>: |ONNX Runtime - trained PyTorch module in float64| "
                           "(checked against tolerances); _vs_float32_torch: against the module in float32 "
                           "(torch eager as trained); _float32_torch_vs_float64: that module's own rounding")
    result["tolerances"] = {c.name: c.tolerance for c in spec.checks}
    result["units"] = {c.name: c.unit or "absolute" for c in spec.checks}
    result["inputs"] = {"random": len(spec.random_inputs), "real": len(spec.real_inputs),
                        "real_description": spec.real_inputs_desc}
    return result


def _model_entry(spec, parity: dict) -> dict:
    return {"file": spec.file, "opset": OPSET, "ir_version": IR_VERSION, "inputs": spec.inputs,
            "outputs": spec.outputs, "parity": parity}


def _rewrite_metadata(path: Path, metadata: dict) -> None:
    model = onnx.load(str(path))
    set_metadata(model, metadata)
    onnx.save(model, str(path))


def _same_outputs_through_loader(specs, folder: Path) -> None:
    """The bundle as semeq_rt loads it gives what the parity sessions gave (catches a metadata rewrite
    or a manifest that does not describe the files)."""
    bundle = load_bundle(folder, providers=["CPUExecutionProvider"])
    for spec in specs:
        sample = np.ascontiguousarray(spec.real_inputs[:8], dtype=np.float32)
        expected = cpu_session(folder / spec.file).run(None, {spec.inputs[0]["name"]: sample})
        got = bundle.sessions[spec.role].run(None, {spec.inputs[0]["name"]: sample})
        for e, g in zip(expected, got):
            if not np.array_equal(e, g):
                raise RuntimeError(f"{folder / spec.file}: semeq_rt's session disagrees with a plain one")


def write_bundle(specs: list, out_dir, *, latent_dim: int, audio: dict, neutral_reference: dict,
                 terms: list, training: dict, command: str, extra: dict | None = None) -> dict:
    """Export ``specs`` into ``out_dir`` as a bundle; returns its manifest.

    Everything is written and checked in a staging folder first, so a failed export (parity, checker,
    loader) leaves ``out_dir`` as it was.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        models = {}
        for spec in specs:
            path = staging / spec.file
            example = torch.from_numpy(np.ascontiguousarray(spec.real_inputs[:2], dtype=np.float32))
            export_module(spec.module, (example,), spec.inputs, spec.outputs,
                          {"semeq.role": spec.role, "semeq.format_version": str(FORMAT_VERSION)}, path, spec.doc)
            models[spec.role] = _model_entry(spec, measure_parity(spec, path))
        manifest = build_manifest(latent_dim=latent_dim, audio=audio, neutral_reference=neutral_reference,
                                  terms=terms, models=models, training=training, command=command,
                                  extra=extra)
        for spec in specs:
            _rewrite_metadata(staging / spec.file, metadata_props(manifest, spec.role))
        write_manifest(manifest, staging)
        _same_outputs_through_loader(specs, staging)
        out_dir.mkdir(exist_ok=True)
        for name in [s.file for s in specs] + [MANIFEST_NAME]:
            shutil.move(str(staging / name), str(out_dir / name))
        return manifest
    finally:
        shutil.rmtree(staging, ignore_errors=True)
