"""semeq_rt: the semeq runtime — semantic EQ on audio, with a native SIMD filter bank.

Public names are imported on first use, so ``import semeq_rt`` stays light (ONNX Runtime is loaded
only when a model is needed).
"""
from importlib import import_module

__version__ = "0.1.0"

# public name → submodule that defines it
_EXPORTS = {
    "FilterBank": "filterbank",
    "Processor": "processor",
    "analyze": "analysis",
    "terms": "semantics",
    "process_file": "fileio",
    "load_bundle": "bundle",
    "BundleError": "bundle",
}

__all__ = sorted(_EXPORTS) + ["eqdef"]


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    if name == "eqdef":
        return import_module(".eqdef", __name__)
    raise AttributeError(f"module 'semeq_rt' has no attribute {name!r}")
