"""EQs for the audio encoder's training data: a differentiable 5-band EQ in torch built on eqdef's
RBJ formulas, and random settings drawn from SAFE-DB's user settings.

The EQ is applied exactly in the frequency domain: the clip's FFT is multiplied by the magnitude
response ``eqdef.params_response_db`` at every FFT bin. The label only depends on the long-term power
spectrum, which a biquad changes by exactly |H(f)|²; its phase (what a time-domain biquad adds) is
invisible to it. A whole-clip FFT makes that product a circular convolution with a zero-phase
response, whose wrap-around is the response's decay (tens of ms at most for SAFE's Q ≤ 10) against a
window of seconds. tests/test_audio_encoder_eq.py compares it with scipy's time-domain biquads.
"""
from __future__ import annotations

import numpy as np
import torch

from semeq_rt import eqdef

from ..data_paths import data_file, sha256_file
from ..eqspace.data import SAFE_FILE, SPLITS, load_safe, split_by_group

GAIN_INDEX = tuple(i for i, name in enumerate(eqdef.PARAM_NAMES) if name.endswith("_gain"))
FREQ_INDEX = tuple(i for i, name in enumerate(eqdef.PARAM_NAMES) if name.endswith("_freq"))
Q_INDEX = tuple(i for i, name in enumerate(eqdef.PARAM_NAMES) if name.endswith("_q"))


def eq_response_db(params: torch.Tensor, freqs, sample_rate: float = eqdef.REFERENCE_SAMPLE_RATE) -> torch.Tensor:
    """(batch, 13) settings (float64) → (batch, len(freqs)) dB response; differentiable."""
    return eqdef.params_response_db(params, freqs=freqs, sample_rate=sample_rate)


def apply_eq(audio: torch.Tensor, params: torch.Tensor,
             sample_rate: float = eqdef.REFERENCE_SAMPLE_RATE) -> torch.Tensor:
    """(batch, samples) audio through (batch, 13) settings, as a zero-phase magnitude filter (float64)."""
    n = audio.shape[-1]
    freqs = torch.fft.rfftfreq(n, d=1.0 / sample_rate, dtype=torch.float64)
    gain = 10.0 ** (eq_response_db(params.to(torch.float64), freqs, sample_rate) / 20.0)
    return torch.fft.irfft(torch.fft.rfft(audio.to(torch.float64)) * gain, n=n)


class SafeEqSampler:
    """Random 13-parameter settings from one split of SAFE-DB (split by user, as the EQ space is).

    Each draw is a user's setting, jittered (frequencies ±1/3 octave, Q ±1/2 octave, gains ×0.5–1.25)
    so that training sees the neighbourhood of the data set's settings, not only its 1,700 points;
    ``identity_share`` of draws is the flat EQ. ``jitter=False`` gives the settings as saved.
    """

    def __init__(self, split: str = "train", seed: int = 0, data_dir=None, identity_share: float = 0.1,
                 jitter: bool = True):
        path = data_file(SAFE_FILE, data_dir)
        safe = load_safe(path)
        chosen = split_by_group(safe.user, seed) == SPLITS.index(split)
        self.params, self.users = safe.params[chosen], safe.user[chosen]
        self.sha256 = {SAFE_FILE: sha256_file(path)}
        self.identity_share, self.jitter = identity_share, jitter

    def __len__(self):
        return len(self.params)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        params = self.params[rng.integers(0, len(self.params), n)].copy()
        if self.jitter:
            params[:, GAIN_INDEX] *= rng.uniform(0.5, 1.25, (n, len(GAIN_INDEX)))
            params[:, FREQ_INDEX] *= 2.0 ** rng.uniform(-1 / 3, 1 / 3, (n, len(FREQ_INDEX)))
            params[:, Q_INDEX] *= 2.0 ** rng.uniform(-0.5, 0.5, (n, len(Q_INDEX)))
            params = np.clip(params, eqdef.PARAM_LOW, eqdef.PARAM_HIGH)
        params[rng.random(n) < self.identity_share] = flat_params()
        return params


def flat_params() -> np.ndarray:
    """A 13-parameter setting with all gains 0 (frequencies and Q mid-range; they do not matter)."""
    params = np.sqrt(np.abs(eqdef.PARAM_LOW * eqdef.PARAM_HIGH))
    params[list(GAIN_INDEX)] = 0.0
    return params
