"""`semeq batch` over a folder of real music in mixed formats and rates, with a corrupt file: the outputs
equal `semeq process`'s, the manifest says what happened, a rerun skips what is done, a killed worker
costs only a retry."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from music_clips import read_clips
from semeq_rt import terms
from semeq_rt.batch import read_manifest
from semeq_rt.cli import main
from semeq_rt.fileio import process_file

CLIPS = (("asc-music", "frontiers.mp3", 205.0), ("drascula-music", "track5.ogg", 42.0),
         ("nexuiz-music", "ninesix.ogg", 88.0))
#: relative path → subtype: a 16-bit WAV, a FLAC in a subfolder, an Ogg Vorbis
LAYOUT = {"a.wav": "PCM_16", "sub/b.flac": "PCM_24", "c.ogg": "VORBIS"}


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    folder = tmp_path_factory.mktemp("catalog")
    (folder / "sub").mkdir()
    for (audio, rate), (name, subtype) in zip(read_clips(CLIPS, 10.0), LAYOUT.items()):
        soundfile.write(str(folder / name), audio.T, rate, subtype=subtype)
    (folder / "broken.wav").write_bytes(b"RIFF, but no audio")
    (folder / "notes.txt").write_text("not audio: not listed")
    return folder


def test_batch_processes_every_file_as_semeq_process_does(catalog, tmp_path):
    out = tmp_path / "out"
    assert main(["batch", str(catalog), str(out), "--term", "warm", "--workers", "2", "-q"]) == 1  # one failed
    rows = read_manifest(out)
    assert sorted(rows) == sorted([*LAYOUT, "broken.wav"])
    assert rows["broken.wav"]["status"] == "failed" and "broken.wav" in rows["broken.wav"]["error"]
    for name in LAYOUT:
        row = rows[name]
        assert row["status"] == "ok" and row["seconds"] == pytest.approx(10.0, abs=0.01)
        assert set(row["scores_in"]) == set(terms()) and set(row["scores_out"]) == set(terms())
        assert row["scores_out"]["warm"] >= row["scores_in"]["warm"] - 0.05
        assert len(row["eq_bands"]) == 12 and len(row["eq_response_db"]) == 121
        assert np.isfinite(row["loudness_in_lufs"]) and abs(row["loudness_out_lufs"] - row["loudness_in_lufs"]) < 1.5
        alone = tmp_path / f"alone-{name.replace('/', '-')}"
        process_file(catalog / name, alone, term="warm")
        batch, _ = soundfile.read(str(out / name), dtype="float32")
        single, _ = soundfile.read(str(alone), dtype="float32")
        np.testing.assert_array_equal(batch, single)
        assert soundfile.info(str(out / name)).subtype == LAYOUT[name]


def test_a_rerun_skips_what_is_done_and_redoes_the_rest(catalog, tmp_path):
    out = tmp_path / "out"
    main(["batch", str(catalog), str(out), "--workers", "2", "-q"])
    (out / "c.ogg").unlink()
    main(["batch", str(catalog), str(out), "--workers", "2", "-q"])
    rows = read_manifest(out)
    assert [rows[n]["status"] for n in ("a.wav", "sub/b.flac", "c.ogg", "broken.wav")] == \
        ["skipped", "skipped", "ok", "failed"]
    assert (out / "c.ogg").exists()
    main(["batch", str(catalog), str(out), "--workers", "2", "-q"])
    assert read_manifest(out)["c.ogg"]["status"] == "skipped"


def test_analyze_only_writes_just_the_manifest(catalog, tmp_path):
    out = tmp_path / "out"
    main(["batch", str(catalog), str(out), "--analyze-only", "--workers", "1", "-q"])
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == ["manifest.parquet"]
    rows = read_manifest(out)
    assert rows["a.wav"]["status"] == "ok" and rows["a.wav"]["scores_out"] is None
    assert max(rows["sub/b.flac"]["scores_in"].values()) > 0.0


def children_of(pid) -> list:
    """Process ids whose parent is ``pid`` (from /proc: no procps needed)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[1]) == pid:
            children.append(stat.parent.name)
    return sorted(children, key=int)


