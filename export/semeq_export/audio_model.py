"""The audio encoder's part of the bundle: the specs of the whole encoder and of its head alone, its
input contract, neutral reference, training facts."""
from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from semeq_rt import eqdef, ltas

from .graphs import AudioEncoderGraph
from .model_spec import ModelSpec, OutputCheck
from .onnx_file import tensor_spec
from .parity import LATENT_TOLERANCE

N_RANDOM = 32


def random_audio(rng: np.random.Generator, window: int, sample_rate: float, n: int = N_RANDOM) -> np.ndarray:
    """White noise from −100 to +20 dBFS, plus the edge cases a stream delivers: digital silence and a
    pure low tone (all other bands at the floor)."""
    gains = 10.0 ** (rng.uniform(-100.0, 20.0, size=(n, 1)) / 20.0)
    audio = gains * rng.standard_normal((n, window))
    audio[0] = 0.0
    audio[1] = 0.5 * np.sin(2.0 * np.pi * 100.0 * np.arange(window) / sample_rate)
    return audio.astype(np.float32)


def real_audio(window: int, per_file: int, music_dir=None) -> tuple:
    """Windows of the music packages' validation tracks (never seen in training), their description,
    and the packages' .deb SHA-256."""
    from semeq_train.audio.evaluate import validation_clips

    clips, names, deb_sha256 = validation_clips(per_file, music_dir)
    if clips.shape[-1] != window:
        raise ValueError(f"validation clips have {clips.shape[-1]} samples, the encoder takes {window}")
    desc = f"{len(clips)} windows of {len(set(names))} validation tracks of the music packages"
    return clips.astype(np.float32), desc, deb_sha256


def audio_section(encoder) -> dict:
    contract = encoder.checkpoint["contract"]
    return {
        "sample_rate": contract["sample_rate"], "window": int(contract["window"]), "hop": int(contract["hop"]),
        "channels": int(contract["channels"]),
        "input": "mono (mean of the channels) float32 at sample_rate, any level; window samples per row",
        "aggregation": "a clip's latent is the mean of the latents of its windows, hop samples apart",
    }


def neutral_reference(encoder) -> dict:
    front = encoder.frontend
    return {
        "definition": "balance = 1/3-octave smoothed long-term average spectrum on eq.freq_grid_hz (Welch: "
                      f"periodic Hann frames of {front.n_fft} samples, hop {front.hop}, at audio.sample_rate), "
                      "in dB with its mean over analysis_band_hz removed, minus curve_db, mean removed again, "
                      "clamped to ±balance_limit_db, held at the band's edge values outside it; "
                      "z_audio = eq_encoder(balance). curve_db is the mean balance of the training tracks "
                      "of the music packages, 1-octave smoothed (docs/audio-encoder.md).",
        "curve_db": ltas.hold_edges(front.reference_band.numpy()),  # float32, as the model holds it
        "analysis_band_hz": list(ltas.ANALYSIS_BAND_HZ),
        "n_fft": int(front.n_fft), "frame_hop": int(front.hop),
        "smoothing_octaves": ltas.SMOOTHING_OCTAVES,
        "relative_floor": ltas.RELATIVE_FLOOR,
        "balance_limit_db": ltas.BALANCE_LIMIT_DB,
    }


class AudioHeadGraph(nn.Module):
    """The audio encoder after its front end: tonal balance (batch, 121) dB → latent. A streaming
    runtime computes the balance itself, frame by frame as the audio passes (semeq_rt.analysis), and
    runs only this part at each analysis."""

    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.encoder = encoder

    def forward(self, balance_db: torch.Tensor) -> torch.Tensor:
        return self.encoder.from_balance(balance_db)


def random_balances(rng: np.random.Generator, n: int = N_RANDOM) -> np.ndarray:
    """Balances as the front end gives them: music-like spread (sd 6 dB), clipped to its ±limit, held
    outside the analysis band; the first is flat (silence and white noise at the reference)."""
    band = np.clip(rng.normal(0.0, 6.0, (n, int(ltas.BAND_MASK.sum()))), -ltas.BALANCE_LIMIT_DB, ltas.BALANCE_LIMIT_DB)
    band[0] = 0.0
    return ltas.hold_edges(band).astype(np.float32)


def real_balances(encoder, real_windows: np.ndarray) -> np.ndarray:
    """The front end's balances (computed in float64) of the real parity windows."""
    front = copy.deepcopy(encoder.frontend).double().eval()
    with torch.no_grad():
        return front(torch.from_numpy(real_windows).double()).float().numpy()


def audio_models(encoder, real_windows: np.ndarray, real_desc: str, rng: np.random.Generator) -> list:
    """Specs of audio_encoder (raw audio window → latent) and audio_head (balance → latent)."""
    contract = encoder.checkpoint["contract"]
    window, dim = int(contract["window"]), int(encoder.checkpoint["config"]["latent_dim"])
    head = AudioHeadGraph(encoder)
    whole = ModelSpec(
        role="audio_encoder", module=AudioEncoderGraph(encoder, window), reference=encoder,
        inputs=[tensor_spec("audio", [window])], outputs=[tensor_spec("latent", [dim])],
        checks=[OutputCheck("latent", LATENT_TOLERANCE)],
        doc=f"semeq audio encoder: {window} mono samples at {contract['sample_rate']} Hz → latent of the "
            "audio's tonal balance (front end included).",
        random_inputs=random_audio(rng, window, float(contract["sample_rate"])),
        real_inputs=real_windows, real_inputs_desc=real_desc,
    )
    return [whole, ModelSpec(
        role="audio_head", module=head, reference=head,
        inputs=[tensor_spec("balance_db", [eqdef.N_GRID])], outputs=[tensor_spec("latent", [dim])],
        checks=[OutputCheck("latent", LATENT_TOLERANCE)],
        doc="semeq audio encoder head: tonal balance (dB on FREQ_GRID, as the audio encoder's front end "
            "computes it) → latent; audio_encoder = front end + this.",
        random_inputs=random_balances(rng), real_inputs=real_balances(encoder, real_windows),
        real_inputs_desc=f"front-end balances of the {real_desc}",
    )]


def audio_training_facts(encoder, checkpoint_sha256: str) -> dict:
    ckpt = encoder.checkpoint
    return {"checkpoint_sha256": checkpoint_sha256, "config": ckpt["config"], "contract": ckpt["contract"],
            "data_sha256": ckpt["data_sha256"], "metrics": ckpt["metrics"]}
