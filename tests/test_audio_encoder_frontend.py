"""The audio encoder's torch front end measures exactly what the runtime's numpy LTAS measures, on
real music and noise, at any level, and exports to ONNX with a dynamic batch."""
import numpy as np
import onnxruntime
import pytest
import torch

from semeq_rt import eqdef, ltas
from semeq_train import music
from semeq_train.audio.frontend import BalanceFrontEnd
from semeq_train.audio.model import WINDOW, AudioEncoder
from semeq_train.audio.sources import coloured_noise, pink_noise


@pytest.fixture(scope="module")
def clips():
    music.fetch(music.MUSIC_PACKAGES)
    _, validation = music.split_tracks(music.list_tracks(music.MUSIC_PACKAGES))
    rng = np.random.default_rng(0)
    windows = []
    for track in validation[:4]:
        audio = np.asarray(music.load_mid(track, ltas.SAMPLE_RATE), dtype=np.float64)
        start = len(audio) // 2
        windows.append(audio[start : start + WINDOW])
    windows += list(pink_noise(2, WINDOW, rng)) + list(coloured_noise(2, WINDOW, rng))
    return np.stack(windows)


def test_torch_front_end_equals_numpy_balance(clips):
    with torch.no_grad():
        got = BalanceFrontEnd()(torch.tensor(clips, dtype=torch.float32)).numpy()
    expected = np.stack([ltas.balance_db(c) for c in clips])
    assert np.abs(got - expected).max() < 0.01


@pytest.mark.parametrize("gain_db", [-20.0, 20.0])
def test_balance_does_not_depend_on_level(clips, gain_db):
    gain = 10 ** (gain_db / 20)
    with torch.no_grad():
        front = BalanceFrontEnd()
        louder, plain = (torch.tensor(c, dtype=torch.float32) for c in (clips * gain, clips))
        shifted = front(louder) - front(plain)
    assert shifted.abs().max() < 0.01
    assert np.abs(ltas.balance_db(clips[0] * gain) - ltas.balance_db(clips[0])).max() < 1e-9


def test_balance_is_level_free_and_held_outside_the_band(clips):
    balance = ltas.balance_db(clips[4])  # pink noise: well inside the clipping limit
    assert np.abs(balance).max() < ltas.BALANCE_LIMIT_DB
    assert abs(balance[ltas.BAND_MASK].mean()) < 1e-9
    below, above = eqdef.FREQ_GRID < ltas.ANALYSIS_BAND_HZ[0], eqdef.FREQ_GRID > ltas.ANALYSIS_BAND_HZ[1]
    assert np.all(balance[below] == balance[ltas.BAND_MASK][0])
    assert np.all(balance[above] == balance[ltas.BAND_MASK][-1])


def test_stereo_is_analysed_as_its_mid(clips):
    left, right = clips[0], clips[1]
    stereo = np.stack([left, right], axis=1)
    assert np.allclose(ltas.balance_db(stereo), ltas.balance_db((left + right) / 2))


def test_encoder_exports_to_onnx_with_dynamic_batch(clips, tmp_path):
    model = AudioEncoder(latent_dim=16).eval()
    path = tmp_path / "audio_encoder.onnx"
    torch.onnx.export(model, (torch.zeros(2, WINDOW),), str(path), dynamo=False, opset_version=17,
                      input_names=["audio"], output_names=["latent"],
                      dynamic_axes={"audio": {0: "batch"}, "latent": {0: "batch"}})
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = clips[:5].astype(np.float32)
    (onnx_latent,) = session.run(None, {"audio": x})
    with torch.no_grad():
        torch_latent = model(torch.tensor(x)).numpy()
    assert onnx_latent.shape == (5, 16)
    assert np.abs(onnx_latent - torch_latent).max() < 1e-4
