"""``EqSpace``: the trained semantic EQ space behind one stable API, and its checkpoint format."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from semeq_rt import eqdef

from ..checkpoint_file import read_checkpoint
from semeq_rt.semantics import scores_from_curves

from .model import EqDecoder, EqEncoder

CHECKPOINT_FORMAT = "semeq-eqspace/3"  # 2: level coordinate, amount-based term scorer; 3: boost/cut scorer


class EqSpace:
    """Encoder, decoder and term model of the semantic EQ space (see docs/eq-space.md).

    - ``encode(curve_db (B, 121)) → z (B, D)``: z[:, :-1] from the level-free shape, z[:, -1] = the
      curve's level (mean dB over 50 Hz–16 kHz) / 6 dB.
    - ``decode_params(z) → (B, 13)`` in eqdef's layout and units, within its ranges, peaks ordered.
    - ``decode_curve(z) → (B, 121)`` dB, via ``eqdef.params_response_db`` (float64).
    - ``terms``: name → {"centroid", "spread", "spread_rms", "count", "params", "curve_db", …}.
    - ``term_names``; ``term_scores(z) → (B, n_terms)``: per term, a calibrated probability (term vs
      the other terms, equal priors) from the amounts of the term's EQ in the decoded curve's boosts and
      cuts.
    - ``scorer``: the numbers of ``semeq_rt.semantics.scores_from_curves`` (curves_db, slope_boost,
      slope_cut, intercept).
    """

    def __init__(self, encoder: EqEncoder, decoder: EqDecoder, scorer: dict, terms: dict,
                 config: dict, metrics: dict | None = None, data_sha256: dict | None = None):
        self.encoder = encoder.eval()
        self.decoder = decoder.eval()
        self.scorer = scorer
        self.terms = terms
        self.term_names = list(terms)
        self.config = config
        self.metrics = metrics or {}
        self.data_sha256 = data_sha256 or {}

    @property
    def latent_dim(self) -> int:
        return int(self.config["latent_dim"])

    @torch.no_grad()
    def encode(self, curve_db) -> torch.Tensor:
        return self.encoder(_as_batch(curve_db, eqdef.N_GRID, "curve_db"))

    @torch.no_grad()
    def decode_params(self, z) -> torch.Tensor:
        return self.decoder(_as_batch(z, self.latent_dim, "z"))

    def decode_curve(self, z) -> torch.Tensor:
        return eqdef.params_response_db(self.decode_params(z).double())

    def term_scores(self, z) -> torch.Tensor:
        return torch.as_tensor(scores_from_curves(self.decode_curve(z).numpy(), self.scorer))

    def centroid(self, term: str) -> torch.Tensor:
        if term not in self.terms:
            raise KeyError(f"unknown term {term!r}; known terms: {', '.join(self.term_names)}")
        return torch.tensor(self.terms[term]["centroid"], dtype=torch.float32)

    def to_checkpoint(self) -> dict:
        return {
            "format": CHECKPOINT_FORMAT,
            "config": self.config,
            "encoder": self.encoder.state_dict(),
            "decoder": self.decoder.state_dict(),
            "scorer": self.scorer,
            "terms": self.terms,
            "metrics": self.metrics,
            "data_sha256": self.data_sha256,
        }

    def save(self, path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(self.to_checkpoint(), path)
        return path


def _as_batch(x, width: int, name: str) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x, dtype=torch.float32)
    if t.ndim == 1:
        t = t[None]
    if t.ndim != 2 or t.shape[1] != width:
        raise ValueError(f"{name} must have shape (batch, {width}) or ({width},), got {tuple(t.shape)}")
    return t


def load_checkpoint(path) -> EqSpace:
    """An ``EqSpace`` from a checkpoint written by ``semeq-train eq``."""
    ckpt = read_checkpoint(path, CHECKPOINT_FORMAT, "EQ-space", "semeq-train eq")
    cfg = ckpt["config"]
    encoder = EqEncoder(cfg["latent_dim"], cfg["hidden"], cfg["depth"])
    decoder = EqDecoder(cfg["latent_dim"], cfg["hidden"], cfg["depth"])
    encoder.load_state_dict(ckpt["encoder"])
    decoder.load_state_dict(ckpt["decoder"])
    return EqSpace(encoder, decoder, ckpt["scorer"], ckpt["terms"], cfg, ckpt["metrics"], ckpt["data_sha256"])
