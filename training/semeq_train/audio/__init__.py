"""The audio encoder: raw audio → point of the semantic EQ space (docs/audio-encoder.md)."""
from .model import AudioEncoder, load_checkpoint

__all__ = ["AudioEncoder", "load_checkpoint"]
