"""Loaders for the original files, de-duplication, user-grouped splits, and the combined corpus.

Files (under the data directory, see ``semeq_train.data_paths``):
- ``safe-db/SAFEEqualiserUserData.csv``: no header, 25 columns (id, descriptor, user, in/out channels,
  13 parameters in eqdef's layout, 6 metadata fields, checksum); peaks not ordered by frequency.
- ``socialfx-eq/eq_contributions.csv``: header of 43 names, rows of 44 fields (the 2nd, missing from
  the header, is the language); 40 z-scored band weights per row.
- ``audealize-eq/eqdescriptors.json``: per-word aggregates of the SocialFX data (cross-check only).

Splits. SAFE-DB is split by user (never one user in two splits): users are taken largest first (ties
in seeded random order) and each goes to the split furthest below its target share of rows, so that
the splits get their shares despite a few users owning most rows. SocialFX has no user ids; each
contribution is one participant's session on one word (SocialEQ's design), so after removing
duplicate curves the split is random per contribution, stratified by word; the Audealize per-word
aggregates (computed from all contributions) are never used for training.
"""
from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from semeq_rt import eqdef

from ..data_paths import data_file, sha256_file
from . import curves as eqcurves
from semeq_rt.words import normalise

SAFE_FILE = "safe-db/SAFEEqualiserUserData.csv"
SOCIALFX_FILE = "socialfx-eq/eq_contributions.csv"
AUDEALIZE_FILE = "audealize-eq/eqdescriptors.json"

SPLITS = ("train", "val", "test")
SPLIT_SHARES = (0.7, 0.1, 0.2)
SAFE_N_COLUMNS = 25
SOCIALFX_N_FIELDS = 44


@dataclass
class SafeData:
    text: list            # descriptor as typed
    user: np.ndarray      # user token per row
    params: np.ndarray    # (N, 13), peaks sorted by frequency


@dataclass
class SocialFxData:
    text: list
    language: np.ndarray
    weights: np.ndarray   # (N, 40) z-scored band weights


def load_safe(path, deduplicate: bool = True) -> SafeData:
    """SAFE-DB in its distributed format; exact duplicate rows (same user, text and setting) dropped
    unless ``deduplicate`` is False."""
    path = Path(path)
    text, users, params, seen = [], [], [], set()
    with open(path, newline="", encoding="utf-8") as f:
        for line_no, row in enumerate(csv.reader(f), start=1):
            if len(row) != SAFE_N_COLUMNS:
                raise ValueError(f"{path}:{line_no}: expected {SAFE_N_COLUMNS} columns, got {len(row)}"
                                 " (is this the original SAFE-DB file, without a header?)")
            try:
                setting = tuple(float(v) for v in row[5:18])
            except ValueError as e:
                raise ValueError(f"{path}:{line_no}: non-numeric EQ parameter ({e})") from None
            key = (row[2], row[1].strip().lower(), setting)
            if deduplicate and key in seen:
                continue
            seen.add(key)
            text.append(row[1])
            users.append(row[2])
            params.append(setting)
    params = np.clip(np.array(params), eqdef.PARAM_LOW, eqdef.PARAM_HIGH)  # Q stored as 0.100000001
    return SafeData(text, np.array(users), eqcurves.sort_peaks(params))


def load_socialfx(path, language: str | None = "English", deduplicate: bool = True) -> SocialFxData:
    """SocialFX EQ contributions (``language=None`` keeps all); duplicate curves of a word dropped
    unless ``deduplicate`` is False."""
    path = Path(path)
    text, langs, weights, seen = [], [], [], set()
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        for line_no, row in enumerate(reader, start=2):
            if len(row) != SOCIALFX_N_FIELDS or len(header) != SOCIALFX_N_FIELDS - 1:
                raise ValueError(f"{path}:{line_no}: expected a {SOCIALFX_N_FIELDS - 1}-name header and "
                                 f"{SOCIALFX_N_FIELDS}-field rows, got {len(header)} and {len(row)}")
            if language is not None and row[1] != language:
                continue
            curve = tuple(float(v) for v in row[4:])
            key = (row[0].strip().lower(), curve)
            if deduplicate and key in seen:
                continue
            seen.add(key)
            text.append(row[0])
            langs.append(row[1])
            weights.append(curve)
    return SocialFxData(text, np.array(langs), np.array(weights).reshape(-1, 40))


