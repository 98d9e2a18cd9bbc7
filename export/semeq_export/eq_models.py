"""The EQ space's part of the bundle: EQ encoder and decoder specs, terms, term scorer, training facts."""
from __future__ import annotations

import numpy as np
import torch

from semeq_rt import eqdef
from semeq_rt.bundle import TERM_SCORER_KIND

from .graphs import EqDecoderGraph
from .model_spec import ModelSpec, OutputCheck
from .onnx_file import tensor_spec
from .parity import LATENT_TOLERANCE, PARAM_TOLERANCE_OF_RANGE, RESPONSE_TOLERANCE_DB

N_RANDOM = 256


def random_eq_curves(rng: np.random.Generator, n: int = N_RANDOM) -> np.ndarray:
    """Responses of random settings within eqdef's ranges (frequencies and Q log-uniform), at random
    levels (the encoder must remove them)."""
    log_param = np.array([unit == "Hz" or name.endswith("_q") for name, unit, _, _ in eqdef.PARAM_LAYOUT])
    low, high = eqdef.PARAM_LOW.copy(), eqdef.PARAM_HIGH.copy()
    low[log_param], high[log_param] = np.log(low[log_param]), np.log(high[log_param])
    params = rng.uniform(low, high, size=(n, eqdef.N_PARAMS))
    params[:, log_param] = np.exp(params[:, log_param])
    levels = rng.uniform(-20.0, 20.0, size=(n, 1))
    return (eqdef.params_response_db(params) + levels).astype(np.float32)


def real_eq_curves(space, data_dir=None) -> tuple:
    """Held-out (test split) SAFE-DB and SocialFX curves, as the EQ space's training split them."""
    from semeq_train.eqspace.data import build_corpus

    corpus = build_corpus(data_dir, seed=int(space.config.get("seed", 0)))
    curves = corpus.curves[corpus.select("test")]
    return curves.astype(np.float32), f"{len(curves)} held-out SAFE-DB/SocialFX curves (test split)"


def term_table(space) -> list:
    """Manifest entries of the kept terms: centroid, spread (float32, as trained), total example count,
    the counts by source and split, and the decoded centroid's EQ when the checkpoint has them."""
    entries = []
    for name in space.term_names:
        facts = space.terms[name]
        entry = {"name": name, "centroid": np.asarray(facts["centroid"], dtype=np.float32),
                 "spread": np.asarray(facts["spread"], dtype=np.float32), "count": _total_count(facts["count"])}
        if isinstance(facts["count"], dict):
            entry["counts"] = {k: int(v) for k, v in facts["count"].items()}
        for key in ("params", "curve_db"):
            if key in facts:
                entry[key] = np.asarray(facts[key], dtype=np.float64)
        entries.append(entry)
    return entries


def _total_count(count) -> int:
    if isinstance(count, dict):
        return int(count["total"]) if "total" in count else int(sum(count.values()))
    return int(count)


def term_scorer(space) -> dict:
    """The calibrated term scorer (docs/eq-space.md) as numbers, so a runtime computes it without torch;
    its reference curves are the terms' ``curve_db``."""
    scorer = space.scorer
    if scorer["kind"] != TERM_SCORER_KIND:  # the formula below is this kind's
        raise ValueError(f"the EQ space's term scorer is of kind {scorer['kind']!r}; this export writes "
                         f"{TERM_SCORER_KIND!r}: retrain it with `semeq-train eq`")
    return {
        "kind": TERM_SCORER_KIND,
        "formula": "over 50 Hz-16 kHz: c = the decoded dB curve minus its mean, r_k = terms[k].curve_db minus "
                   "its mean; boost_k = <max(c, 0), r_k> / |r_k|^2, cut_k = <min(c, 0), r_k> / |r_k|^2; "
                   "score_k = 1 / (1 + exp(-(slope_boost_k * boost_k + slope_cut_k * cut_k + intercept_k)))",
        "terms": list(space.term_names),
        **{key: [float(v) for v in scorer[key]] for key in ("slope_boost", "slope_cut", "intercept")},
        "l2": float(scorer["l2"]),
    }


def eq_models(space, real_curves: np.ndarray, real_desc: str, rng: np.random.Generator) -> list:
    """Specs of eq_encoder (curve → latent) and eq_decoder (latent → params, response)."""
    dim = space.latent_dim
    with torch.no_grad():
        real_latents = space.encoder(torch.from_numpy(real_curves)).numpy()
    centroids = np.array([space.terms[n]["centroid"] for n in space.term_names], dtype=np.float32)
    # Random latents spread twice as wide as the held-out data's, around its mean.
    mean, std = real_latents.mean(0), real_latents.std(0) + 1e-3
    random_latents = (mean + 2.0 * std * rng.standard_normal((N_RANDOM, dim))).astype(np.float32)
    latent_check = OutputCheck("latent", LATENT_TOLERANCE)
    decoder_graph = EqDecoderGraph(space.decoder)
    return [
        ModelSpec(
            role="eq_encoder", module=space.encoder, reference=space.encoder,
            inputs=[tensor_spec("curve_db", [eqdef.N_GRID])], outputs=[tensor_spec("latent", [dim])],
            checks=[latent_check],
            doc="semeq EQ encoder: dB magnitude response on FREQ_GRID (121 points, 20 Hz-20 kHz) → latent.",
            random_inputs=random_eq_curves(rng), real_inputs=real_curves, real_inputs_desc=real_desc,
        ),
        ModelSpec(
            role="eq_decoder", module=decoder_graph, reference=decoder_graph,
            inputs=[tensor_spec("latent", [dim])],
            outputs=[tensor_spec("params", [eqdef.N_PARAMS]), tensor_spec("response_db", [eqdef.N_GRID])],
            checks=[OutputCheck("params", PARAM_TOLERANCE_OF_RANGE, eqdef.PARAM_HIGH - eqdef.PARAM_LOW,
                                "fraction of range"),
                    OutputCheck("response_db", RESPONSE_TOLERANCE_DB, 1.0, "dB")],
            doc="semeq EQ decoder: latent → 13 EQ parameters (eqdef layout) and their dB response on FREQ_GRID.",
            random_inputs=random_latents, real_inputs=np.concatenate([real_latents, centroids]),
            real_inputs_desc=f"latents of the {real_desc} and the {len(centroids)} term centroids",
        ),
    ]


def eq_training_facts(space, checkpoint_sha256: str) -> dict:
    return {"checkpoint_sha256": checkpoint_sha256, "config": space.config,
            "data_sha256": space.data_sha256, "metrics": space.metrics}
