"""The semeq plugins in real hosts: the VST3 in pedalboard, the LV2 in lv2file (hosts nobody here wrote),
the CLAP in our small CLAP host (cpp/plugin/clap_host.cpp, which also counts allocations inside the
plugin's process()), on real music (a 22.05 kHz MP3 and a 44.1 kHz Vorbis recording), against
semeq_rt.Processor.

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
from builds import built
from music_clips import read_clips

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = Path(os.environ.get("SEMEQ_PLUGINS_DIR", ROOT / "build" / "plugins-out"))
SECONDS = 15.0
CLIPS = (("asc-music", "frontiers.mp3", 205.0), ("drascula-music", "track5.ogg", 42.0))
PARAMETERS = ["term", "intensity", "mode", "adaptation", "loudness", "render"]


def plugin_path(name):
    return built(PLUGINS / name, f"bash scripts/build_plugins.sh {PLUGINS}")


@pytest.fixture(scope="module")
def clips():
    return read_clips(CLIPS, SECONDS)


def python_render(audio, rate, term, intensity):
    p = semeq_rt.Processor(term, intensity=intensity, sample_rate=rate, channels=len(audio))
    return np.concatenate([p.process(audio[:, i:i + 512]) for i in range(0, audio.shape[1], 512)], axis=1)


def vst3(path=None, **parameters):
    import pedalboard

    plugin = pedalboard.load_plugin(str(path or plugin_path("semeq.vst3")))
    for name, value in parameters.items():
        setattr(plugin, name, value)
    return plugin


def clap_render(audio, rate, tmp_path, *settings, block=512, clap="semeq.clap"):
    """The CLAP rendering ``audio`` in our host: (output, allocations and blocking calls inside process())."""
    src, dst = tmp_path / "clap-in.f32", tmp_path / "clap-out.f32"
    audio.tofile(src)
    result = subprocess.run([str(plugin_path("semeq_clap_host")), str(plugin_path(clap)), str(rate),
                             str(len(audio)), str(block), str(src), str(dst), *settings],
                            capture_output=True, text=True, check=True)
    words = result.stdout.split()
    return np.fromfile(dst, dtype=np.float32).reshape(audio.shape), (int(words[1]), int(words[3]))


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
            time.sleep(0.2)
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


@pytest.mark.parametrize("damage", ["missing", "not a model", "one bit"])
def test_without_its_models_the_plugin_passes_audio_through(clips, tmp_path, damage):
    # a missing model, a file that is no model, and a valid model that is not the one the manifest's
    # SHA-256 names (one bit of a weight flipped)
    broken = tmp_path / "semeq.vst3"
    shutil.copytree(plugin_path("semeq.vst3"), broken)
    decoder = broken / "Contents" / "Resources" / "semeq-bundle" / "eq_decoder_params.onnx"  # the one it runs
    if damage == "missing":
        decoder.unlink()
    elif damage == "not a model":
        decoder.write_bytes(b"not a model")
    else:
        data = bytearray(decoder.read_bytes())
        data[-100] ^= 1
        decoder.write_bytes(bytes(data))
    audio, rate = clips[1]
    plugin = vst3(broken, render="exact", intensity=1.0)
    np.testing.assert_array_equal(plugin.process(audio, rate, buffer_size=512), audio)


def test_the_mono_plugins_render_what_a_mono_processor_does(clips, tmp_path):
    # semeq-mono (DPF fixes a plugin's channel count): one channel in and out, as VST3 and as CLAP
    for audio, rate in clips:
        mono = np.ascontiguousarray(audio.mean(axis=0, keepdims=True))
        expected = python_render(mono, rate, "warm", 1.0)
        plugin = vst3(plugin_path("semeq-mono.vst3"), render="exact", intensity=1.0, term="warm")
        assert np.max(np.abs(plugin.process(mono, rate, buffer_size=512) - expected)) <= 1e-5, rate
        rendered, _ = clap_render(mono, rate, tmp_path, "render=1", "intensity=1", "term=0",
                                  clap="semeq-mono.clap")
        assert np.max(np.abs(rendered - expected)) <= 1e-5, rate


def test_the_vst3_state_restores_every_parameter():
    import pedalboard

    settings = {"term": "bright", "intensity": -0.3, "mode": "static", "adaptation": 12.0, "loudness": False,
                "render": "exact"}
    plugin = vst3(**settings)
    plugin.process(np.zeros((2, 512), np.float32), 48000.0)  # the parameters reach the plugin with a block
    restored = pedalboard.load_plugin(str(plugin_path("semeq.vst3")))
    restored.raw_state = plugin.raw_state
    for name, value in settings.items():
        got = getattr(restored, name)
        if isinstance(value, bool):
            assert bool(got) == value, name
        elif isinstance(value, float):
            assert got == pytest.approx(value, abs=1e-6), name
        else:
            assert got == value, name


def test_the_clap_renders_what_the_processor_does_with_automation(clips, tmp_path):
    # exact render; the intensity automated from 1 to 0.3 at 6 s: a change applies at the start of the
    # block that holds it, as set_intensity before that block does, and ramps over the smoothing. Also
    # at 96 kHz (the second clip's samples taken as 96 kHz audio)
    for audio, rate in clips + [(clips[1][0], 96000)]:
        change_at = int(6.0 * rate)
        bright = semeq_rt.terms().index("bright")
        rendered, counts = clap_render(audio, rate, tmp_path, "render=1", "intensity=1", f"term={bright}",
                                       f"@{change_at / rate!r}:intensity=0.3")
        assert counts[0] > 0 and counts[1] > 0  # exact render: the models run in process(), and are counted
        p = semeq_rt.Processor("bright", intensity=1.0, sample_rate=rate, channels=len(audio))
        expected = []
        for start in range(0, audio.shape[1], 512):
            if start <= change_at < start + 512:
                p.set_intensity(0.3)
            expected.append(p.process(audio[:, start:start + 512]))
        expected = np.concatenate(expected, axis=1)
        assert np.max(np.abs(rendered - expected)) <= 1e-5, rate
        # no step: around the change the output moves no more than the input does, plus the EQ's ramp
        around = slice(change_at - 512, change_at + 2048)
        assert np.max(np.abs(np.diff(rendered[:, around]))) <= 1.5 * np.max(np.abs(np.diff(audio[:, around]))) + 0.01


def test_the_clap_live_render_allocates_and_blocks_nothing_in_process(clips, tmp_path):
    # 60 s at 20x real time, analyses on the engine's thread, every parameter automated: the plugin's
    # process() makes no allocation and no blocking call (the host counts them on the audio thread)
    audio, rate = clips[1]
    minute = np.ascontiguousarray(np.tile(audio, (1, 4))[:, : 60 * rate])
    automation = []
    for second in range(1, 60, 3):
        automation += [f"@{second}:intensity={(second % 7) / 3.5 - 1:.2f}", f"@{second + 1}:term={second % 20}",
                       f"@{second + 1.5}:mode={second % 2}", f"@{second + 2}:loudness={(second // 3) % 2}",
                       f"@{second + 2.5}:adaptation={1 + second % 9}"]
    out, (allocations, blocking) = clap_render(minute, rate, tmp_path, "--pace=20", "render=0", "intensity=1",
                                               *automation)
    assert allocations == 0 and blocking == 0
    assert np.all(np.isfinite(out)) and np.max(np.abs(out - minute)) > 1e-3


def test_the_plugins_need_no_python(tmp_path):
    for binary in (plugin_path("semeq.vst3") / "Contents" / "x86_64-linux" / "semeq.so",
                   plugin_path("semeq.lv2") / "semeq_dsp.so", plugin_path("semeq.clap")):
        libraries = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True).stdout
        assert "not found" not in libraries
        onnxruntime = next(line for line in libraries.splitlines() if "libonnxruntime" in line)
        assert str(binary.parent) in onnxruntime  # from the plugin bundle (or the CLAP's resources)
        assert "python" not in libraries.lower() and "site-packages" not in libraries


def test_memcheck_finds_no_error_in_a_clap_render(clips, tmp_path):
    # 3 s through the CLAP host under valgrind's memcheck (exact render: the early analyses run, ONNX
    # Runtime included); cpp/plugin/valgrind.supp names the two reports outside semeq's code
    if shutil.which("valgrind") is None:
        pytest.fail("valgrind is missing (apt-get install valgrind; .ci/run installs it)")
    audio, rate = clips[1]
    short = np.ascontiguousarray(audio[:, : 3 * rate])
    src, dst = tmp_path / "in.f32", tmp_path / "out.f32"
    short.tofile(src)
    result = subprocess.run(["valgrind", "--tool=memcheck", "--error-exitcode=3", "--leak-check=full",
                             "--errors-for-leak-kinds=definite", f"--suppressions={ROOT / 'cpp/plugin/valgrind.supp'}",
                             "-q", str(plugin_path("semeq_clap_host")), str(plugin_path("semeq.clap")), str(rate), "2",
                             "512", str(src), str(dst), "render=1", "intensity=1"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert np.max(np.abs(np.fromfile(dst, dtype=np.float32).reshape(short.shape) - short)) > 1e-3
