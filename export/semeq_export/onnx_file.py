"""One torch module → one checked ONNX file that ONNX Runtime ≥ 1.17 loads, with semeq's metadata."""
from __future__ import annotations

import io
import warnings
from pathlib import Path

import onnx
import torch

#: Lowest opset the bundle needs (LayerNormalization, STFT are in 17).
OPSET = 17
#: onnx 1.23 stamps IR 14, which ONNX Runtime 1.31 refuses; IR 9 is read by ONNX Runtime ≥ 1.15.
IR_VERSION = 9
PRODUCER = "semeq-export"


def tensor_spec(name: str, shape) -> dict:
    """Manifest entry of one float32 tensor; the first axis is the dynamic batch axis."""
    return {"name": name, "shape": ["batch", *[int(d) for d in shape]], "dtype": "float32"}


def export_module(module: torch.nn.Module, example_inputs: tuple, inputs: list, outputs: list,
                  metadata: dict, path: Path, doc: str, dynamic_axes: dict | None = None) -> onnx.ModelProto:
    """Trace ``module`` (eval mode) to ``path``; ``inputs``/``outputs`` are ``tensor_spec`` dicts.

    ``dynamic_axes`` (tensor name → {axis: name}, as torch.onnx.export takes it) defaults to axis 0 of
    every input and output being "batch".

    Sets the IR version, writes ``metadata`` (str → str) into metadata_props, and runs the full
    checker (shape inference included) before saving.
    """
    module = module.eval()
    dynamic_axes = dynamic_axes or {t["name"]: {0: "batch"} for t in inputs + outputs}
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of the dynamo one, which needs onnxscript;
        # it is the one that works with the `train` extra as it is.
        warnings.simplefilter("ignore", DeprecationWarning)
        # eqdef's constants (the frequency grid) become graph constants, which is what is wanted.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(
            module, example_inputs, buffer, input_names=[t["name"] for t in inputs],
            output_names=[t["name"] for t in outputs], dynamic_axes=dynamic_axes,
            opset_version=OPSET, do_constant_folding=True, dynamo=False,
        )
    model = onnx.load_from_string(buffer.getvalue())
    model.ir_version = IR_VERSION
    model.producer_name = PRODUCER
    model.doc_string = doc
    set_metadata(model, metadata)
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as e:
        raise ValueError(f"{path}: the exported graph fails the ONNX checker: {e}") from None
    onnx.save(model, str(path))
    return model


def set_metadata(model: onnx.ModelProto, metadata: dict) -> None:
    """Replace the model's metadata_props by ``metadata`` (str → str)."""
    del model.metadata_props[:]
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
