"""Training loop of the audio encoder. Batches of generated audio (``data``) go through the front end
to balances; the head is trained to output the latent whose decoded EQ curve best fits the balance
(level-free dB error over 50 Hz–16 kHz), kept on the EQ encoder's own image (the latent of that
decoded curve; a cycle term), so that term scores read it as they read any EQ's latent. A difference
term asks that an EQ e added to a balance moves the decoded curve by e: the runtime applies
decode(z_target) − decode(z_audio), so what it must get right is how z_audio changes with the audio's EQ
(a pre-EQ'd input is compensated, a second pass changes little), not only where z_audio is.

Generated balances go to a replay buffer that several optimiser steps sample from, because generating
audio costs far more than a step of the head.
"""
from __future__ import annotations

import sys
import time

import numpy as np
import torch
from tqdm import tqdm

from semeq_rt import eqdef, ltas

from .data import TrainingAudio
from .eq import SafeEqSampler
from .model import WINDOW, AudioEncoder

DEFAULT_CONFIG = {
    "mix": "full", "steps": 360, "batch": 32, "updates_per_batch": 4, "minibatch": 256, "buffer": 8192,
    "lr": 2e-3, "hidden": 256, "depth": 3, "cycle_weight": 1.0, "difference_weight": 3.0, "seed": 0, "threads": 1,
}
#: CI's seconds-long run of the same code path.
SMOKE_CONFIG = {"steps": 3, "batch": 8, "updates_per_batch": 2, "minibatch": 16, "buffer": 64}

_BAND = torch.as_tensor(ltas.BAND_MASK)


def level_free_band(curves: torch.Tensor) -> torch.Tensor:
    band = curves[:, _BAND]
    return band - band.mean(dim=-1, keepdim=True)


def projection_losses(z: torch.Tensor, balance: torch.Tensor, space) -> tuple:
    """(fit, cycle): mean squared level-free dB error of decode(z) against the balance over the band,
    and squared distance of z from the encoding of its own decoded curve. Differentiable in z."""
    curve = eqdef.params_response_db(space.decoder(z).double())
    fit = torch.mean((level_free_band(curve) - level_free_band(balance.double())) ** 2)
    cycle = torch.mean((z - space.encoder(curve.float())) ** 2)
    return fit.float(), cycle


def with_eq(balance: torch.Tensor, eq_db: torch.Tensor) -> torch.Tensor:
    """The balance of the same audio through an EQ of response ``eq_db`` (both on FREQ_GRID): over the
    band the sum, level removed and clipped as the front end does (``ltas.BALANCE_LIMIT_DB``); the
    head reads only the band."""
    band = balance[:, _BAND] + eq_db[:, _BAND]
    band = (band - band.mean(dim=-1, keepdim=True)).clamp(-ltas.BALANCE_LIMIT_DB, ltas.BALANCE_LIMIT_DB)
    out = balance.clone()
    out[:, _BAND] = band
    return out


def difference_loss(z: torch.Tensor, z_eq: torch.Tensor, eq_db: torch.Tensor, space) -> torch.Tensor:
    """Mean squared level-free dB error of decode(z_eq) − decode(z) against the EQ's response."""
    curves = eqdef.params_response_db(space.decoder(torch.cat([z, z_eq])).double())
    change = level_free_band(curves[len(z):] - curves[:len(z)])
    return torch.mean((change - level_free_band(eq_db.double())) ** 2).float()


def train(config: dict, space, music_dir=None, progress: bool = True):
    """Train an ``AudioEncoder`` for ``space`` (an EqSpace); returns (model, data_sha256, train_seconds)."""
    torch.manual_seed(config["seed"])
    torch.set_num_threads(config["threads"])
    for net in (space.encoder, space.decoder):
        net.requires_grad_(False)
    sampler = SafeEqSampler("train", seed=space.config["seed"])
    data = TrainingAudio(config["mix"], sampler, WINDOW, config["seed"], music_dir)
    model = AudioEncoder(space.latent_dim, config["hidden"], config["depth"])
    optimiser = torch.optim.Adam(model.head.parameters(), lr=config["lr"])
    total_updates = config["steps"] * config["updates_per_batch"]
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, config["lr"], total_steps=total_updates, pct_start=0.1)
    eq_rng = np.random.default_rng(config["seed"] + 1)
    eq_pool = torch.as_tensor(eqdef.params_response_db(sampler.sample(config["buffer"], eq_rng)), dtype=torch.float32)
    balances = torch.empty(config["buffer"], model.frontend.hold_index.numel())
    filled = position = 0
    generator = torch.Generator().manual_seed(config["seed"])
    start = time.time()
    bar = tqdm(range(config["steps"]), desc=f"audio encoder ({config['mix']})", disable=not progress, file=sys.stderr)
    for _ in bar:
        audio, _, _ = data.batch(config["batch"])
        with torch.no_grad():
            balance = model.frontend(audio)
        rows = (position + torch.arange(len(balance))) % config["buffer"]
        balances[rows] = balance
        position = int(rows[-1]) + 1
        filled = min(config["buffer"], filled + len(balance))
        for _ in range(config["updates_per_batch"]):
            pick = balances[torch.randint(0, filled, (config["minibatch"],), generator=generator)]
            eq_db = eq_pool[torch.randint(0, len(eq_pool), (config["minibatch"],), generator=generator)]
            eq_db = eq_db * (torch.randint(0, 2, (len(eq_db), 1), generator=generator) * 2 - 1)  # boosts and cuts
            z = model.from_balance(pick)
            fit, cycle = projection_losses(z, pick, space)
            difference = difference_loss(z, model.from_balance(with_eq(pick, eq_db)), eq_db, space)
            loss = fit + config["cycle_weight"] * cycle + config["difference_weight"] * difference
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
        bar.set_postfix(fit_db2=f"{fit.item():.2f}", cycle=f"{cycle.item():.3f}",
                        difference_db2=f"{difference.item():.2f}")
    return model.eval(), data.data_sha256, time.time() - start


def generated_holdout_losses(model, space, mix: str, n: int, seed: int, music_dir=None) -> dict:
    """Fit (dB²) and cycle losses on freshly generated audio of ``mix`` through held-out SAFE EQs."""
    data = TrainingAudio(mix, SafeEqSampler("test", seed=space.config["seed"]), WINDOW, seed + 1, music_dir)
    audio, _, _ = data.batch(n)
    with torch.no_grad():
        balance = model.frontend(audio)
        fit, cycle = projection_losses(model.from_balance(balance), balance, space)
    return {"fit_db2": float(fit), "cycle": float(cycle), "n": n}
