"""The semantic EQ space: curve → latent → 5-band EQ, with per-term semantics (docs/eq-space.md)."""
from .space import EqSpace, load_checkpoint

__all__ = ["EqSpace", "load_checkpoint"]
