"""The two training checkpoints → one bundle: load them, check they belong together, export."""
from __future__ import annotations

import numpy as np

from semeq_rt.bundle import sha256_file

from .audio_model import audio_models, audio_section, audio_training_facts, neutral_reference, real_audio
from .decoder_params import add_decoder_params
from .eq_models import eq_models, eq_training_facts, real_eq_curves, term_scorer, term_table
from .export import write_bundle


def load_checkpoints(eq_checkpoint, audio_checkpoint):
    """(EqSpace, AudioEncoder with ``.checkpoint``) from the training checkpoints, checked to share
    one latent space."""
    from semeq_train.audio.model import load_checkpoint as load_audio
    from semeq_train.eqspace import load_checkpoint as load_eq

    space, encoder = load_eq(eq_checkpoint), load_audio(audio_checkpoint)
    config = encoder.checkpoint["config"]
    if config["latent_dim"] != space.latent_dim:
        raise ValueError(f"{audio_checkpoint}: latent_dim {config['latent_dim']} differs from the EQ space's "
                         f"{space.latent_dim} in {eq_checkpoint}: train the audio encoder on this EQ space")
    # The audio encoder's targets are this EQ space's latents: one trained on another space is useless.
    recorded = config.get("eqspace_sha256")
    if recorded is None:
        raise ValueError(f"{audio_checkpoint} does not record the SHA-256 of the EQ space it was trained on "
                         f"(config 'eqspace_sha256'), so its pairing with {eq_checkpoint} cannot be checked: "
                         "retrain it with the current `semeq-train audio`")
    if recorded != sha256_file(eq_checkpoint):
        raise ValueError(f"{audio_checkpoint} was trained on an EQ space with SHA-256 {recorded}, not on "
                         f"{eq_checkpoint}: retrain it with --eqspace {eq_checkpoint}")
    return space, encoder


def export_checkpoints(eq_checkpoint, audio_checkpoint, out_dir, *, data_dir=None, music_dir=None,
                       clips_per_track: int = 2, seed: int = 0, command: str = "") -> dict:
    """Export the bundle of these checkpoints into ``out_dir`` (docs/bundle.md); returns its manifest."""
    space, encoder = load_checkpoints(eq_checkpoint, audio_checkpoint)
    rng = np.random.default_rng(seed)
    curves, curves_desc = real_eq_curves(space, data_dir)
    window = int(encoder.checkpoint["contract"]["window"])
    clips, clips_desc, deb_sha256 = real_audio(window, clips_per_track, music_dir)
    specs = eq_models(space, curves, curves_desc, rng) + audio_models(encoder, clips, clips_desc, rng)
    audio_facts = audio_training_facts(encoder, sha256_file(audio_checkpoint))
    audio_facts["parity_clips_deb_sha256"] = deb_sha256
    write_bundle(
        specs, out_dir, latent_dim=space.latent_dim, audio=audio_section(encoder),
        neutral_reference=neutral_reference(encoder), terms=term_table(space),
        training={"eq_space": eq_training_facts(space, sha256_file(eq_checkpoint)), "audio_encoder": audio_facts},
        command=command, extra={"term_scorer": term_scorer(space)},
    )
    return add_decoder_params(out_dir)

