"""The engine with the bundle's models run through ONNX Runtime's C++ API (semeq::OnnxModel, as a plugin
runs them) against semeq_rt.Processor, which runs the same model inside the extension where it was built
with ONNX Runtime's headers (`.ci/run` builds it so) and the bundle's Python sessions otherwise: the same
output on real music, and analyses that need no GIL.

The C++ face is cpp/onnx's semeq_render, which .ci/run builds into build/ctest (-DSEMEQ_ONNX=ON);
$SEMEQ_RENDER names another build. Outside CI, a checkout without that build skips these tests; in CI
(CI set) a missing build fails."""
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import semeq_rt
from semeq_rt import _core, measures, processor
from semeq_rt.bundle import DEFAULT_BUNDLE_DIR
from semeq_rt.demo import demo_signal
from builds import built
from music_clips import read_clips

ROOT = Path(__file__).resolve().parents[1]
RENDER = Path(os.environ.get("SEMEQ_RENDER", ROOT / "build" / "ctest" / "cpp" / "onnx" / "semeq_render"))
SECONDS = 15.0
#: (package, file, start s): a 22.05 kHz MP3 and a dark 44.1 kHz Vorbis recording
CLIPS = (("asc-music", "frontiers.mp3", 205.0), ("drascula-music", "track5.ogg", 42.0))


@pytest.fixture(scope="module")
def render():
    return built(RENDER, "cmake -DSEMEQ_ONNX=ON, see cpp/onnx/CMakeLists.txt")


@pytest.fixture(scope="module")
def clips():
    return read_clips(CLIPS, SECONDS)


def run_render(render, audio, rate, term, intensity, mode, tmp_path, bundle=DEFAULT_BUNDLE_DIR):
    src, dst = tmp_path / "in.f32", tmp_path / "out.f32"
    audio.tofile(src)
    subprocess.run([str(render), str(bundle), term, repr(intensity), mode, str(rate), str(len(audio)),
                    str(src), str(dst)], check=True, capture_output=True)
    return np.fromfile(dst, dtype=np.float32).reshape(audio.shape)


@pytest.fixture
def native():
    """The extension's C++ model (_core.OnnxModel): in CI it must be there (.ci/run builds the extension
    with ONNX Runtime's headers); elsewhere its tests are skipped without it."""
    if not hasattr(_core, "OnnxModel"):
        if os.environ.get("CI"):
            pytest.fail("semeq_rt._core was built without ONNX Runtime's headers: .ci/run passes them")
        pytest.skip("semeq_rt._core built without ONNX Runtime's headers (docs/processor.md)")


@pytest.fixture
def python_model(monkeypatch):
    """Processors made while this fixture is active run the bundle's models through ONNX Runtime's Python
    API, as an extension built without ONNX Runtime's headers does."""
    monkeypatch.setattr(processor, "native_model", lambda bundle: None)


def run_python(audio, rate, term, intensity, mode, bundle=None):
    p = semeq_rt.Processor(term, intensity=intensity, sample_rate=rate, channels=len(audio), mode=mode, bundle=bundle)
    return np.concatenate([p.process(audio[:, i:i + 512]) for i in range(0, audio.shape[1], 512)], axis=1)


@pytest.mark.parametrize("term, intensity, mode", [("warm", 1.0, "adaptive"), ("bright", 0.7, "adaptive"),
                                                   ("warm", -0.5, "adaptive"), ("warm", 1.0, "static")])
def test_the_cpp_onnx_face_gives_the_python_processors_output(render, clips, term, intensity, mode, tmp_path):
    for audio, rate in clips:
        cpp = run_render(render, audio, rate, term, intensity, mode, tmp_path)
        python = run_python(audio, rate, term, intensity, mode)
        assert np.max(np.abs(python - audio)) > 1e-3  # the EQ did something
        assert np.max(np.abs(cpp - python)) <= 1e-5, (rate, term, mode)


def test_the_cpp_onnx_face_moves_warm_darker_than_bright(render, clips, tmp_path):
    for audio, rate in clips:
        warm = run_render(render, audio, rate, "warm", 1.0, "adaptive", tmp_path)
        bright = run_render(render, audio, rate, "bright", 1.0, "adaptive", tmp_path)
        assert measures.spectral_centroid(warm, rate) < measures.spectral_centroid(bright, rate), rate
        identity = run_render(render, audio, rate, "warm", 0.0, "adaptive", tmp_path)
        np.testing.assert_array_equal(identity, audio)


@pytest.fixture
def older_bundle(tmp_path):
    """A copy of the shipped bundle without eq_decoder_params, as bundles made before it are."""
    older = tmp_path / "older"
    shutil.copytree(DEFAULT_BUNDLE_DIR, older)
    manifest = json.loads((older / "manifest.json").read_text())
    (older / manifest["models"].pop("eq_decoder_params")["file"]).unlink()
    (older / "manifest.json").write_text(json.dumps(manifest))
    return older


def test_a_bundle_without_the_settings_only_decoder_renders_the_same(render, clips, older_bundle, tmp_path):
    # the C++ face runs eq_decoder_params where the bundle has it, else eq_decoder (asking for its two
    # outputs): the settings, and so the output, are the same either way
    older = older_bundle
    audio, rate = clips[0]
    np.testing.assert_array_equal(run_render(render, audio, rate, "warm", 1.0, "adaptive", tmp_path, older),
                                  run_render(render, audio, rate, "warm", 1.0, "adaptive", tmp_path))


