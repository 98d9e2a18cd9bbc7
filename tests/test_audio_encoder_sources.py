"""Generated training sources: pink noise is really pink, the other sources span a wide range of
spectral tilts, and real recordings come only from training tracks."""
import numpy as np
import pytest

from semeq_rt import eqdef, ltas
from semeq_train import music
from semeq_train.audio import sources
from semeq_train.audio.data import TrainingAudio
from semeq_train.audio.eq import SafeEqSampler
from semeq_train.audio.model import WINDOW
from semeq_train.audio.reference import tilt_db_per_octave


def test_pink_noise_falls_3_db_per_octave_everywhere_in_the_band():
    # 4 × 20 s: enough frames that the narrow low 1/3-octave bands are estimated to ~0.1 dB
    clips = sources.pink_noise(4, 20 * ltas.SAMPLE_RATE, np.random.default_rng(0))
    density = np.mean([10 ** (ltas.ltas_db(c) / 10) for c in clips], axis=0)
    level = 10 * np.log10(density)
    # level drop over each octave from 50 Hz up to 16 kHz (grid points 12 apart = 1 octave)
    band = np.flatnonzero(ltas.BAND_MASK)
    drops = level[band[12:]] - level[band[:-12]]
    assert np.all(np.abs(drops + 3.01) <= 0.5), drops
    assert tilt_db_per_octave(level) == pytest.approx(-3.01, abs=0.1)


@pytest.mark.parametrize("name", ["coloured_noise", "tones", "percussion"])
def test_synthetic_sources_have_varied_tilts(name):
    clips = getattr(sources, name)(24, WINDOW, np.random.default_rng(1))
    assert np.all(np.isfinite(clips))
    assert np.allclose(np.sqrt(np.mean(clips**2, axis=1)), 1.0)
    tilts = tilt_db_per_octave(np.stack([ltas.ltas_db(c) for c in clips]))
    assert tilts.max() - tilts.min() > 4.0


def test_real_recordings_come_from_training_tracks_only():
    data = TrainingAudio("full", SafeEqSampler("train"), WINDOW, seed=0)
    _, validation = music.split_tracks(music.list_tracks())
    assert data.tracks and not {t.group for t in validation} & {t.group for t in data.tracks}
    audio, params, which = data.batch(16)
    assert audio.shape == (16, WINDOW) and params.shape == (16, eqdef.N_PARAMS)