def load_audealize(path) -> dict:
    """Audealize per-word curves: {word: {"settings": (40,), "num": int, "lang": str}}."""
    with open(path, encoding="utf-8") as f:
        records = json.load(f)
    return {r["word"]: {"settings": np.array(r["settings"], dtype=np.float64), "num": int(r["num"]),
                        "lang": r["lang"]} for r in records}


def split_by_group(groups, seed: int, shares=SPLIT_SHARES) -> np.ndarray:
    """Split label (index into SPLITS) per row; every group lands wholly in one split.

    Groups are assigned largest first (ties in seeded random order) to the split furthest below its
    target number of rows.
    """
    groups = np.asarray(groups)
    names, sizes = np.unique(groups, return_counts=True)
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.permutation(len(names)), -sizes))
    targets = np.asarray(shares) * len(groups)
    filled = np.zeros(len(shares))
    assignment = {}
    for i in order:
        split = int(np.argmax(targets - filled))
        assignment[names[i]] = split
        filled[split] += sizes[i]
    return np.array([assignment[g] for g in groups])


def split_stratified(labels, seed: int, shares=SPLIT_SHARES) -> np.ndarray:
    """Random split per row, stratified by label: each label's rows are shared out by ``shares``."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    out = np.zeros(len(labels), dtype=int)
    for label in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == label))
        n_test = int(round(shares[2] * len(idx)))
        n_val = int(round(shares[1] * len(idx)))
        out[idx[:n_test]] = 2
        out[idx[n_test:n_test + n_val]] = 1
    return out


@dataclass
class EqCorpus:
    """Both data sets as dB curves on FREQ_GRID, with sources, splits and kept-term labels."""
    curves: np.ndarray        # (N, 121) dB
    source: np.ndarray        # 0 = SAFE-DB, 1 = SocialFX
    split: np.ndarray         # index into SPLITS
    term: np.ndarray          # index into terms, -1 = no kept term
    group: np.ndarray         # SAFE user token, or "socialfx:<row>"
    params: np.ndarray        # (N, 13) SAFE settings; NaN for SocialFX rows
    terms: list               # kept terms, sorted
    term_counts: dict         # term → {"safe": n, "socialfx": n} over all splits
    socialfx_db_scale: float  # dB per SocialFX unit
    data_sha256: dict = field(default_factory=dict)

    SOURCES = ("safe", "socialfx")

    def select(self, split: str | None = None, source: str | None = None) -> np.ndarray:
        mask = np.ones(len(self.curves), dtype=bool)
        if split is not None:
            mask &= self.split == SPLITS.index(split)
        if source is not None:
            mask &= self.source == self.SOURCES.index(source)
        return mask


#: Split value of rows left out of every split (``select`` never returns them).
EXCLUDED = -1


def split_safe_users(users, seed: int, cv_fold: tuple[int, int] | None = None,
                     exclude_test_users: bool = False) -> np.ndarray:
    """SAFE split by user: the standard train/val/test split, or with ``cv_fold = (k, n)`` fold k of
    n user-grouped folds as test and the other users split into train/val (7 : 1).

    ``exclude_test_users`` (only with ``cv_fold``): the folds are made from the users outside the
    standard split's test split, whose rows are left out (``EXCLUDED``), so that choices made on these
    folds leave the standard test users unseen (model selection)."""
    if cv_fold is None:
        return split_by_group(users, seed)
    k, n_folds = cv_fold
    if not 0 <= k < n_folds:
        raise ValueError(f"cv fold {k} is not in 0..{n_folds - 1}")
    users = np.asarray(users)
    pool = split_by_group(users, seed) != SPLITS.index("test") if exclude_test_users else np.ones(len(users), bool)
    split = np.full(len(users), EXCLUDED)
    folds = split_by_group(users[pool], seed, shares=(1.0 / n_folds,) * n_folds)
    fold_split = np.full(len(folds), SPLITS.index("test"))
    rest = folds != k
    fold_split[rest] = split_by_group(users[pool][rest], seed, shares=(0.875, 0.125))
    split[pool] = fold_split
    return split


def build_corpus(data_dir=None, seed: int = 0, min_examples: int = 5, scale_words=("warm", "bright"),
                 cv_fold: tuple[int, int] | None = None, exclude_test_users: bool = False) -> EqCorpus:
    """Load, normalise, split, convert and label both data sets.

    A term is kept when it has ≥ ``min_examples`` de-duplicated examples over both data sets. The
    SocialFX dB scale is fitted on the training split only, from the mean curves of ``scale_words``.
    ``cv_fold`` selects a user-grouped cross-validation fold of SAFE-DB as the test split;
    ``exclude_test_users`` makes the folds from the users outside the standard test split only.
    """
    safe_path, sfx_path = data_file(SAFE_FILE, data_dir), data_file(SOCIALFX_FILE, data_dir)
    safe, sfx = load_safe(safe_path), load_socialfx(sfx_path)
    safe_terms = [normalise(t) for t in safe.text]
    sfx_terms = [normalise(t) for t in sfx.text]
    counts = Counter(t for t in safe_terms + sfx_terms if t is not None)
    terms = sorted(t for t, n in counts.items() if n >= min_examples)
    index = {t: i for i, t in enumerate(terms)}

    safe_split = split_safe_users(safe.user, seed, cv_fold, exclude_test_users)
    sfx_split = split_stratified([t or "" for t in sfx_terms], seed)

    safe_curves = eqcurves.safe_curves(safe.params)
    safe_terms_arr = np.array([t or "" for t in safe_terms])
    sfx_terms_arr = np.array([t or "" for t in sfx_terms])
    train_safe, train_sfx = safe_split == 0, sfx_split == 0
    safe_means = np.stack([safe_curves[train_safe & (safe_terms_arr == w)].mean(0) for w in scale_words])
    sfx_means = np.stack([sfx.weights[train_sfx & (sfx_terms_arr == w)].mean(0) for w in scale_words])
    scale = eqcurves.fit_socialfx_db_scale(safe_means, sfx_means)
    sfx_curves = eqcurves.graphic_eq_curves(scale * sfx.weights)

    def term_ids(names):
        return np.array([index.get(t, -1) if t else -1 for t in names])

    n_safe, n_sfx = len(safe_curves), len(sfx_curves)
    return EqCorpus(
        curves=np.concatenate([safe_curves, sfx_curves]).astype(np.float32),
        source=np.concatenate([np.zeros(n_safe, int), np.ones(n_sfx, int)]),
        split=np.concatenate([safe_split, sfx_split]),
        term=np.concatenate([term_ids(safe_terms), term_ids(sfx_terms)]),
        group=np.concatenate([safe.user, np.array([f"socialfx:{i}" for i in range(n_sfx)])]),
        params=np.concatenate([safe.params, np.full((n_sfx, eqdef.N_PARAMS), np.nan)]),
        terms=terms,
        term_counts={t: {"safe": sum(s == t for s in safe_terms), "socialfx": sum(s == t for s in sfx_terms)}
                     for t in terms},
        socialfx_db_scale=scale,
        data_sha256={SAFE_FILE: sha256_file(safe_path), SOCIALFX_FILE: sha256_file(sfx_path)},
    )
