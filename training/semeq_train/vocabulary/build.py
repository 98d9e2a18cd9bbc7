"""The known vocabulary and the text placement, fitted and evaluated (docs/vocabulary.md).

1. Every word of the data sets (``evidence``) with its support, agreement and human curve.
2. The support a word needs to be known (placed by its own human data) is the smallest number of
   contributions whose mean predicts the word's held-out contributions better than the text placement
   does (median level-free RMS error over random splits of the words with the most contributions).
3. Known words' points: the EQ space's 51 core terms keep their centroids and spreads exactly; every
   other known word sits at the EQ encoder's point of its human curve, with the spread of its
   contributions' points shrunk toward the core terms' mean spread (a prior worth ``SPREAD_PRIOR``
   contributions).
4. Their term scores: the EQ space's scorer, extended to the other known words (``fit_word_scorers``).
5. Text placement (``semeq_rt.placement``) from all words of the data sets: the softmax temperature is
   chosen by word-grouped 5-fold cross-validation over the words with ≥ 5 contributions (nested: each
   outer fold's temperature is chosen on its training words only); the reported figures are the outer
   folds', against two baselines.
6. The refusal: a logistic of the neighbour similarity to the data words and half of the data's phrases,
   fitted on sound texts (known words, those phrases) against ``probes.NON_SONIC_CHOOSE`` and reported
   on ``probes.NON_SONIC_CHECK`` and the other half of the phrases.
"""
from __future__ import annotations

import difflib

import numpy as np

from semeq_rt import placement
from semeq_rt.semantics import term_amounts

from ..eqspace.curves import LEVEL_MASK
from ..eqspace.terms import balanced_weights, fit_logistic, fit_nonnegative_logistic
from .evidence import data_phrases, load_evidence
from .probes import NON_SONIC_CHECK, NON_SONIC_CHOOSE, UNSEEN_SOUND_WORDS

TEMPERATURES = (0.02, 0.03, 0.05, 0.07, 0.1, 0.15)
EVALUATED_SUPPORT = 5
FOLDS = 5
SPREAD_PRIOR = 5.0
#: Words with at least this many individual curves serve the support study.
STUDY_MIN_CURVES = 12
STUDY_SUPPORTS = (1, 2, 3, 4, 5, 6, 8)
STUDY_TRIALS = 20


def graph_sha256(path) -> str:
    """SHA-256 of an ONNX file's graph: what identifies an EQ space across metadata rewrites."""
    import hashlib

    import onnx

    return hashlib.sha256(onnx.load(str(path)).graph.SerializeToString()).hexdigest()


def level_free(curves: np.ndarray) -> np.ndarray:
    """The 50 Hz–16 kHz part of dB curves with its mean removed."""
    band = np.asarray(curves, dtype=np.float64)[..., LEVEL_MASK]
    return band - band.mean(-1, keepdims=True)


def curve_r(a, b) -> np.ndarray:
    a, b = level_free(a), level_free(b)
    return (a * b).sum(-1) / np.maximum(np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1), 1e-12)


def curve_rms_db(a, b) -> np.ndarray:
    return np.sqrt(((level_free(a) - level_free(b)) ** 2).mean(-1))


def place_curves(similarity, curves, temperature):
    """Curves placed as the similarity-weighted mean of known words' human curves (the evaluation's
    stand-in for decoding the weighted mean of their points)."""
    return placement.placement_weights(similarity, temperature) @ curves


