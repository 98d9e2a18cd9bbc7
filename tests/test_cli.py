"""The `semeq` command line on real files."""
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

import semeq_rt
from semeq_rt import measures
from semeq_rt.cli import main
from semeq_rt.demo import demo_signal

SR = 48000


@pytest.fixture(scope="module")
def music_wav(tmp_path_factory):
    path = tmp_path_factory.mktemp("in") / "music.wav"
    sf.write(path, demo_signal(SR, 5.0, seed=3).T, SR, subtype="PCM_24")
    return path


def run_cli(*args):
    """`semeq ARGS` in a fresh interpreter: (exit code, stdout, stderr)."""
    result = subprocess.run([sys.executable, "-m", "semeq_rt.cli", *map(str, args)], capture_output=True, text=True)
    return result.returncode, result.stdout, result.stderr


def test_process_keeps_rate_channels_and_subtype_and_warm_is_darker(music_wav, tmp_path):
    centroids = {}
    for term in ("warm", "bright"):
        out = tmp_path / f"{term}.wav"
        assert main(["process", str(music_wav), str(out), "--term", term, "-q"]) == 0
        info = sf.info(out)
        expected = (SR, 2, "PCM_24", sf.info(music_wav).frames)
        assert (info.samplerate, info.channels, info.subtype, info.frames) == expected
        audio, rate = sf.read(out, dtype="float32")
        centroids[term] = measures.spectral_centroid(audio.T, rate)
    assert centroids["warm"] < centroids["bright"]


def test_process_mono_flac_at_44k1_static_blend(tmp_path):
    src = tmp_path / "in.flac"
    sf.write(src, demo_signal(44100, 2.0)[0], 44100, subtype="PCM_16")
    out = tmp_path / "out.flac"
    assert main(["process", str(src), str(out), "-t", "warm:0.7,bright:0.3", "--mode", "static",
                 "--blocksize", "1000", "-q"]) == 0
    info = sf.info(out)
    assert (info.format, info.subtype, info.samplerate, info.channels) == ("FLAC", "PCM_16", 44100, 1)


def test_existing_output_is_not_overwritten_unless_asked(music_wav, tmp_path):
    out = tmp_path / "taken.wav"
    out.write_bytes(b"precious")
    code, _, err = run_cli("process", music_wav, out, "-q")
    assert code == 2 and "already exists" in err and "--overwrite" in err
    assert out.read_bytes() == b"precious"
    assert main(["process", str(music_wav), str(out), "-y", "-q"]) == 0
    assert sf.info(out).frames == sf.info(music_wav).frames


def test_errors_leave_no_files_behind(music_wav, tmp_path):
    out = tmp_path / "out.wav"
    code, _, err = run_cli("process", music_wav, out, "--term", "wram")
    assert code == 2 and "did you mean 'warm'" in err
    code, _, err = run_cli("process", tmp_path / "missing.wav", out)
    assert code == 2 and "no such file" in err
    not_audio = tmp_path / "notes.wav"
    not_audio.write_text("not audio")
    code, _, err = run_cli("process", not_audio, out)
    assert code == 2 and "cannot read" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.wav"]


def test_integer_output_is_clipped_and_reported(tmp_path):
    src = tmp_path / "loud.wav"
    loud = demo_signal(SR, 2.0) * 1.9  # peaks at 0.95: boosts push it past full scale
    sf.write(src, loud.T, SR, subtype="PCM_16")
    out = tmp_path / "out.wav"
    code, _, err = run_cli("process", src, out, "--term", "warm", "--mode", "static", "-q")
    assert code == 0 and "clipped" in err and "--subtype FLOAT" in err
    audio, _ = sf.read(out, dtype="float32")
    assert np.max(np.abs(audio)) <= 1.0
    # the option the warning names keeps the peaks
    code, _, err = run_cli("process", src, tmp_path / "float.wav", "--term", "warm", "--mode", "static",
                           "--subtype", "FLOAT", "-q")
    kept, _ = sf.read(tmp_path / "float.wav", dtype="float32")
    assert code == 0 and "clipped" not in err and np.max(np.abs(kept)) > 1.0


def test_process_says_what_it_did(music_wav, tmp_path):
    out = tmp_path / "warm.wav"
    code, _, err = run_cli("process", music_wav, out, "--term", "warm")
    assert code == 0
    line = next(row for row in err.splitlines() if row.startswith("EQ:"))
    source, _ = sf.read(music_wav, dtype="float32", always_2d=True)
    result, _ = sf.read(out, dtype="float32", always_2d=True)
    change = measures.eq_change(source.T, result.T, SR)
    boost = float(line.split("largest boost ")[1].split(" dB")[0])
    lu = float(line.split("LUFS (")[1].split(" LU")[0])
    peak = float(line.split("output peak ")[1].split(" dBFS")[0])
    assert boost > 0.5  # the demo's music gets an audible EQ
    assert abs(lu - change["loudness_change_lu"]) <= 0.1
    assert abs(peak - 20 * np.log10(np.max(np.abs(result)))) <= 0.1


