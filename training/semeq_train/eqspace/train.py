"""Training of the EQ space: an autoencoder curve → z → 13 parameters → curve (eqdef), with the loss
in dB, plus a class-balanced term loss on z that organises the space by meaning.

Each step mixes three batches:
- real SAFE-DB training settings (loss on the full curve, level included);
- SocialFX training curves (loss on the level-free curve: their level is not defined);
- synthetic 5-band settings (each parameter drawn from the SAFE training marginal or uniformly in
  its range), which teach the decoder to invert the whole parameter space, not only seen users.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
from tqdm import tqdm

from semeq_rt import eqdef

from . import curves as eqcurves
from .data import SPLITS, EqCorpus
from .model import EqDecoder, EqEncoder
from .space import EqSpace
from .terms import fit_term_scorer, term_table


@dataclass
class TrainConfig:
    seed: int = 0
    latent_dim: int = 17  # 16 learned shape coordinates + the level
    hidden: int = 256
    depth: int = 2
    steps: int = 12000
    batch_safe: int = 128
    batch_socialfx: int = 64
    batch_synthetic: int = 128
    synthetic_pool: int = 100_000
    lr: float = 2e-3
    term_loss_weight: float = 0.3
    # terms.L2_MODES: the scorer's L2 penalty divided by the term's example count, or shared
    scorer_l2: str = "per-count"
    min_examples: int = 5
    threads: int = 1

    @classmethod
    def smoke(cls, **overrides) -> "TrainConfig":
        """Seconds-long version for CI: same code path, small network and few steps."""
        base = dict(hidden=64, steps=300, batch_safe=64, batch_socialfx=32, batch_synthetic=64,
                    synthetic_pool=5_000)
        return cls(**{**base, **overrides})


def synthetic_settings(n: int, safe_params: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """n random 5-band settings: each parameter from the SAFE marginal (p = ½) or uniform in range
    (log-uniform for frequencies and Q); peaks ordered by frequency."""
    low, high = eqdef.PARAM_LOW, eqdef.PARAM_HIGH
    log_scale = np.array([unit != "dB" for _, unit, _, _ in eqdef.PARAM_LAYOUT])
    u = rng.random((n, eqdef.N_PARAMS))
    uniform = low + u * (high - low)
    lo, hi = low[log_scale], high[log_scale]
    uniform[:, log_scale] = np.exp(np.log(lo) + u[:, log_scale] * np.log(hi / lo))
    marginal = safe_params[rng.integers(0, len(safe_params), (n, eqdef.N_PARAMS)), np.arange(eqdef.N_PARAMS)]
    return eqcurves.sort_peaks(np.where(rng.random((n, eqdef.N_PARAMS)) < 0.5, marginal, uniform))


def _term_weights(labels: np.ndarray, n_terms: int) -> torch.Tensor:
    """Cross-entropy weights 1 / count, normalised to mean 1: every term counts equally (``train``
    has checked that every term has a training example)."""
    weights = 1.0 / np.bincount(labels, minlength=n_terms).astype(np.float64)
    return torch.as_tensor(weights / weights.mean(), dtype=torch.float32)


def curve_mse(params: torch.Tensor, target: torch.Tensor, level_free: bool = False) -> torch.Tensor:
    pred = eqdef.params_response_db(params)
    if level_free:
        pred, target = eqcurves.remove_level(pred), eqcurves.remove_level(target)
    return ((pred - target) ** 2).mean()


def train(corpus: EqCorpus, config: TrainConfig, progress: bool = True) -> EqSpace:
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    rng = np.random.default_rng(config.seed)
    n_terms = len(corpus.terms)

    train_safe = corpus.select("train", "safe")
    train_sfx = corpus.select("train", "socialfx")
    safe_x = torch.as_tensor(corpus.curves[train_safe])
    safe_y = torch.as_tensor(corpus.term[train_safe])
    sfx_x = torch.as_tensor(corpus.curves[train_sfx])
    sfx_y = torch.as_tensor(corpus.term[train_sfx])
    synth_x = torch.as_tensor(eqcurves.safe_curves(
        synthetic_settings(config.synthetic_pool, corpus.params[train_safe], rng)), dtype=torch.float32)
    train_labels = corpus.term[corpus.select("train") & (corpus.term >= 0)]
    missing = [corpus.terms[k] for k in np.flatnonzero(np.bincount(train_labels, minlength=n_terms) == 0)]
    if missing:  # its centroid would be undefined
        raise ValueError(f"no training example of the term(s) {', '.join(missing)} in this split "
                         "(with cross-validation: use more folds)")
    term_weights = _term_weights(train_labels, n_terms)

    encoder = EqEncoder(config.latent_dim, config.hidden, config.depth)
    decoder = EqDecoder(config.latent_dim, config.hidden, config.depth)
    term_head = torch.nn.Linear(config.latent_dim, n_terms)
    modules = torch.nn.ModuleList([encoder, decoder, term_head])
    optimiser = torch.optim.AdamW(modules.parameters(), lr=config.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, config.lr, total_steps=config.steps)
    generator = torch.Generator().manual_seed(config.seed)

    def batch(x, n, y=None):
        idx = torch.randint(0, len(x), (n,), generator=generator)
        return (x[idx], None if y is None else y[idx])

    started = time.time()
    bar = tqdm(range(config.steps), desc="eq space", disable=not progress, mininterval=1.0)
    for _ in bar:
        xs, ys = batch(safe_x, config.batch_safe, safe_y)
        xf, yf = batch(sfx_x, config.batch_socialfx, sfx_y)
        xg, _ = batch(synth_x, config.batch_synthetic)
        z = encoder(torch.cat([xs, xf, xg]))
        params = decoder(z)
        ns, nf = len(xs), len(xf)
        loss_safe = curve_mse(params[:ns], xs)
        loss_sfx = curve_mse(params[ns:ns + nf], xf, level_free=True)
        loss_synth = curve_mse(params[ns + nf:], xg)
        labels = torch.cat([ys, yf])
        labelled = labels >= 0
        loss_term = torch.nn.functional.cross_entropy(
            term_head(z[:ns + nf][labelled]), labels[labelled], weight=term_weights)
        loss = loss_safe + loss_sfx + loss_synth + config.term_loss_weight * loss_term
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        bar.set_postfix(safe_db=f"{loss_safe.item() ** 0.5:.2f}", sfx_db=f"{loss_sfx.item() ** 0.5:.2f}",
                        term=f"{loss_term.item():.2f}", refresh=False)

    return build_space(corpus, config, encoder, decoder, train_seconds=time.time() - started)


def build_space(corpus: EqCorpus, config: TrainConfig, encoder, decoder, train_seconds: float) -> EqSpace:
    """Term centroids, their EQs and the term scorer from the trained networks, assembled as an EqSpace."""
    encoder.eval()
    decoder.eval()
    labelled = corpus.term >= 0
    train_mask = labelled & (corpus.split == SPLITS.index("train"))
    val_mask = labelled & (corpus.split == SPLITS.index("val"))
    with torch.no_grad():
        z_all = encoder(torch.as_tensor(corpus.curves))
        decoded = eqdef.params_response_db(decoder(z_all).double()).numpy()
    z_all = z_all.numpy()
    labels = corpus.term
    centroids = np.stack([z_all[train_mask & (labels == k)].mean(0) for k in range(len(corpus.terms))])
    with torch.no_grad():
        centroid_params = decoder(torch.as_tensor(centroids, dtype=torch.float32)).double()
    centroid_curves = eqdef.params_response_db(centroid_params).numpy()
    scorer = fit_term_scorer(decoded[train_mask], labels[train_mask], decoded[val_mask], labels[val_mask],
                             centroid_curves, l2_mode=config.scorer_l2)
    counts = {}
    for k, name in enumerate(corpus.terms):
        per_split = {s: int((corpus.term[corpus.split == i] == k).sum()) for i, s in enumerate(SPLITS)}
        counts[name] = {**corpus.term_counts[name], **per_split, "total": sum(per_split.values())}
    terms = term_table(corpus.terms, z_all[train_mask], labels[train_mask], corpus.curves[train_mask],
                       centroid_params.numpy(), centroid_curves, counts)
    full_config = {**asdict(config), "socialfx_db_scale": corpus.socialfx_db_scale,
                   "train_seconds": round(train_seconds, 1)}
    return EqSpace(encoder, decoder, scorer, terms, full_config, {}, corpus.data_sha256)
