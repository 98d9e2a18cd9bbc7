"""What the exporter needs to know about one model of the bundle."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import nn


@dataclass
class OutputCheck:
    """Parity requirement on one output: |ORT − torch| / ``scale`` ≤ ``tolerance``."""
    name: str
    tolerance: float
    scale: np.ndarray | float = 1.0  # per-element divisor (e.g. each parameter's range)
    unit: str = ""


@dataclass
class ModelSpec:
    role: str                 # key under the manifest's "models", and the file's stem
    module: nn.Module         # batch-first float32 in → output(s): what is traced into the ONNX graph
    reference: nn.Module      # the trained model in PyTorch that the ONNX file must agree with
    inputs: list              # onnx_file.tensor_spec dicts (one input)
    outputs: list
    checks: list              # OutputCheck per output, same order
    doc: str                  # the ONNX file's doc_string
    random_inputs: np.ndarray
    real_inputs: np.ndarray
    real_inputs_desc: str     # what the real inputs are, for the manifest

    @property
    def file(self) -> str:
        return f"{self.role}.onnx"
