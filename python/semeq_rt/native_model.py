"""The engine's model in C++: the bundle's audio head and settings decoder run through ONNX Runtime's C
API inside the extension (``_core.OnnxModel``, the model the plugins run), so that a Processor's analyses
call no Python and its analysis thread never takes the GIL. Available where the extension was built with
ONNX Runtime's headers (docs/processor.md, "Where the models run") and the onnxruntime package ships its
shared library (the PyPI wheels do); elsewhere the Processor calls the same models through ONNX Runtime's
Python API, with the same output."""
from __future__ import annotations

import functools
from pathlib import Path

from . import _core

#: The shared library inside the onnxruntime package (Linux, macOS).
_LIBRARY_PATTERNS = ("libonnxruntime.so.1.*", "libonnxruntime.1.*.dylib")


@functools.lru_cache(maxsize=None)
def onnxruntime_library():
    """Path of the onnxruntime package's shared library, or None where it has none (looked up once)."""
    import onnxruntime

    capi = Path(onnxruntime.__file__).parent / "capi"
    for pattern in _LIBRARY_PATTERNS:
        found = sorted(capi.glob(pattern))
        if found:
            return found[0]
    return None


def native_model(bundle):
    """A ``_core.OnnxModel`` over ``bundle``'s audio head and settings decoder (eq_decoder_params where
    the bundle has it), or None where the extension was built without ONNX Runtime's headers, the
    onnxruntime package has no shared library, or that library lacks the extension's C API version."""
    if not hasattr(_core, "OnnxModel"):
        return None
    library = onnxruntime_library()
    if library is None:
        return None
    models = bundle.manifest["models"]
    decoder = "eq_decoder_params" if "eq_decoder_params" in models else "eq_decoder"
    try:
        return _core.OnnxModel(str(library), str(Path(bundle.path) / models["audio_head"]["file"]),
                               str(Path(bundle.path) / models[decoder]["file"]), decoder == "eq_decoder_params",
                               bundle.latent_dim)
    except RuntimeError:
        return None
