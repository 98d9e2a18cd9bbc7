"""Sentence embeddings of words and short phrases ("glassy", "vintage radio") for the open vocabulary.

The model is all-MiniLM-L6-v2, exported by semeq_export.text_model to one ONNX file whose graph holds
the whole encoder, mean pooling over the attention mask and L2 normalisation; so the runtime needs no
torch, only ONNX Runtime (already the bundle's engine) and the small ``tokenizers`` package, which reads
the model's own tokenizer.json (the same Rust tokenizer sentence-transformers uses, so the token ids match
the reference exactly). Never imports torch.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

#: Texts per ONNX Runtime call; each call is padded to its longest text.
BATCH_SIZE = 64
#: Where ``semeq-export text-encoder`` puts text encoders (by the bundle's hash of one), unless set.
MODELS_DIR_ENV = "SEMEQ_MODELS_DIR"


class TextEncoderMissing(RuntimeError):
    """The bundle's text encoder is neither in its folder nor in the models folder."""


def models_dir() -> Path:
    """``$SEMEQ_MODELS_DIR``, else ``~/.cache/semeq/models``."""
    return Path(os.environ.get(MODELS_DIR_ENV) or Path.home() / ".cache" / "semeq" / "models")


def cached_name(entry: dict) -> str:
    """The file name of a bundle's text encoder in the models folder (its manifest entry's hash)."""
    return f"text_encoder-{entry['sha256'][:16]}.onnx"


def find_text_encoder(bundle_folder, entry: dict) -> Path:
    """The text encoder of a bundle whose manifest entry is ``entry``: in the bundle's folder (a
    self-contained copy), else in ``models_dir()``. The file is 24 MB, too large for the repository,
    so a checkout makes it with ``semeq-export text-encoder`` (needs the ``train`` extra)."""
    for candidate in (Path(bundle_folder) / entry["file"], models_dir() / cached_name(entry)):
        if candidate.is_file():
            return candidate
    raise TextEncoderMissing(
        f"the text model that places words semeq does not know is not installed (looked for "
        f"{Path(bundle_folder) / entry['file']} and {models_dir() / cached_name(entry)}): make it with "
        "`pip install \"semeq[train]\"` and `semeq-export text-encoder` (about 30 s); the known words "
        "(semeq terms) work without it")


class TextEncoder:
    """Text → (n, dim) float32 unit vectors, via the exported ONNX graph and its tokenizer.

    ``max_tokens``: texts are truncated to this many tokens ([CLS] and [SEP] included), as the
    reference truncates them (the manifest's ``max_tokens``).
    """

    def __init__(self, model_path, tokenizer_path, *, max_tokens: int, providers=("CPUExecutionProvider",),
                 intra_op_threads: int = 1):
        self.max_tokens = int(max_tokens)
        self.tokenizer = Tokenizer.from_file(str(Path(tokenizer_path)))
        self.tokenizer.enable_truncation(max_length=self.max_tokens)
        # Pad to the longest text of a call; padded positions are masked out, so the pad id is immaterial.
        self.tokenizer.enable_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(Path(model_path)), options, providers=list(providers))
        self.dim = int(self.session.get_outputs()[0].shape[-1])

    def embed(self, texts) -> np.ndarray:
        """(n, dim) float32 L2-normalised embeddings of ``texts`` (one str or a list of str), in order."""
        texts = _checked(texts)
        parts = [self._embed_batch(texts[start:start + BATCH_SIZE]) for start in range(0, len(texts), BATCH_SIZE)]
        return np.concatenate(parts) if parts else np.zeros((0, self.dim), np.float32)

    def _embed_batch(self, texts: list) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        feed = {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64)}
        return self.session.run(["embedding"], feed)[0]


def _checked(texts) -> list:
    if isinstance(texts, str):
        texts = [texts]
    elif not isinstance(texts, (list, tuple)):
        raise ValueError(f"texts should be a str or a list of str, got {type(texts).__name__}")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(f"text {i} should be a str, got {type(text).__name__}: {text!r}")
        if not text.strip():
            raise ValueError(f"text {i} is empty or blank ({text!r}): there is nothing to embed")
    return list(texts)