def test_progress_without_tqdm_is_plain_stderr(music_wav, tmp_path):
    code = ("import sys; sys.modules['tqdm'] = None\n"  # as if tqdm were not installed
            "from semeq_rt.cli import main\n"
            f"sys.exit(main(['process', {str(music_wav)!r}, {str(tmp_path / 'o.wav')!r}]))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0
    assert "100%" in result.stderr and "\r" not in result.stderr


def test_terms_lists_the_vocabulary_most_supported_first():
    code, out, _ = run_cli("terms", "--all")
    assert code == 0
    rows = out.splitlines()[1:-1]  # a header, one row per word, a summary
    assert [row.split()[0] for row in rows] == semeq_rt.terms()
    supports = [int(row.split()[1]) for row in rows]
    assert supports == sorted(supports, reverse=True) and min(supports) >= 3
    code, out, _ = run_cli("terms")
    assert len(out.splitlines()) == 40 + 2 and f"--all lists all {len(semeq_rt.terms())}" in out


def test_terms_explains_how_a_word_is_placed():
    code, out, _ = run_cli("terms", "brighter", "vintage radio")
    assert code == 0
    known, placed = out.splitlines()
    assert "the known word 'bright'" in known
    assert "placed from its text" in placed and "vintage" in placed.split("nearest:")[1]


def test_analyze_prints_scores_and_plots(music_wav, tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "analysis.png"
    code, out, _ = run_cli("analyze", music_wav, "--plot", png)
    assert code == 0
    assert "terms (clip):" in out and "tonal balance" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_writes_a_png_and_says_when_matplotlib_is_missing(tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "warm.png"
    assert main(["plot", "warm", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code = ("import sys; sys.modules['matplotlib'] = None\n"  # as if matplotlib were not installed
            "from semeq_rt.cli import main\n"
            f"sys.exit(main(['plot', 'warm', {str(tmp_path / 'x.png')!r}]))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 2 and "pip install matplotlib" in result.stderr


def test_demo_makes_and_processes_an_example(tmp_path):
    code, out, _ = run_cli("demo", "--out", tmp_path / "demo")
    assert code == 0
    assert '"warm" is darker than "bright"' in out
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == ["bright.wav", "input.wav", "warm.wav"]
    source, _ = sf.read(tmp_path / "demo" / "input.wav", dtype="float32", always_2d=True)
    for term in ("warm", "bright"):  # each word changes the music audibly: some band by 3 dB or more
        result, _ = sf.read(tmp_path / "demo" / f"{term}.wav", dtype="float32", always_2d=True)
        change = measures.eq_change(source.T, result.T, SR)
        assert max(change["largest_boost_db"], -change["largest_cut_db"]) >= 3.0, term
    code, _, err = run_cli("demo", "--out", tmp_path / "demo")
    assert code == 2 and "already exists" in err


def test_missing_or_corrupt_bundle_is_a_clear_error(tmp_path):
    import shutil

    from semeq_rt.bundle import DEFAULT_BUNDLE_DIR

    broken = tmp_path / "bundle"
    shutil.copytree(DEFAULT_BUNDLE_DIR, broken)
    (broken / "eq_decoder.onnx").write_bytes(b"not a model")
    code, _, err = run_cli("--bundle", broken, "terms")
    assert code == 2 and "eq_decoder.onnx" in err
    code, _, err = run_cli("--bundle", tmp_path / "nowhere", "terms")
    assert code == 2 and "does not exist" in err


def test_subtype_can_be_chosen(music_wav, tmp_path):
    out = tmp_path / "float.wav"
    assert main(["process", str(music_wav), str(out), "--subtype", "FLOAT", "-q"]) == 0
    assert sf.info(out).subtype == "FLOAT"
    code, _, err = run_cli("process", music_wav, tmp_path / "x.flac", "--subtype", "FLOAT")
    assert code == 2 and "cannot store subtype 'FLOAT'" in err


def test_negative_intensity_moves_away_from_the_word(music_wav, tmp_path):
    centroids = {}
    for intensity in ("-1", "0", "1"):
        out = tmp_path / f"warm{intensity}.wav"
        assert main(["process", str(music_wav), str(out), "--term", "warm", "--intensity", intensity, "-q"]) == 0
        audio, rate = sf.read(out, dtype="float32")
        centroids[intensity] = measures.spectral_centroid(audio.T, rate)
    assert centroids["1"] < centroids["0"] < centroids["-1"]
    code, _, err = run_cli("process", music_wav, tmp_path / "x.wav", "--intensity", "1.5")
    assert code == 2 and "must be a number in [-1, 1], got '1.5'" in err
