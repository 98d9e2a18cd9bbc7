"""The open vocabulary at run time: a word the bundle does not know, or a phrase, placed in the EQ space
from its text (docs/vocabulary.md).

The bundle's ``text`` section carries the text encoder (ONNX + tokenizer), the embeddings of every word
of the data sets (the neighbours) with their points in the EQ space and of the phrases the confidence
also compares with, the softmax temperature and the confidence's logistic; ``semeq_rt.placement`` holds
the arithmetic. The encoder's session is created on the first placement and each text is encoded once per
bundle (cached); nothing here runs on the audio path.
"""
from __future__ import annotations

import threading
from typing import NamedTuple

import numpy as np

from . import placement


class PlacedTerm(NamedTuple):
    name: str
    centroid: np.ndarray      # (latent_dim,) float32
    spread: np.ndarray        # (latent_dim,) float32
    confidence: float         # P(the text names a sound quality), refused below 0.5
    neighbours: tuple         # ((word, weight), …) the heaviest few, most weight first


class NotASoundError(ValueError):
    """The text is too far from every sound word the data sets hold to be placed."""


class TextPlacer:
    """Places texts with one bundle's text section; thread-safe, one encoder session per bundle."""

    SHOWN_NEIGHBOURS = 5

    #: Neighbour rows that a found text encoder must reproduce (cosine ≥ MATCHING_COSINE) to be used.
    CHECKED_ROWS = 16
    MATCHING_COSINE = 0.999

    def __init__(self, bundle):
        from tokenizers import Tokenizer  # loaded only when a text is resolved

        text = bundle.text
        folder = self.folder = bundle.path
        self.entry = text["encoder"]
        self.tokenizer = Tokenizer.from_file(str(folder / self.entry["tokenizer"]))
        self.template = text["template"]
        self.temperature = float(text["temperature"])
        self.slope = float(text["confidence"]["slope"])
        self.intercept = float(text["confidence"]["intercept"])
        self.words = list(text["neighbours"]["words"])
        points = {o["name"]: (o["centroid"], o["spread"]) for o in text["neighbours"]["others"]}
        points.update({name: (t.centroid, t.spread) for name, t in bundle.terms.items()})
        self.centroids = np.array([points[w][0] for w in self.words], dtype=np.float64)
        self.spreads = np.array([points[w][1] for w in self.words], dtype=np.float64)
        # rows: the neighbour words, then the phrases that only the confidence compares with
        self.pool = np.load(folder / text["neighbours"]["file"], allow_pickle=False).astype(np.float64)
        rows = len(self.words) + len(text["confidence"]["phrases"])
        if self.pool.shape != (rows, text["encoder"]["embedding_dim"]):
            raise ValueError(f"{folder / text['neighbours']['file']}: shape {self.pool.shape}, expected "
                             f"({rows}, {text['encoder']['embedding_dim']})")
        self.embeddings = self.pool[:len(self.words)]
        self._encoder = None
        self._cache = {}
        self._lock = threading.Lock()

    @property
    def encoder(self):
        """The bundle's text encoder (``text.find_text_encoder``), loaded on first use and accepted only
        if it reproduces the stored embeddings of the first neighbours (a file is matched by what it
        computes: the same export with another torch may differ in its bytes)."""
        if self._encoder is None:
            from .text import TextEncoder, find_text_encoder

            path = find_text_encoder(self.folder, self.entry)
            checked = self.pool[:self.CHECKED_ROWS]
            try:
                encoder = TextEncoder(path, self.folder / self.entry["tokenizer"], max_tokens=self.entry["max_tokens"],
                                      providers=["CPUExecutionProvider"])
                got = encoder.embed([self.template.format(w) for w in self.words[:self.CHECKED_ROWS]])
                cosine = float(np.min(np.sum(got.astype(np.float64) * checked, axis=1)))
            except Exception as error:  # not an encoder of this kind at all
                raise ValueError(f"{path} is not a text encoder semeq can run: {error}") from None
            if cosine < self.MATCHING_COSINE:
                raise ValueError(f"{path} is not this bundle's text encoder (cosine {cosine:.4f} to the "
                                 f"embeddings it was fitted with; needs ≥ {self.MATCHING_COSINE}): "
                                 "make it again with `semeq-export text-encoder`")
            self._encoder = encoder
        return self._encoder

    def is_model_word(self, text: str) -> bool:
        """Whether the text model knows ``text`` as one word (a typo such as "wram" splits into pieces)."""
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids) == 1

    def place(self, text: str) -> PlacedTerm:
        """The point of ``text`` (already cleaned: lower-case, single spaces); raises NotASoundError
        when its confidence is below one half. A word of the data sets too rare to be a term is placed
        from the other words, its own few contributions being too few (docs/vocabulary.md); its
        confidence counts it as its own neighbour."""
        with self._lock:
            if text not in self._cache:
                self._cache[text] = self._place(text)
        placed = self._cache[text]
        if isinstance(placed, NotASoundError):
            raise placed
        return placed

    def _place(self, text):
        query = self.encoder.embed([self.template.format(text)])[0].astype(np.float64)
        # a word of the data sets is a sound word (people used it for EQ), but too rare to place itself
        confidence = float(placement.confidence((self.pool @ query)[None], self.slope, self.intercept)[0])
        similarity = self.embeddings @ query
        if text in self.words:
            similarity[self.words.index(text)] = -np.inf
        if confidence < 0.5:
            nearest = [self.words[i] for i in np.argsort(-similarity)[:5]]
            return NotASoundError(
                f"{text!r} is too far from every sound word semeq knows to place it (confidence "
                f"{confidence:.2f}, needs 0.5); nearest known words: {', '.join(nearest)}")
        weights = placement.placement_weights(similarity[None], self.temperature)[0]
        order = np.argsort(-weights)[:self.SHOWN_NEIGHBOURS]
        return PlacedTerm(text, (weights @ self.centroids).astype(np.float32),
                          (weights @ self.spreads).astype(np.float32), confidence,
                          tuple((self.words[i], float(weights[i])) for i in order))


_placers_lock = threading.Lock()


def placer(bundle) -> TextPlacer | None:
    """The bundle's TextPlacer (created on first use, kept on the bundle), or None when the bundle
    has no text section."""
    if bundle.text is None:
        return None
    with _placers_lock:
        if getattr(bundle, "_text_placer", None) is None:
            bundle._text_placer = TextPlacer(bundle)
        return bundle._text_placer
