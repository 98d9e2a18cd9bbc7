"""The bundle's manifest.json (format in docs/bundle.md) and the metadata_props of its ONNX files."""
from __future__ import annotations

import datetime
import json
import math
from pathlib import Path

import numpy as np

from semeq_rt import __version__, eqdef
from semeq_rt.bundle import FORMAT, FORMAT_VERSION, MANIFEST_NAME, model_roles, sha256_file

#: Per-file facts that a model file cannot carry about itself.
FILE_ONLY_KEYS = ("sha256", "size_bytes")


def jsonable(value):
    """``value`` with numpy/torch scalars and arrays, tuples and paths turned into JSON types; float32
    values are written in their shortest round-trip form (16.12, not 16.1200008392334)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if type(value).__module__.split(".")[0] == "torch":
        value = value.detach().cpu().numpy()
    if isinstance(value, (np.ndarray, np.generic)):
        if value.dtype == np.float32:
            return value.astype(str).astype(np.float64).tolist()  # numpy prints float32 shortest
        return jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def eq_section() -> dict:
    return {
        "reference_sample_rate": eqdef.REFERENCE_SAMPLE_RATE,
        "shelf_q": eqdef.SHELF_Q,
        "freq_grid_hz": eqdef.FREQ_GRID.tolist(),
        "param_layout": [{"name": n, "unit": u, "low": lo, "high": hi} for n, u, lo, hi in eqdef.PARAM_LAYOUT],
    }


def build_manifest(*, latent_dim: int, audio: dict, neutral_reference: dict, terms: list, models: dict,
                   training: dict, command: str, extra: dict | None = None) -> dict:
    """The manifest without file hashes (``write_manifest`` adds them); ``extra``: further sections."""
    return jsonable({
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "producer": {"name": "semeq-export", "version": __version__, "command": command,
                     "created_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")},
        "latent_dim": int(latent_dim),
        "audio": audio,
        "eq": eq_section(),
        "neutral_reference": neutral_reference,
        "terms": terms,
        "models": models,
        "training": training,
        **(extra or {}),
    })


def metadata_props(manifest: dict, role: str) -> dict:
    """What goes into one ONNX file's metadata_props: its role, and the manifest minus file hashes and
    the text section (the open vocabulary is the Python runtime's, not the models')."""
    without_files = {k: v for k, v in manifest.items() if k != "text"}
    without_files["models"] = {r: {k: v for k, v in entry.items() if k not in FILE_ONLY_KEYS}
                               for r, entry in manifest["models"].items()}
    return {
        "semeq.role": role,
        "semeq.format_version": str(FORMAT_VERSION),
        "semeq.manifest": json.dumps(without_files, sort_keys=True),
    }


def write_manifest(manifest: dict, folder: Path) -> dict:
    """Adds each model file's SHA-256 and size, then writes manifest.json; returns the manifest."""
    for entry in manifest["models"].values():
        path = Path(folder) / entry["file"]
        entry["sha256"] = sha256_file(path)
        entry["size_bytes"] = path.stat().st_size
    (Path(folder) / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest



def restamp_models(manifest: dict, folder: Path) -> dict:
    """After a step changed ``manifest``: every model file in ``folder`` gets the manifest in its metadata,
    then manifest.json is written with the files' new hashes; returns the manifest."""
    import onnx

    from .onnx_file import set_metadata

    manifest = jsonable(manifest)
    for role in model_roles(manifest):
        path = Path(folder) / manifest["models"][role]["file"]
        model = onnx.load(str(path))
        set_metadata(model, metadata_props(manifest, role))
        onnx.save(model, str(path))
    return write_manifest(manifest, folder)
