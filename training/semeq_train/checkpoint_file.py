"""Reading a semeq checkpoint file (a ``torch.save`` dict tagged with its ``format``) with clear errors."""
from __future__ import annotations

from pathlib import Path

import torch


def read_checkpoint(path, expected_format: str, kind: str, train_command: str) -> dict:
    """The dict saved at ``path``, after checking that it exists and is a ``kind`` checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{kind} checkpoint {path} not found (train one with `{train_command}`)")
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(ckpt, dict) or ckpt.get("format") != expected_format:
        raise ValueError(f"{path} is not an {kind} checkpoint (expected format {expected_format!r})")
    return ckpt