def support_study(words, evidence, embeddings, temperature, seed) -> dict:
    """Median held-out RMS error (dB) and r of an n-contribution mean, against the text placement of
    the same word (placed from all other words), over words with ≥ STUDY_MIN_CURVES individual curves."""
    rng = np.random.default_rng(seed)
    index = {w: i for i, w in enumerate(words)}
    curves = np.stack([evidence[w].human_curve() for w in words])
    studied = [w for w in words if len(evidence[w].individual) >= STUDY_MIN_CURVES]
    rows = {n: {"rms": [], "r": []} for n in STUDY_SUPPORTS}
    text = {"rms": [], "r": []}
    for w in studied:
        i = index[w]
        others = np.ones(len(words), bool)
        others[i] = False
        placed = place_curves(embeddings[i] @ embeddings[others].T, curves[others], temperature)
        x = evidence[w].individual
        for _ in range(STUDY_TRIALS):
            order = rng.permutation(len(x))
            for n in STUDY_SUPPORTS:
                truth = x[order[n:]].mean(0)
                mean = x[order[:n]].mean(0)
                rows[n]["rms"].append(float(curve_rms_db(mean, truth)))
                rows[n]["r"].append(float(curve_r(mean, truth)))
            truth = x[order[STUDY_SUPPORTS[-1]:]].mean(0)
            text["rms"].append(float(curve_rms_db(placed, truth)))
            text["r"].append(float(curve_r(placed, truth)))
    medians = {n: {k: float(np.median(v)) for k, v in r.items()} for n, r in rows.items()}
    text_medians = {k: float(np.median(v)) for k, v in text.items()}
    beating = [n for n in STUDY_SUPPORTS if medians[n]["rms"] < text_medians["rms"]]
    return {"words": studied, "trials": STUDY_TRIALS, "contributions": medians, "text_placement": text_medians,
            "min_support": beating[0] if beating else STUDY_SUPPORTS[-1]}


def _folds(targets, seed):
    order = np.random.default_rng(seed).permutation(targets)
    return np.array_split(order, FOLDS)


def choose_temperature(embeddings, curves, pool, targets, seed) -> float:
    """The temperature with the best median r over a word-grouped CV of ``targets`` within ``pool``."""
    scores = []
    for t in TEMPERATURES:
        rs = []
        for fold in _folds(targets, seed):
            train = pool.copy()
            train[fold] = False
            placed = place_curves(embeddings[fold] @ embeddings[train].T, curves[train], t)
            rs.extend(curve_r(placed, curves[fold]))
        scores.append(np.median(rs))
    return TEMPERATURES[int(np.argmax(scores))]


def cross_validate(words, embeddings, curves, pool, evaluated, seed, points, decode) -> dict:
    """Outer word-grouped folds over the words with ≥ EVALUATED_SUPPORT contributions: the text
    placement from the rest of ``pool`` (temperature chosen on the outer training words) against the
    mean curve of the training words and the nearest training word by spelling. ``text`` compares the
    similarity-weighted human curves, ``text_decoded`` what the runtime applies: ``decode`` (latents →
    dB curves) of the weighted mean of the words' ``points``."""
    targets = np.flatnonzero(pool & evaluated)
    per_word = {}
    for k, fold in enumerate(_folds(targets, seed)):
        train = pool.copy()
        train[fold] = False
        inner_targets = np.setdiff1d(targets, fold)
        t = choose_temperature(embeddings, curves, train, inner_targets, seed + 1 + k)
        similarity = embeddings[fold] @ embeddings[train].T
        placed = place_curves(similarity, curves[train], t)
        decoded = decode((placement.placement_weights(similarity, t) @ points[train]).astype(np.float32))
        mean_curve = curves[train].mean(0)
        train_words = [words[i] for i in np.flatnonzero(train)]
        for j, i in enumerate(fold):
            spelled = difflib.get_close_matches(words[i], train_words, n=1, cutoff=0.0)[0]
            per_word[words[i]] = {
                "fold": k, "temperature": t,
                "text": {"r": float(curve_r(placed[j], curves[i])),
                         "rms_db": float(curve_rms_db(placed[j], curves[i]))},
                "text_decoded": {"r": float(curve_r(decoded[j], curves[i])),
                                 "rms_db": float(curve_rms_db(decoded[j], curves[i]))},
                "mean_curve": {"r": float(curve_r(mean_curve, curves[i])),
                               "rms_db": float(curve_rms_db(mean_curve, curves[i]))},
                "spelling": {"word": spelled, "r": float(curve_r(curves[words.index(spelled)], curves[i])),
                             "rms_db": float(curve_rms_db(curves[words.index(spelled)], curves[i]))},
            }
    summary = {method: {stat: float(np.median([w[method][stat] for w in per_word.values()]))
                        for stat in ("r", "rms_db")}
               for method in ("text", "text_decoded", "mean_curve", "spelling")}
    return {"words": len(per_word), "folds": FOLDS, "median": summary, "per_word": per_word}


