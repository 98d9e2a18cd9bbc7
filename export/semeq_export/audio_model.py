"""The audio encoder's part of the bundle: its spec, input contract, neutral reference, training facts."""
from __future__ import annotations

import numpy as np

from semeq_rt import ltas

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


def audio_model(encoder, real_windows: np.ndarray, real_desc: str, rng: np.random.Generator) -> ModelSpec:
    contract = encoder.checkpoint["contract"]
    window, dim = int(contract["window"]), int(encoder.checkpoint["config"]["latent_dim"])
    return ModelSpec(
        role="audio_encoder", module=AudioEncoderGraph(encoder, window), reference=encoder,
        inputs=[tensor_spec("audio", [window])], outputs=[tensor_spec("latent", [dim])],
        checks=[OutputCheck("latent", LATENT_TOLERANCE)],
        doc=f"semeq audio encoder: {window} mono samples at {contract['sample_rate']} Hz → latent of the "
            "audio's tonal balance (front end included).",
        random_inputs=random_audio(rng, window, float(contract["sample_rate"])),
        real_inputs=real_windows, real_inputs_desc=real_desc,
    )


def audio_training_facts(encoder, checkpoint_sha256: str) -> dict:
    ckpt = encoder.checkpoint
    return {"checkpoint_sha256": checkpoint_sha256, "config": ckpt["config"], "contract": ckpt["contract"],
            "data_sha256": ckpt["data_sha256"], "metrics": ckpt["metrics"]}
