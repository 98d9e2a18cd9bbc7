"""How far adaptive mode goes on real music that no model saw: held-out Debian packages (a 22.05 kHz
MP3, a thin recording without bass, sub-bass-heavy and low-passed electronic music) and a track of the
training packages' validation split, "warm" and "bright" at intensity 1 through the file path
(docs/BENCHMARKS.md, "Adaptive safety", has the same checks on every clip of both validation sets)."""
import numpy as np
import pytest
import soundfile

import semeq_rt
from semeq_rt import eqdef, measures
from semeq_rt.processor import EMPTY_BOOST_DB
from semeq_rt.fileio import PRIME_SECONDS
from semeq_train import music

SECONDS = 12.0
#: (package, file name, where in the track the clip starts, s): what each one tests
CLIPS = {
    "mp3-22k": ("asc-music", "frontiers.mp3", 205.0),                 # band-limited MP3 at 22.05 kHz
    "thin": ("drascula-music", "track18.ogg", 40.0),                   # nothing below ~150 Hz
    "sub-heavy": ("singularity-music", "By-Product.ogg", 130.0),      # loudest band at 50 Hz
    "low-passed": ("singularity-music", "Chimes They Fade.ogg", 11.0),  # nothing above ~7 kHz
    "validation": ("nexuiz-music", "ninesix.ogg", 88.0),              # the first validation set
}


@pytest.fixture(scope="module")
def tracks():
    packages = tuple(music.HELD_OUT_PACKAGES) + ("nexuiz-music",)
    music.fetch(packages)  # apt-get download + dpkg -x into the cache (once per machine)
    return {t.name.rsplit("/", 1)[-1]: t for t in music.list_tracks(packages)}


def read_clip(tracks, name, seconds=SECONDS):
    package, file_name, start = CLIPS[name]
    track = tracks[file_name]
    assert track.package == package
    rate = soundfile.info(str(track.path)).samplerate
    audio, _ = soundfile.read(str(track.path), start=int(start * rate), frames=int(seconds * rate),
                              dtype="float32", always_2d=True)
    return np.ascontiguousarray(audio.T), rate


def through_file_path(audio, rate, term, tmp_path):
    src, dst = tmp_path / f"in-{term}.wav", tmp_path / f"out-{term}.wav"
    soundfile.write(str(src), audio.T, rate, subtype="FLOAT")
    semeq_rt.process_file(src, dst, term=term, intensity=1.0)
    out, _ = soundfile.read(str(dst), dtype="float32", always_2d=True)
    return np.ascontiguousarray(out.T)


@pytest.mark.parametrize("name", list(CLIPS))
def test_adaptive_eq_stays_within_bounds_on_real_music(tracks, name, tmp_path):
    audio, rate = read_clip(tracks, name)
    outputs = {}
    for term in ("warm", "bright"):
        out = outputs[term] = through_file_path(audio, rate, term, tmp_path)
        change = measures.eq_change(audio, out, rate)
        what = f"{name} {term}"
        assert abs(change["loudness_change_lu"]) <= 1.5, what
        assert change["peak_rise_db"] <= 6.0, what
        assert change["largest_boost_db"] <= 12.0, what
        assert change["largest_empty_boost_db"] <= 6.0, what
    assert measures.spectral_centroid(outputs["warm"], rate) < measures.spectral_centroid(outputs["bright"], rate)
    assert measures.low_high_ratio_db(outputs["warm"], rate) > measures.low_high_ratio_db(outputs["bright"], rate)


@pytest.mark.parametrize("name", ["mp3-22k", "thin", "low-passed"])
def test_no_boost_where_the_audio_has_no_content(tracks, name):
    # what the file lacks (above a sample rate's or a codec's low-pass, below a thin recording's
    # lowest register, in a notch) is found, and the EQ gives it no boost beyond the level's: none
    # outside the content span, at most EMPTY_BOOST_DB in a gap inside it
    audio, rate = read_clip(tracks, name)
    centres, levels = measures.third_octave_levels_db(audio, rate)
    empty = centres[(levels <= levels.max() - measures.EMPTY_BAND_DB) & (centres < eqdef.MAX_FREQ_FRACTION * rate)]
    for term in ("warm", "bright"):
        p = semeq_rt.Processor(term, sample_rate=rate, channels=audio.shape[0])
        p.prime(audio)
        low, high = p.content_span_hz
        assert high < rate / 2, (name, high)
        if name != "mp3-22k":  # (its bands below 0.45 × 22.05 kHz all hold content)
            assert len(empty), name
            assert np.max(p.applied_response(empty)) <= EMPTY_BOOST_DB + 0.5, (name, term)
        freqs = eqdef.FREQ_GRID[(eqdef.FREQ_GRID >= 50) & (eqdef.FREQ_GRID <= eqdef.MAX_FREQ_FRACTION * rate)]
        outside = freqs[(freqs < low / 1.26) | (freqs > high * 1.26)]
        if len(outside):
            assert np.max(p.applied_response(outside)) <= 0.5, (name, term)


def test_a_stream_gets_its_eq_within_half_a_second_and_settles_where_the_file_path_does(tracks):
    # no prime: the first analyses measure the window that has arrived so far
    audio, rate = read_clip(tracks, "validation", seconds=60.0)
    grid = eqdef.FREQ_GRID[(eqdef.FREQ_GRID >= 50) & (eqdef.FREQ_GRID <= 16000)]
    stream = semeq_rt.Processor("warm", sample_rate=rate, channels=2)
    half_second = int(0.5 * rate)
    for start in range(0, half_second, 512):
        stream.process(audio[:, start: min(start + 512, half_second)])
    assert stream.analyses >= 1
    assert np.max(np.abs(stream.applied_response(grid))) > 1.0
    for start in range(half_second, audio.shape[1], 4096):
        stream.process(audio[:, start: start + 4096])
    primed = semeq_rt.Processor("warm", sample_rate=rate, channels=2)  # as process_file runs it
    primed.prime(audio[:, : int(PRIME_SECONDS * rate)])
    for start in range(0, audio.shape[1], 65536):
        primed.process(audio[:, start: start + 65536])
    difference = stream.applied_response(grid) - primed.applied_response(grid)
    assert np.sqrt(np.mean(difference ** 2)) <= 1.0
