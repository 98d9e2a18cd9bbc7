"""The neutral reference shipped in semeq_rt.ltas is what its command recomputes from the training
tracks, and it differs from pink noise the way the docs say (music is darker)."""
import numpy as np
import pytest

from semeq_rt import ltas
from semeq_train import music
from semeq_train.audio.reference import REFERENCE_PACKAGES, music_reference_db, tilt_db_per_octave, track_ltas


def test_shipped_reference_is_reproducible():
    assert np.abs(music_reference_db() - ltas.MUSIC_REFERENCE_DB).max() <= 0.006  # printed to 0.01 dB


def test_pink_reference_is_minus_3_db_per_octave():
    assert tilt_db_per_octave(ltas.pink_reference_db()) == pytest.approx(-3.0103, abs=1e-3)


def test_typical_validation_track_is_nearer_the_music_reference_than_pink():
    _, validation = music.split_tracks(music.list_tracks(REFERENCE_PACKAGES))
    curves = track_ltas(validation)

    def distance(reference):
        diff = (curves - reference)[:, ltas.BAND_MASK]
        diff -= diff.mean(axis=1, keepdims=True)
        return np.sqrt(np.mean(diff**2, axis=1))

    assert np.median(distance(ltas.MUSIC_REFERENCE_DB)) < np.median(distance(ltas.pink_reference_db()))
    assert np.median(tilt_db_per_octave(curves) - tilt_db_per_octave(ltas.pink_reference_db())) < -1.0
