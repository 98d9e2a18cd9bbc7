"""The Debian music packages: fetched by the project's own script, listed, split by whole track/kit,
decoded to 48 kHz mono."""
import numpy as np
import pytest
import soundfile

from semeq_train import music


@pytest.fixture(scope="module")
def tracks():
    music.fetch()  # apt-get download + dpkg -x into the cache (once per machine)
    return music.list_tracks()


def test_every_package_has_tracks_in_both_splits(tracks):
    train, validation = music.split_tracks(tracks)
    for package in music.PACKAGES:
        assert any(t.package == package for t in train), package
        assert any(t.package == package for t in validation), package


def test_no_track_or_kit_is_in_both_splits(tracks):
    train, validation = music.split_tracks(tracks)
    assert {t.group for t in train}.isdisjoint({t.group for t in validation})
    assert len(train) + len(validation) == len(tracks)
    kits = {t.group for t in tracks if t.kind == "drums"}
    assert len(kits) < sum(t.kind == "drums" for t in tracks), "drum hits are grouped by kit"


def test_split_is_a_pure_function_of_the_track_names(tracks):
    shuffled = [tracks[i] for i in np.random.default_rng(1).permutation(len(tracks))]
    assert music.validation_groups(shuffled) == music.validation_groups(tracks)


def test_only_music_of_hyperrogue_is_used(tracks):
    names = [t.name for t in tracks if t.package == "hyperrogue-music"]
    assert names and all("/music/" in n for n in names)


def test_decoded_audio_is_mono_48k_and_cached(tracks, tmp_path):
    track = next(t for t in tracks if t.kind == "music")
    info = soundfile.info(str(track.path))
    mid = music.load_mid(track, 48000)
    assert mid.ndim == 1 and mid.dtype == np.float32
    assert abs(len(mid) - info.frames * 48000 / info.samplerate) <= 2
    stereo, _ = soundfile.read(str(track.path), frames=info.samplerate, dtype="float64", always_2d=True)
    assert np.sqrt(np.mean(mid[:48000] ** 2)) == pytest.approx(np.sqrt(np.mean(stereo.mean(1) ** 2)), rel=0.05)
    assert (music.music_dir() / "decoded-48000" / track.package / (track.name + ".npy")).exists()
