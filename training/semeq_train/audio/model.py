"""The audio encoder: raw audio window → latent of the semantic EQ space, and its checkpoint format.

``AudioEncoder`` = ``BalanceFrontEnd`` (fixed, = ``semeq_rt.ltas.balance_db``) → MLP head trained to give
the EQ encoder's latent of that balance. A plain float32 ``nn.Module`` (matmul, reshape, cat, log10,
clamp, gather, Linear, SiLU) for ``torch.onnx.export`` with a dynamic batch axis.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from semeq_rt import ltas

from ..checkpoint_file import read_checkpoint
from .frontend import BalanceFrontEnd

CHECKPOINT_FORMAT = "semeq-audio-encoder/2"  # 2: frames back to back, level coordinate
#: The model's input contract (also written into every checkpoint).
SAMPLE_RATE = ltas.SAMPLE_RATE
WINDOW = 1 << 17   # 2.73 s at 48 kHz; see docs/audio-encoder.md for the choice
HOP = WINDOW // 2  # between windows when a clip is analysed window by window
BALANCE_SCALE_DB = 6.0  # balances are divided by this before the head (music's balances: sd ≈ 6 dB)


class AudioEncoder(nn.Module):
    """``audio`` (batch, samples) float32 mono at 48 kHz, nominally WINDOW samples (any length
    ≥ ltas.N_FFT works) → ``latent`` (batch, latent_dim).

    The head gives the latent's shape coordinates; the last, the EQ space's level coordinate, is 0:
    a tonal balance carries no level (docs/eq-space.md)."""

    def __init__(self, latent_dim: int, hidden: int = 256, depth: int = 3, reference_db=None):
        super().__init__()
        self.frontend = BalanceFrontEnd(reference_db)
        self.register_buffer("band_index", torch.tensor(np.flatnonzero(ltas.BAND_MASK), dtype=torch.long))
        layers, width = [], len(self.band_index)
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.SiLU()]
            width = hidden
        self.head = nn.Sequential(*layers, nn.Linear(width, latent_dim - 1))

    def from_balance(self, balance_db: torch.Tensor) -> torch.Tensor:
        """(batch, 121) balance from the front end → latent (the trainable part)."""
        shape = self.head(balance_db[:, self.band_index] / BALANCE_SCALE_DB)
        return torch.cat([shape, torch.zeros_like(shape[:, :1])], dim=-1)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.from_balance(self.frontend(audio))


def save_checkpoint(model: AudioEncoder, path, config: dict, data_sha256: dict, metrics: dict) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({
        "format": CHECKPOINT_FORMAT,
        "contract": {"sample_rate": SAMPLE_RATE, "window": WINDOW, "hop": HOP, "channels": 1,
                     "input": "audio (batch, samples) float32", "output": "latent (batch, latent_dim) float32"},
        "config": config,
        "state_dict": model.state_dict(),
        "data_sha256": data_sha256,
        "metrics": metrics,
    }, path)
    return path


def load_checkpoint(path) -> AudioEncoder:
    """The trained ``AudioEncoder`` (eval mode); the checkpoint's other entries (contract, config,
    data_sha256, metrics) are on its ``.checkpoint`` attribute."""
    ckpt = read_checkpoint(path, CHECKPOINT_FORMAT, "audio-encoder", "semeq-train audio")
    cfg = ckpt["config"]
    model = AudioEncoder(cfg["latent_dim"], cfg["hidden"], cfg["depth"])
    model.load_state_dict(ckpt["state_dict"])
    model.checkpoint = {k: v for k, v in ckpt.items() if k != "state_dict"}
    return model.eval()
