"""Training audio on the fly: a mix of sources (``sources``), each through a random SAFE-DB EQ
(``eq``) and a random gain. The label is computed from the result by the definition (front end →
balance → EQ encoder), so it is the latent of the *total* balance: source balance plus EQ.
"""
from __future__ import annotations

import numpy as np
import torch

from semeq_rt import ltas

from .. import music
from . import sources
from .eq import apply_eq

#: Source shares of each training mix. "pink" is the ablation: the encoder that has only heard noise.
MIXES = {
    "full": {"pink": 0.10, "coloured": 0.15, "tones": 0.15, "percussion": 0.10, "music": 0.35, "drums": 0.15},
    "pink": {"pink": 1.0},
}
#: Random gain range in dB (the front end is level-free; the gain exercises that).
GAIN_DB = (-40.0, 0.0)


class TrainingAudio:
    """Batches of (audio (n, length) float32 torch, EQ settings (n, 13), source index (n,))."""

    def __init__(self, mix: str, eq_sampler, length: int, seed: int, music_dir=None):
        self.shares = MIXES[mix]
        self.names = list(self.shares)
        self.probs = np.array([self.shares[k] for k in self.names])
        self.length, self.eq_sampler = length, eq_sampler
        self.rng = np.random.default_rng(seed)
        self.generators = {"pink": sources.pink_noise, "coloured": sources.coloured_noise,
                           "tones": sources.tones, "percussion": sources.percussion}
        self.data_sha256 = dict(eq_sampler.sha256)
        self.tracks = []
        real = [k for k in ("music", "drums") if k in self.shares]
        if real:
            wanted = [p for k in real for p in (music.MUSIC_PACKAGES if k == "music" else music.DRUM_PACKAGES)]
            hashes = music.fetch(wanted, music_dir)
            train, _ = music.split_tracks(music.list_tracks(wanted, music_dir))
            self.data_sha256.update({f"{p}.deb": h for p, h in hashes.items()})
            self.tracks = train
            if "music" in real:
                self.generators["music"] = sources.MusicWindows([t for t in train if t.kind == "music"], music_dir)
            if "drums" in real:
                self.generators["drums"] = sources.DrumSequences([t for t in train if t.kind == "drums"], music_dir)

    def batch(self, n: int):
        which = self.rng.choice(len(self.names), size=n, p=self.probs)
        audio = np.empty((n, self.length))
        for k in np.unique(which):
            rows = np.flatnonzero(which == k)
            audio[rows] = self.generators[self.names[k]](len(rows), self.length, self.rng)
        params = self.eq_sampler.sample(n, self.rng)
        gains = 10.0 ** (self.rng.uniform(*GAIN_DB, (n, 1)) / 20.0)
        out = apply_eq(torch.from_numpy(audio), torch.from_numpy(params), ltas.SAMPLE_RATE) * torch.from_numpy(gains)
        return out.to(torch.float32), params, which