def fit_refusal(words, embeddings, known, embed_probe, phrases) -> dict:
    """The confidence: a logistic (equal priors) of the neighbour similarity to the confidence pool —
    the data words and the even-numbered half of the data sets' multi-word descriptors (so that a
    phrase can find phrases) — fitted on sound texts (known words and those phrases, each against the
    rest of the pool) against NON_SONIC_CHOOSE; its acceptance of the other half of the phrases, of
    NON_SONIC_CHECK and of the known words."""
    phrase_embeddings = embed_probe(phrases)
    chosen, held_out = phrase_embeddings[0::2], phrase_embeddings[1::2]
    pool = np.concatenate([embeddings, chosen])
    own = np.concatenate([np.flatnonzero(known), len(embeddings) + np.arange(len(chosen))])
    sound = np.concatenate([embeddings[known], chosen]) @ pool.T
    sound[np.arange(len(own)), own] = -1.0  # a text is not its own neighbour
    positive = placement.neighbour_similarity(sound)
    negative = placement.neighbour_similarity(embed_probe(NON_SONIC_CHOOSE) @ pool.T)
    x = np.concatenate([positive, negative])[:, None]
    y = np.concatenate([np.ones(len(positive)), np.zeros(len(negative))])
    weights = np.where(y == 1, 0.5 / len(positive), 0.5 / len(negative))
    slope, intercept = fit_logistic(x, y, weights, l2=0.0)

    def accepted(similarity):
        return placement.confidence(similarity, slope, intercept) >= 0.5

    check = accepted(embed_probe(NON_SONIC_CHECK) @ pool.T)
    phrases_ok = accepted(held_out @ pool.T)
    known_ok = accepted(sound[:int(known.sum())])
    return {"slope": float(slope), "intercept": float(intercept),
            "threshold_similarity": float(-intercept / slope),
            "pool_phrases": phrases[0::2], "pool_phrase_embeddings": chosen,
            "non_sonic_check_refused": float(1.0 - check.mean()),
            "non_sonic_check_accepted": [w for w, a in zip(NON_SONIC_CHECK, check) if a],
            "held_out_phrases_accepted": float(phrases_ok.mean()),
            "held_out_phrases_refused": [p for p, a in zip(phrases[1::2], phrases_ok) if not a],
            "known_accepted": float(known_ok.mean()),
            "known_refused": [w for w, a in zip(np.array(words)[known], known_ok) if not a]}


def eq_space_scored_terms(manifest) -> list:
    """The terms whose scorer the EQ space fitted: the term scorer's first ``eq_space_terms`` (all of them
    in a bundle without the vocabulary)."""
    scorer = manifest["term_scorer"]
    return scorer["terms"][:scorer.get("eq_space_terms", len(scorer["terms"]))]


def fit_word_scorers(bundle, evidence, entries) -> dict:
    """The term scorer's numbers for the known words the EQ space's scorer lacks: per word, the same
    non-negative logistic of its curve's boost and cut amounts, on the individual curves of every data
    word (the word's own against all others, equal weights), with the EQ space's L2 strength divided by
    the word's number of curves (``per-count``, as the scored terms were fitted)."""
    scored = set(eq_space_scored_terms(bundle.manifest))
    new = [e for e in entries if e["known"] and e["name"] not in scored]
    names = list(evidence)
    curves, labels = [], []
    for i, name in enumerate(names):
        own = evidence[name].individual
        if not len(own) and evidence[name].audealize is not None:
            own = evidence[name].audealize[None]
        curves.append(own)
        labels += [i] * len(own)
    curves, labels = np.concatenate(curves), np.array(labels)
    amounts = term_amounts(curves, np.array([e["curve_db"] for e in new]))
    l2 = float(bundle.manifest["term_scorer"]["l2"])
    fitted = {}
    for k, entry in enumerate(new):
        mine = labels == names.index(entry["name"])
        theta = fit_nonnegative_logistic(amounts[:, k], mine.astype(float), balanced_weights(mine),
                                         l2 / max(int(mine.sum()), 1))
        fitted[entry["name"]] = {"slope_boost": float(theta[0]), "slope_cut": float(theta[1]),
                                 "intercept": float(theta[2])}
    return fitted


