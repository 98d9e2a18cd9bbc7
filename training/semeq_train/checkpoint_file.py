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
    found = ckpt.get("format") if isinstance(ckpt, dict) else None
    if found != expected_format:
        family = expected_format.rsplit("/", 1)[0] + "/"
        if isinstance(found, str) and found.startswith(family):
            raise ValueError(f"{path} is an {kind} checkpoint of format {found!r}, written by another version of "
                             f"semeq-train; this one reads {expected_format!r}: retrain with `{train_command}`")
        raise ValueError(f"{path} is not an {kind} checkpoint (expected format {expected_format!r})")
    return ckpt
