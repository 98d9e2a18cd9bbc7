"""Every descriptor word of the three data sets with the human EQ curves behind it.

Sources, as dB curves on ``eqdef.FREQ_GRID`` with their 50 Hz–16 kHz level removed:
- SAFE-DB: one curve per de-duplicated setting (``eqspace.data.load_safe``);
- SocialFX (English): one curve per contribution, at the EQ space's dB scale;
- Audealize (English): one aggregate curve per word, with its number of contributions and agreement.
  Audealize aggregates the SocialEQ contributions that SocialFX publishes one by one (their per-word
  means correlate r = 0.999, median), counting more of them (7 against 4 for "rich"): its curve and
  count stand for the SocialEQ side of a word, the SocialFX rows give that side's individual curves.

Words are ``semeq_rt.words.normalise``-d, then inflections are merged into a base word the data also
holds (``words.to_known``: harsher → harsh).
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

from semeq_rt.words import clean, inflection_bases, normalise

from ..data_paths import data_file, sha256_file
from ..eqspace import curves as eqcurves
from ..eqspace.data import AUDEALIZE_FILE, SAFE_FILE, SOCIALFX_FILE, load_safe, load_socialfx


@dataclass
class WordEvidence:
    name: str
    safe: np.ndarray            # (n_safe, 121) level-free dB curves
    socialfx: np.ndarray        # (n_socialfx, 121)
    audealize: np.ndarray | None  # (121,) aggregate curve, or None
    audealize_num: int
    audealize_agreement: float | None

    @property
    def counts(self) -> dict:
        return {"safe": len(self.safe), "socialfx": len(self.socialfx), "audealize": self.audealize_num}

    @property
    def socialeq_count(self) -> int:
        """Contributions behind the SocialEQ side (Audealize's count, or the SocialFX rows if more)."""
        return max(len(self.socialfx), self.audealize_num)

    @property
    def support(self) -> int:
        """Contributions behind the word over the data sets (SAFE settings + SocialEQ contributions)."""
        return len(self.safe) + self.socialeq_count

    @property
    def individual(self) -> np.ndarray:
        """The individual curves (SAFE settings and SocialFX contributions), (n, 121)."""
        return np.concatenate([self.safe, self.socialfx])

    def human_curve(self) -> np.ndarray:
        """The word's curve: the mean of its SAFE settings and its SocialEQ curve (Audealize's aggregate,
        else the mean SocialFX contribution), each side weighted by its number of contributions."""
        total = np.zeros(self.safe.shape[1])
        if len(self.safe):
            total += self.safe.sum(0)
        if self.socialeq_count:
            side = self.audealize if self.audealize is not None else self.socialfx.mean(0)
            total += self.socialeq_count * side
        return total / self.support

    @property
    def agreement(self) -> float | None:
        """Mean Pearson correlation over pairs of the word's individual curves (50 Hz–16 kHz); None
        with fewer than two."""
        return pairwise_agreement(self.individual)


def pairwise_agreement(curves: np.ndarray) -> float | None:
    if len(curves) < 2:
        return None
    x = curves[:, eqcurves.LEVEL_MASK]
    x = x - x.mean(1, keepdims=True)
    norms = np.linalg.norm(x, axis=1)
    ok = norms > 1e-9
    x = x[ok] / norms[ok, None]
    if len(x) < 2:
        return None
    r = x @ x.T
    return float(r[np.triu_indices(len(x), 1)].mean())


def _merge_inflections(counts: Counter) -> dict:
    """name → base word for every name of ``counts`` (name → rows) that is an inflection of another
    name with at least as many rows (so a rare typo such as "brighty" never absorbs "bright")."""
    merged = {}
    for name, n in counts.items():
        base = next((b for b in inflection_bases(name) if counts.get(b, 0) >= n and b != name), None)
        if base is not None:
            merged[name] = base
    # a chain (a → b → c) ends at its last base
    for name, base in merged.items():
        while base in merged:
            base = merged[base]
        merged[name] = base
    return merged


def data_phrases(data_dir=None) -> list:
    """The multi-word descriptors people typed in SAFE-DB and SocialFX (English) that hold at least one
    descriptor word of the data sets ("warm and present", "bass boost"), sorted: sonic phrases."""
    texts = load_safe(data_file(SAFE_FILE, data_dir)).text + load_socialfx(data_file(SOCIALFX_FILE, data_dir)).text
    words = {normalise(t) for t in texts} - {None}
    phrases = set()
    for text in texts:
        phrase = clean(text)
        if " " in phrase and any(normalise(part.strip(",+")) in words for part in phrase.split()):
            phrases.add(phrase)
    return sorted(phrases)


def load_evidence(data_dir=None, socialfx_db_scale: float = 1.0) -> tuple[dict, dict]:
    """({word: WordEvidence}, {data file: sha256}) for every English descriptor word of the three
    data sets; SocialFX and Audealize units become dB through ``socialfx_db_scale`` (the EQ space's)."""
    paths = {f: data_file(f, data_dir) for f in (SAFE_FILE, SOCIALFX_FILE, AUDEALIZE_FILE)}
    safe = load_safe(paths[SAFE_FILE])
    sfx = load_socialfx(paths[SOCIALFX_FILE])
    with open(paths[AUDEALIZE_FILE], encoding="utf-8") as f:
        audealize = [r for r in json.load(f) if r["lang"] == "English"]

    safe_curves = eqcurves.remove_level(eqcurves.safe_curves(safe.params))
    sfx_curves = eqcurves.remove_level(eqcurves.graphic_eq_curves(socialfx_db_scale * sfx.weights))
    aud_curves = eqcurves.remove_level(eqcurves.graphic_eq_curves(
        socialfx_db_scale * np.array([r["settings"] for r in audealize], dtype=np.float64)))

    safe_words = [normalise(t) for t in safe.text]
    sfx_words = [normalise(t) for t in sfx.text]
    aud_words = [normalise(r["word"]) if clean(r["word"]) == r["word"] else None for r in audealize]
    merged = _merge_inflections(Counter(w for w in safe_words + sfx_words + aud_words if w))

    def canonical(word):
        return merged.get(word, word) if word else None

    rows = defaultdict(lambda: {"safe": [], "socialfx": [], "audealize": []})
    for word, curve in zip(safe_words, safe_curves):
        if word:
            rows[canonical(word)]["safe"].append(curve)
    for word, curve in zip(sfx_words, sfx_curves):
        if word:
            rows[canonical(word)]["socialfx"].append(curve)
    for word, record, curve in zip(aud_words, audealize, aud_curves):
        if word:
            rows[canonical(word)]["audealize"].append((record, curve))

    evidence = {}
    for name, r in rows.items():
        aggregate, num, agreement = None, 0, None
        if r["audealize"]:  # an inflection merged into its base: contributions add, curves average by count
            nums = np.array([rec["num"] for rec, _ in r["audealize"]], dtype=np.float64)
            aggregate = (nums[:, None] * np.stack([c for _, c in r["audealize"]])).sum(0) / nums.sum()
            num = int(nums.sum())
            agreement = float((nums * [rec["agreement"] for rec, _ in r["audealize"]]).sum() / nums.sum())
        evidence[name] = WordEvidence(
            name=name, safe=np.array(r["safe"]).reshape(-1, safe_curves.shape[1]),
            socialfx=np.array(r["socialfx"]).reshape(-1, safe_curves.shape[1]),
            audealize=aggregate, audealize_num=num, audealize_agreement=agreement)
    return evidence, {f: sha256_file(p) for f, p in paths.items()}
