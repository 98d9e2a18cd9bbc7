"""`semeq-train audio --smoke` and the evaluation command, end to end on the real packages: the
checkpoint carries what a user needs to trust and reproduce it, and the evaluation command works on
any folder of audio files."""
import json

import numpy as np
import pytest
import soundfile
import torch

from semeq_rt import ltas
from semeq_train import music
from semeq_train.audio import evaluate as evaluation
from semeq_train.audio.model import WINDOW, load_checkpoint
from semeq_train.cli import main as semeq_train


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("audio")
    eqspace = folder / "eqspace.pt"
    assert semeq_train(["eq", "--smoke", "--no-progress", "--out", str(eqspace)]) == 0
    out = folder / "encoder.pt"
    assert semeq_train(["audio", "--smoke", "--no-progress", "--eqspace", str(eqspace), "--out", str(out)]) == 0
    return eqspace, out


def test_checkpoint_carries_config_data_hashes_and_validation_metrics(trained):
    _, path = trained
    model = load_checkpoint(path)
    ckpt = model.checkpoint
    assert ckpt["contract"]["sample_rate"] == 48000 and ckpt["contract"]["window"] == WINDOW
    assert ckpt["config"]["mix"] == "full" and ckpt["config"]["command"].startswith("semeq-train audio")
    for package in music.PACKAGES:
        assert len(ckpt["data_sha256"][f"{package}.deb"]) == 64
    assert any(name.endswith(".csv") for name in ckpt["data_sha256"])
    validation = ckpt["metrics"]["validation"]
    assert np.isfinite(validation["recovery_rms_db"]["median"])
    _, held_out = music.split_tracks(music.list_tracks(music.MUSIC_PACKAGES))
    assert sorted(ckpt["metrics"]["validation_tracks"]) == sorted({f"{t.package}/{t.name}" for t in held_out})


def test_encoder_answer_does_not_change_with_level(trained):
    _, path = trained
    model = load_checkpoint(path)
    _, held_out = music.split_tracks(music.list_tracks(music.MUSIC_PACKAGES))
    audio = np.asarray(music.load_mid(held_out[0], ltas.SAMPLE_RATE))
    x = torch.tensor(audio[len(audio) // 2 :][:WINDOW], dtype=torch.float32)[None]
    with torch.no_grad():
        z = model(x)
        for gain_db in (-20.0, 20.0):
            assert (model(x * 10 ** (gain_db / 20)) - z).norm() < 1e-3 * z.norm()


def test_evaluation_command_on_a_folder_of_files(trained, tmp_path):
    eqspace, path = trained
    _, held_out = music.split_tracks(music.list_tracks(music.MUSIC_PACKAGES))
    for track in held_out[:3]:
        audio = np.asarray(music.load_mid(track, ltas.SAMPLE_RATE))[: 2 * WINDOW]
        stereo = np.stack([audio, 0.5 * audio], axis=1)
        soundfile.write(tmp_path / (track.name.split("/")[-1] + ".wav"), stereo[::2], 24000)  # any rate, stereo
    (tmp_path / "notes.txt").write_text("not audio")
    report_path = tmp_path / "report.json"
    evaluation.main([str(tmp_path), "--checkpoint", str(path), "--eqspace", str(eqspace),
                     "--report", str(report_path), "--windows-per-file", "2", "--eqs-per-clip", "2"])
    report = json.loads(report_path.read_text())
    assert len(report["source"]["files"]) == 3
    assert set(report["analysers"]) == {str(path), "ltas"}
    for metrics in report["analysers"].values():
        assert metrics["recovery_rms_db"]["n_pairs"] == 2 * report["n_clips"]
        assert metrics["level_shift"]["max_fraction"] < 0.05