def test_a_killed_worker_costs_a_retry_and_leaves_no_partial_file(catalog, tmp_path):
    # a long file keeps a worker busy; one worker is killed (SIGKILL) while it runs
    big = tmp_path / "big"
    big.mkdir()
    audio, rate = read_clips(CLIPS[2:], 10.0)[0]
    soundfile.write(str(big / "long.wav"), np.tile(audio, (1, 24)).T, rate, subtype="PCM_16")
    soundfile.write(str(big / "short.wav"), audio.T, rate, subtype="PCM_16")
    out = tmp_path / "out"
    batch = subprocess.Popen([sys.executable, "-m", "semeq_rt.cli", "batch", str(big), str(out), "--workers", "2",
                              "-q"], stderr=subprocess.PIPE, text=True)
    killed = False
    for _ in range(200):  # find a worker (a child of the batch) and kill it while it works
        time.sleep(0.05)
        children = children_of(batch.pid)
        if len(children) >= 2 and (out / "manifest.parquet").exists() is False:
            time.sleep(0.5)
            os.kill(int(children[0]), signal.SIGKILL)
            killed = True
            break
    _, err = batch.communicate(timeout=300)
    assert killed and batch.returncode == 0, err
    rows = read_manifest(out)
    assert [rows[n]["status"] for n in ("long.wav", "short.wav")] == ["ok", "ok"]
    assert not list(out.rglob("*.semeq-tmp"))
    assert soundfile.info(str(out / "long.wav")).frames == 24 * audio.shape[1]


# --- on Ray (pip install "semeq[ray]"): each run in its own process, as a user runs it ------------------------

def _batch_cli(*args, env=None):
    result = subprocess.run([sys.executable, "-m", "semeq_rt.cli", "batch", *map(str, args), "-q"],
                            capture_output=True, text=True, timeout=600, env=env)
    return result.returncode, result.stderr


def _same_outputs(out, reference):
    rows, expected = read_manifest(out), read_manifest(reference)
    assert sorted(rows) == sorted(expected)
    for name, row in rows.items():
        assert row["status"] == expected[name]["status"]
        assert (row["scores_in"] or {}) == pytest.approx(expected[name]["scores_in"] or {})
        if row["status"] == "ok":
            np.testing.assert_array_equal(soundfile.read(str(out / name), dtype="float32")[0],
                                          soundfile.read(str(reference / name), dtype="float32")[0])


@pytest.fixture(scope="module")
def local_run(catalog, tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "out"
    _batch_cli(catalog, out, "--workers", "2")
    return out


def test_ray_gives_the_local_pools_outputs_and_manifest(catalog, local_run, tmp_path):
    pytest.importorskip("ray.data")
    out = tmp_path / "out"
    code, err = _batch_cli(catalog, out, "--ray")
    assert code == 1 and "1 failed" in err, err  # broken.wav, as in the local pool
    _same_outputs(out, local_run)
    code, err = _batch_cli(catalog, out, "--ray")  # resume: nothing left to do, Ray not even started
    assert "3 skipped" in err


@pytest.mark.parametrize("resources, shape", [({"CPU": 2.0}, (2, 0.0)),                    # this machine
                                             ({"CPU": 16.0, "GPU": 2.0}, (16, 0.125)),   # a GPU node
                                             ({"CPU": 0.5, "GPU": 1.0}, (1, 1.0))])
def test_ray_actors_are_one_per_cpu_with_an_equal_share_of_the_gpus(resources, shape):
    # (no GPU is lent to the test machines: the CUDA path itself is not run here)
    from semeq_rt.batch_ray import actor_shape

    assert actor_shape(resources) == shape


def test_ray_cluster_of_two_nodes_on_loopback(catalog, local_run, tmp_path):
    pytest.importorskip("ray.data")
    import shutil
    import socket

    ray = shutil.which("ray") or str(Path(sys.executable).with_name("ray"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = tmp_path / "token"  # the cluster's token authentication, with a token of this test's own
    token.write_text(os.urandom(32).hex())
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token))
    common = ["--num-cpus", "1", "--disable-usage-stats"]
    try:
        subprocess.run([ray, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
                        "--include-dashboard", "false", *common], check=True, capture_output=True, env=env, timeout=180)
        subprocess.run([ray, "start", "--address", f"127.0.0.1:{port}", "--node-ip-address", "127.0.0.1", *common],
                       check=True, capture_output=True, env=env, timeout=180)
        out = tmp_path / "out"
        code, err = _batch_cli(catalog, out, "--ray", "auto", env=dict(env, RAY_ADDRESS=f"127.0.0.1:{port}"))
        assert code == 1 and "1 failed" in err, err
        _same_outputs(out, local_run)
    finally:
        subprocess.run([ray, "stop", "--force"], capture_output=True, env=env, timeout=180)


def test_the_progress_bar_counts_files_and_hours_of_audio(catalog, tmp_path):
    result = subprocess.run([sys.executable, "-m", "semeq_rt.cli", "batch", str(catalog), str(tmp_path / "out"),
                             "--analyze-only", "--workers", "2"], capture_output=True, text=True, timeout=600)
    last = result.stderr.replace("\r", "\n").splitlines()
    bar = [line for line in last if "semeq batch:" in line and "4/4" in line]
    assert bar and "0.01 h of audio" in bar[-1], result.stderr  # 3 clips of 10 s