def test_an_unknown_term_or_bundle_is_a_clear_error(render, clips, tmp_path):
    audio, rate = clips[0]
    (tmp_path / "in.f32").write_bytes(audio[:, :4800].tobytes())
    # a bundle whose decoder (the settings-only one, which the engine runs) lost one bit of a weight: still
    # a valid model, but not the one the manifest names
    edited = tmp_path / "edited"
    shutil.copytree(DEFAULT_BUNDLE_DIR, edited)
    decoder = bytearray((edited / "eq_decoder_params.onnx").read_bytes())
    decoder[-100] ^= 1
    (edited / "eq_decoder_params.onnx").write_bytes(bytes(decoder))
    for bundle, term, message in ((DEFAULT_BUNDLE_DIR, "wram", "unknown term 'wram'"),
                                  (tmp_path, "warm", "manifest.json: cannot be read"),
                                  (edited, "warm", "eq_decoder_params.onnx: its SHA-256 differs from the manifest's")):
        result = subprocess.run([str(render), str(bundle), term, "1", "adaptive", str(rate), str(len(audio)),
                                 str(tmp_path / "in.f32"), str(tmp_path / "out.f32")], capture_output=True, text=True)
        assert result.returncode == 1 and message in result.stderr


@pytest.mark.parametrize("term, intensity, mode", [("warm", 1.0, "adaptive"), ("bright", -0.7, "adaptive"),
                                                   ("warm", 1.0, "static")])
def test_the_processors_cpp_model_gives_its_python_models_output(native, clips, term, intensity, mode, request):
    with_cpp = [run_python(audio, rate, term, intensity, mode) for audio, rate in clips]
    assert semeq_rt.Processor(term, mode=mode).native_model
    request.getfixturevalue("python_model")
    assert not semeq_rt.Processor(term, mode=mode).native_model
    for (audio, rate), cpp in zip(clips, with_cpp):
        python = run_python(audio, rate, term, intensity, mode)
        assert np.max(np.abs(python - audio)) > 1e-3  # the EQ did something
        np.testing.assert_array_equal(cpp, python)  # the same ONNX Runtime, the same settings


def test_the_cpp_model_runs_eq_decoder_where_the_bundle_has_no_settings_only_decoder(native, clips, older_bundle):
    assert semeq_rt.Processor("warm", bundle=older_bundle).native_model
    audio, rate = clips[0]
    np.testing.assert_array_equal(run_python(audio, rate, "warm", 1.0, "adaptive", bundle=older_bundle),
                                  run_python(audio, rate, "warm", 1.0, "adaptive"))


def _analyses_while_holding_the_gil(seconds=3.0):
    """A realtime Processor's first analysis handed to its thread, then this thread holding the GIL
    (pure Python, no forced hand-over): the analyses the thread completes meanwhile."""
    audio = demo_signal(48000, 0.5)
    p = semeq_rt.Processor("warm", realtime=True)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(60.0)
    try:
        for i in range(0, audio.shape[1] - 511, 512):  # past 0.4 s: the first analysis
            p.process(audio[:, i:i + 512])
        start = time.monotonic()
        while p.analyses == 0 and time.monotonic() - start < seconds:
            pass
        done = p.analyses
    finally:
        sys.setswitchinterval(interval)
        p.close()
    return done


def test_realtime_analyses_with_the_cpp_model_need_no_gil(native):
    assert _analyses_while_holding_the_gil() == 1


def test_realtime_analyses_with_the_python_model_wait_for_the_gil(python_model):
    # what the C++ model removes: the analysis thread waits for the GIL the audio thread's Python holds
    assert _analyses_while_holding_the_gil(seconds=0.5) == 0


def test_the_cpp_model_says_what_it_cannot_load(native, tmp_path):
    from semeq_rt.native_model import onnxruntime_library

    manifest = json.loads((DEFAULT_BUNDLE_DIR / "manifest.json").read_text())
    head, decoder = (str(DEFAULT_BUNDLE_DIR / manifest["models"][role]["file"])
                     for role in ("audio_head", "eq_decoder_params"))
    library, dim = str(onnxruntime_library()), manifest["latent_dim"]
    not_a_model = tmp_path / "audio_head.onnx"
    not_a_model.write_bytes(b"not a model")
    with pytest.raises(RuntimeError, match="ONNX Runtime: .*audio_head.onnx"):
        _core.OnnxModel(library, str(not_a_model), decoder, True, dim)
    with pytest.raises(RuntimeError, match="ONNX Runtime: .*dimensions"):  # a latent size the models do not have
        _core.OnnxModel(library, head, decoder, True, dim + 1)
    assert _core.OnnxModel(library, head, decoder, True, dim).latent_dim == dim
    # a library that is not there (in a fresh interpreter: a process keeps the first library it loads)
    code = ("from semeq_rt import _core\n"
            f"_core.OnnxModel('/nonexistent/libonnxruntime.so.1', {head!r}, {decoder!r}, True, {dim})")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 1 and "RuntimeError: cannot load ONNX Runtime from /nonexistent" in result.stderr