def build_vocabulary(bundle, embed, data_dir=None, seed: int = 0) -> dict:
    """Everything the bundle's vocabulary needs; ``embed(texts) → (n, 384)`` unit vectors."""
    scale = bundle.manifest["training"]["eq_space"]["config"]["socialfx_db_scale"]
    evidence, data_sha256 = load_evidence(data_dir, scale)
    words = sorted(evidence, key=lambda w: (-evidence[w].support, w))
    support = np.array([evidence[w].support for w in words])
    curves = np.stack([evidence[w].human_curve() for w in words])

    def embed_texts(texts):
        return np.asarray(embed([placement.TEMPLATE.format(t) for t in texts]), dtype=np.float64)

    embeddings = embed_texts(words)
    everyone = np.ones(len(words), bool)  # every word of the data sets is a neighbour for placement
    evaluated = support >= EVALUATED_SUPPORT
    temperature = choose_temperature(embeddings, curves, everyone, np.flatnonzero(evaluated), seed)
    study = support_study(words, evidence, embeddings, temperature, seed)
    known = support >= study["min_support"]
    entries = _word_entries(bundle, evidence, words, known)
    points = np.array([e["centroid"] for e in entries], dtype=np.float64)
    evaluation = cross_validate(words, embeddings, curves, everyone, evaluated, seed, points,
                                lambda latents: bundle.decode(latents)[1])
    refusal = fit_refusal(words, embeddings, known, embed_texts, data_phrases(data_dir))

    absent = [w for w in UNSEEN_SOUND_WORDS if w not in evidence]
    return {
        "format": "semeq-vocabulary/1",
        "config": {"template": placement.TEMPLATE, "neighbours": placement.NEIGHBOURS, "seed": seed,
                   "temperatures": list(TEMPERATURES), "spread_prior": SPREAD_PRIOR,
                   "socialfx_db_scale": scale, "eq_graphs_sha256": {
                       role: graph_sha256(bundle.path / bundle.manifest["models"][role]["file"])
                       for role in ("eq_encoder", "eq_decoder")}},
        "data_sha256": data_sha256,
        "min_support": study["min_support"],
        "temperature": temperature,
        "confidence": {"slope": refusal.pop("slope"), "intercept": refusal.pop("intercept"),
                       "phrases": refusal.pop("pool_phrases"),
                       "phrase_embeddings": refusal.pop("pool_phrase_embeddings").astype(np.float32).tolist()},
        "words": entries,
        "scorers": fit_word_scorers(bundle, evidence, entries),
        "embeddings": embeddings.astype(np.float32).tolist(),
        "metrics": {"support_study": study, "cross_validation": evaluation, "refusal": refusal,
                    "words_in_data": len(words), "known_words": int(known.sum()),
                    "unseen_probe_words": absent[:30]},
    }


def _word_entries(bundle, evidence, names, known) -> list:
    """One entry per word of the data sets (``known``: used as a term): the core terms' points
    unchanged, every other word's from its human curve."""
    core = {t["name"]: t for t in bundle.manifest["terms"] if t["name"] in eq_space_scored_terms(bundle.manifest)}
    missing = sorted(set(core) - {n for n, k in zip(names, known) if k})
    if missing:
        raise ValueError(f"core terms below the known-word support: {missing}")
    core_spread = np.mean([t["spread"] for t in core.values()], axis=0)
    centroids = bundle.encode_curve(np.stack([evidence[n].human_curve() for n in names]).astype(np.float32))
    params, responses = bundle.decode(centroids)
    entries = []
    for k, name in enumerate(names):
        e = evidence[name]
        entry = {"name": name, "known": bool(known[k]), "count": e.support, "counts": e.counts,
                 "agreement": e.agreement, "audealize_agreement": e.audealize_agreement}
        if name in core:
            entry.update({key: core[name][key] for key in ("centroid", "spread", "params", "curve_db")})
        else:
            points = bundle.encode_curve(e.individual.astype(np.float32)) if len(e.individual) else centroids[:0]
            n = len(points)
            own = points.std(0) if n >= 2 else np.zeros_like(core_spread)
            spread = np.sqrt((n * own ** 2 + SPREAD_PRIOR * core_spread ** 2) / (n + SPREAD_PRIOR))
            entry.update({"centroid": centroids[k].tolist(), "spread": spread.tolist(),
                          "params": params[k].tolist(), "curve_db": responses[k].tolist()})
        entries.append(entry)
    return entries
