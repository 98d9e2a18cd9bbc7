"""The EQ space's networks: curve → latent (``EqEncoder``), latent → 13 parameters (``EqDecoder``).

Both are plain float32 ``nn.Module``s of exportable ops (Linear, SiLU, tanh, sigmoid, exp, max/clamp,
concat) so that ``torch.onnx.export`` takes them as they are. (The term scorer is numpy:
``semeq_rt.semantics.scores_from_curves``.)
"""
from __future__ import annotations

import torch
from torch import nn

from semeq_rt import eqdef

from .curves import LEVEL_MASK

CURVE_SCALE_DB = 6.0  # curves are divided by this before the first layer (SAFE curves' std ≈ 6 dB)


def _mlp(n_in: int, hidden: int, n_out: int, depth: int) -> nn.Sequential:
    layers, width = [], n_in
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.SiLU()]
        width = hidden
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


class EqEncoder(nn.Module):
    """(B, 121) dB curve on FREQ_GRID → (B, latent_dim) latent.

    The last coordinate is the curve's level (mean dB over 50 Hz–16 kHz) / CURVE_SCALE_DB, exactly; the
    other latent_dim − 1 are learned from the level-free shape. A 5-band EQ's shape does not fix its
    level (docs/eq-space.md), so the decoder needs it to reproduce a setting; the shape coordinates
    are level-invariant, so an audio balance (level-free: level coordinate 0) and the EQ curve it came
    from share them.
    """

    def __init__(self, latent_dim: int, hidden: int = 256, depth: int = 2):
        super().__init__()
        level_weights = torch.as_tensor(LEVEL_MASK, dtype=torch.float32)
        self.register_buffer("level_weights", level_weights / level_weights.sum())
        self.net = _mlp(eqdef.N_GRID, hidden, latent_dim - 1, depth)

    def forward(self, curve_db: torch.Tensor) -> torch.Tensor:
        level = (curve_db * self.level_weights).sum(-1, keepdim=True)
        shape = self.net((curve_db - level) / CURVE_SCALE_DB)
        return torch.cat([shape, level / CURVE_SCALE_DB], dim=-1)


class EqDecoder(nn.Module):
    """(B, latent_dim) latent → (B, 13) parameters in eqdef's layout and physical units.

    Outputs always lie within eqdef's (the SAFE plugin's) ranges, and the peaking bands are ordered by
    frequency: each peak's lower frequency bound is the previous peak's frequency.
    """

    def __init__(self, latent_dim: int, hidden: int = 256, depth: int = 2):
        super().__init__()
        self.net = _mlp(latent_dim, hidden, eqdef.N_PARAMS, depth)
        self.register_buffer("low", torch.as_tensor(eqdef.PARAM_LOW, dtype=torch.float32))
        self.register_buffer("high", torch.as_tensor(eqdef.PARAM_HIGH, dtype=torch.float32))
        self.register_buffer("log_low", torch.log(self.low))
        self.register_buffer("log_high", torch.log(self.high))
        self.max_gain = float(eqdef.PARAM_HIGH[0])

    def _log_range(self, raw: torch.Tensor, i: int, log_low=None) -> torch.Tensor:
        """Parameter i on a log scale between its low bound (or ``log_low``) and its high bound."""
        lo = self.log_low[i] if log_low is None else torch.maximum(log_low, self.log_low[i])
        value = torch.exp(lo + torch.sigmoid(raw[:, i]) * (self.log_high[i] - lo))
        return torch.clamp(value, self.low[i], self.high[i])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.to_params(self.net(z))

    def to_params(self, raw: torch.Tensor) -> torch.Tensor:
        """(B, 13) unbounded values → parameters (also used to fit curves by direct optimisation)."""
        gain = [self.max_gain * torch.tanh(raw[:, i]) for i in (0, 2, 5, 8, 11)]
        f1 = self._log_range(raw, 3)
        f2 = torch.maximum(self._log_range(raw, 6, torch.log(f1)), f1)
        f3 = torch.maximum(self._log_range(raw, 9, torch.log(f2)), f2)
        return torch.stack([
            gain[0], self._log_range(raw, 1),
            gain[1], f1, self._log_range(raw, 4),
            gain[2], f2, self._log_range(raw, 7),
            gain[3], f3, self._log_range(raw, 10),
            gain[4], self._log_range(raw, 12),
        ], dim=-1)
