"""Placing a word the data sets do not hold: text embedding → a point of the EQ space, with a confidence.

One definition for training (which fits ``temperature`` and the confidence's logistic) and the runtime
(docs/vocabulary.md):
- the text is embedded as ``TEMPLATE.format(text)`` ("glassy sound"): the template points the sentence
  model at the word's sonic sense ("cold sound", not the weather), and placed words better (measured);
- the point is the softmax(similarity / ``temperature``)-weighted mean of the known words' latent points
  and spreads, over all known words;
- the confidence is a logistic function of the mean similarity to the ``NEIGHBOURS`` nearest texts of a
  pool (the data words and some of the data's multi-word descriptors, so that a phrase can find
  phrases), fitted on sound texts against texts with no sonic sense (equal priors); a text whose
  confidence is below one half is refused.
"""
from __future__ import annotations

import numpy as np

TEMPLATE = "{} sound"
NEIGHBOURS = 3


def neighbour_similarity(similarity: np.ndarray) -> np.ndarray:
    """Mean of the ``NEIGHBOURS`` largest cosine similarities per row of (n, known)."""
    return np.sort(similarity, axis=-1)[..., -NEIGHBOURS:].mean(-1)


def placement_weights(similarity: np.ndarray, temperature: float) -> np.ndarray:
    """Softmax weights over the known words, (n, known) → (n, known), rows summing to 1."""
    scaled = (similarity - similarity.max(-1, keepdims=True)) / temperature
    weights = np.exp(scaled)
    return weights / weights.sum(-1, keepdims=True)


def confidence(similarity: np.ndarray, slope: float, intercept: float) -> np.ndarray:
    """P(sonic) of each row of (n, known) similarities: the logistic of the neighbour similarity."""
    return 1.0 / (1.0 + np.exp(-(slope * neighbour_similarity(similarity) + intercept)))
