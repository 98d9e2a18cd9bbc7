"""ONNX Runtime vs PyTorch on the same inputs: the measured differences, and the bundle's tolerances."""
from __future__ import annotations

import copy

import numpy as np
import onnxruntime as ort
import torch

#: Largest |ORT − torch| accepted on a latent, and on a dB response (issue 5's parity targets).
LATENT_TOLERANCE = 1e-4
RESPONSE_TOLERANCE_DB = 0.01
#: Largest |ORT − torch| on an EQ parameter, as a fraction of its range (float32 rounding of a 20 kHz
#: frequency alone is ~1e-3 Hz, so parameters are compared relative to their range).
PARAM_TOLERANCE_OF_RANGE = 1e-4


class ParityError(RuntimeError):
    pass


def cpu_session(path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def torch_outputs(module: torch.nn.Module, inputs: np.ndarray, float64: bool, batch: int = 64) -> list:
    """Outputs of ``module`` (eval mode) on float32 ``inputs``, run in float32 or (on a copy) in float64."""
    module = copy.deepcopy(module).double().eval() if float64 else module.eval()
    parts = []
    with torch.no_grad():
        for start in range(0, len(inputs), batch):
            chunk = torch.from_numpy(np.ascontiguousarray(inputs[start:start + batch], dtype=np.float32))
            out = module(chunk.double() if float64 else chunk)
            parts.append([t.double().numpy() for t in (out if isinstance(out, tuple) else (out,))])
    return [np.concatenate(column) for column in zip(*parts)]


def ort_outputs(session: ort.InferenceSession, inputs: np.ndarray, batch: int = 64) -> list:
    name = session.get_inputs()[0].name
    parts = [session.run(None, {name: np.ascontiguousarray(inputs[start:start + batch], dtype=np.float32)})
             for start in range(0, len(inputs), batch)]
    return [np.concatenate(column) for column in zip(*parts)]


def max_abs(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))


def require(model_file: str, what: str, measured: float, tolerance: float) -> float:
    """``measured``, or ParityError if it exceeds ``tolerance`` (or is not finite)."""
    if not np.isfinite(measured) or measured > tolerance:
        raise ParityError(f"{model_file}: ONNX Runtime and PyTorch differ by {measured:.3g} on {what} "
                          f"(tolerance {tolerance:g})")
    return measured
