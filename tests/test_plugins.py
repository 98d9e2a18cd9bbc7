"""The semeq plugins in real hosts that nobody here wrote: the VST3 in pedalboard, the LV2 in lv2file, on
real music (a 22.05 kHz MP3 and a 44.1 kHz Vorbis recording), against semeq_rt.Processor.

The plugins come from `bash scripts/build_plugins.sh DIR` (.ci/run builds them into build/plugins-out);
$SEMEQ_PLUGINS_DIR names another DIR. Outside CI, a checkout without them skips these tests; in CI (CI
set) missing plugins fail."""
import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

import semeq_rt
from semeq_rt import measures
from semeq_train import music

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = Path(os.environ.get("SEMEQ_PLUGINS_DIR", ROOT / "build" / "plugins-out"))
SECONDS = 15.0
CLIPS = (("asc-music", "frontiers.mp3", 205.0), ("drascula-music", "track5.ogg", 42.0))
PARAMETERS = ["term", "intensity", "mode", "adaptation", "loudness", "render"]


def plugin_path(name):
    path = PLUGINS / name
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing: .ci/run builds it with scripts/build_plugins.sh")
        pytest.skip(f"{path} not built (bash scripts/build_plugins.sh {PLUGINS})")
    return path


@pytest.fixture(scope="module")
def clips():
    packages = tuple({package for package, _, _ in CLIPS})
    music.fetch(packages)
    tracks = {t.name.rsplit("/", 1)[-1]: t for t in music.list_tracks(packages)}
    out = []
    for _, name, start in CLIPS:
        rate = soundfile.info(str(tracks[name].path)).samplerate
        audio, _ = soundfile.read(str(tracks[name].path), start=int(start * rate), frames=int(SECONDS * rate),
                                  dtype="float32", always_2d=True)
        out.append((np.ascontiguousarray(audio.T), rate))
    return out


def python_render(audio, rate, term, intensity):
    p = semeq_rt.Processor(term, intensity=intensity, sample_rate=rate, channels=len(audio))
    return np.concatenate([p.process(audio[:, i:i + 512]) for i in range(0, audio.shape[1], 512)], axis=1)


def vst3(path=None, **parameters):
    import pedalboard

    plugin = pedalboard.load_plugin(str(path or plugin_path("semeq.vst3")))
    for name, value in parameters.items():
        setattr(plugin, name, value)
    return plugin


def test_the_vst3_in_pedalboard_renders_what_the_processor_does(clips):
    plugin = vst3(render="exact")
    assert list(plugin.parameters) == PARAMETERS
    assert plugin.parameters["term"].valid_values == semeq_rt.terms()
    for term, intensity in (("warm", 1.0), ("bright", 0.7), ("warm", -0.5)):
        plugin.term, plugin.intensity = term, intensity
        for audio, rate in clips:
            rendered = plugin.process(audio, rate, buffer_size=512)
            expected = python_render(audio, rate, term, intensity)
            assert np.max(np.abs(expected - audio)) > 1e-3  # the EQ did something
            assert np.max(np.abs(rendered - expected)) <= 1e-5, (term, intensity, rate)


def test_the_vst3_moves_warm_darker_than_bright_and_intensity_0_is_the_input(clips):
    plugin = vst3(render="exact", intensity=1.0)
    for audio, rate in clips:
        plugin.term = "warm"
        warm = plugin.process(audio, rate, buffer_size=1024)
        plugin.term = "bright"
        bright = plugin.process(audio, rate, buffer_size=1024)
        assert measures.spectral_centroid(warm, rate) < measures.spectral_centroid(bright, rate), rate
    plugin.intensity = 0.0
    for audio, rate in clips:
        assert np.max(np.abs(plugin.process(audio, rate, buffer_size=333) - audio)) <= 1e-6


def test_the_vst3_live_render_analyses_on_its_own_thread(clips):
    # the realtime schedule: inference on the engine's analysis thread, so the output depends on timing.
    # Fed a second at a time with pauses (as a host that renders live gives the thread time), "warm"
    # comes out darker than "bright"
    def live(term, audio, rate):
        plugin = vst3(render="live", term=term, intensity=1.0)
        out = []
        for start in range(0, audio.shape[1], rate):
            out.append(plugin.process(audio[:, start:start + rate], rate, buffer_size=512, reset=start == 0))
            time.sleep(0.05)
        return np.concatenate(out, axis=1)

    for audio, rate in clips:
        warm, bright = live("warm", audio, rate), live("bright", audio, rate)
        assert np.all(np.isfinite(warm)) and np.all(np.isfinite(bright))
        assert measures.spectral_centroid(warm, rate) < measures.spectral_centroid(bright, rate), rate


def test_the_lv2_in_lv2file_renders_what_the_processor_does(clips, tmp_path):
    lv2 = plugin_path("semeq.lv2")
    if shutil.which("lv2file") is None:
        pytest.fail("lv2file is missing (apt-get install lv2file; .ci/run installs it)")
    (tmp_path / "lv2").mkdir()
    shutil.copytree(lv2, tmp_path / "lv2" / "semeq.lv2")
    env = dict(os.environ, LV2_PATH=str(tmp_path / "lv2"))
    for audio, rate in clips:
        src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
        soundfile.write(str(src), audio.T, rate, subtype="FLOAT")
        subprocess.run(["lv2file", "-i", str(src), "-o", str(dst), "-p", "render:1", "-p", "intensity:1",
                        "-p", f"term:{semeq_rt.terms().index('bright')}", "-b", "512", "--ignore-clipping",
                        "urn:semeq:semeq"], env=env, check=True, capture_output=True)
        rendered, _ = soundfile.read(str(dst), dtype="float32", always_2d=True)
        expected = python_render(audio, rate, "bright", 1.0)
        assert np.max(np.abs(rendered.T - expected)) <= 1e-5, rate


def test_without_its_models_the_plugin_passes_audio_through(clips, tmp_path):
    broken = tmp_path / "semeq.vst3"
    shutil.copytree(plugin_path("semeq.vst3"), broken)
    (broken / "Contents" / "Resources" / "semeq-bundle" / "eq_decoder.onnx").write_bytes(b"not a model")
    audio, rate = clips[1]
    plugin = vst3(broken, render="exact", intensity=1.0)
    np.testing.assert_array_equal(plugin.process(audio, rate, buffer_size=512), audio)


def test_the_plugins_need_no_python(tmp_path):
    for binary in (plugin_path("semeq.vst3") / "Contents" / "x86_64-linux" / "semeq.so",
                   plugin_path("semeq.lv2") / "semeq_dsp.so"):
        libraries = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True).stdout
        assert "not found" not in libraries
        onnxruntime = next(line for line in libraries.splitlines() if "libonnxruntime" in line)
        assert str(binary.parent) in onnxruntime  # from the plugin bundle
        assert "python" not in libraries.lower() and "site-packages" not in libraries
