"""Files as users expect them: any readable input to any writable output, modes, tags, links, and
every file-system fault as one line `semeq: error: …` (never a traceback)."""
import os
import stat
import subprocess
import sys
from contextlib import contextmanager

import numpy as np
import pytest
import soundfile as sf

import semeq_rt
from semeq_rt.demo import demo_signal

SR = 48000


def run_cli(*args, cwd=None):
    result = subprocess.run([sys.executable, "-m", "semeq_rt.cli", *map(str, args)], capture_output=True, text=True,
                            cwd=cwd)
    return result.returncode, result.stdout, result.stderr


def one_line_error(code, err):
    assert code == 2, err
    assert "Traceback" not in err and err.startswith("semeq: error: ") and err.count("\n") == 1, err
    return err


@pytest.fixture(scope="module")
def music_wav(tmp_path_factory):
    path = tmp_path_factory.mktemp("in") / "music.wav"
    sf.write(path, demo_signal(SR, 4.0, seed=5).T, SR, subtype="PCM_24")
    return path


@pytest.mark.parametrize("source_format, source_subtype, output, expected", [
    ("MP3", "MPEG_LAYER_III", "out.wav", "PCM_16"),   # compressed: the output format's default
    ("WAV", "FLOAT", "out.flac", "PCM_24"),           # floats: the deepest PCM FLAC has
    ("WAV", "PCM_16", "out.flac", "PCM_16"),          # PCM depth kept
    ("FLAC", "PCM_24", "out.wav", "PCM_24"),
    ("WAV", "PCM_24", "out.ogg", "VORBIS"),
    ("MP3", "MPEG_LAYER_III", "out.mp3", "MPEG_LAYER_III"),  # the same format keeps its subtype
])
def test_any_readable_input_to_any_writable_output(tmp_path, source_format, source_subtype, output, expected):
    src = tmp_path / f"in.{source_format.lower()}"
    sf.write(src, demo_signal(44100, 3.0, seed=1).T, 44100, format=source_format, subtype=source_subtype)
    code, _, err = run_cli("process", src, tmp_path / output, "--term", "warm")
    assert code == 0, err
    assert sf.info(str(tmp_path / output)).subtype == expected
    if expected != source_subtype and source_format != output.rsplit(".")[-1].upper():
        assert f"wrote {expected}" in err  # and says which


def test_new_files_respect_the_umask_and_replaced_files_keep_their_mode(music_wav, tmp_path):
    out = tmp_path / "out.wav"
    previous = os.umask(0o027)
    try:
        semeq_rt.process_file(music_wav, out)
        assert stat.S_IMODE(out.stat().st_mode) == 0o640
        os.chmod(out, 0o604)
        semeq_rt.process_file(music_wav, out, overwrite=True)
        assert stat.S_IMODE(out.stat().st_mode) == 0o604
    finally:
        os.umask(previous)


def test_tags_are_kept(tmp_path):
    src = tmp_path / "tagged.wav"
    with sf.SoundFile(src, "w", SR, 2, subtype="PCM_16") as f:
        f.title, f.artist = "Warm Song", "Someone"
        f.write(demo_signal(SR, 3.0).T)
    semeq_rt.process_file(src, tmp_path / "out.wav")
    with sf.SoundFile(tmp_path / "out.wav") as f:
        assert (f.title, f.artist) == ("Warm Song", "Someone")


def test_a_link_at_the_output_is_written_through_and_other_files_are_refused(music_wav, tmp_path):
    target = tmp_path / "target.wav"
    target.write_bytes(b"old")
    link = tmp_path / "link.wav"
    link.symlink_to(target)
    code, _, err = run_cli("process", music_wav, link, "-y", "-q")
    assert code == 0, err
    assert link.is_symlink() and sf.info(str(target)).frames == sf.info(str(music_wav)).frames
    fifo = tmp_path / "fifo.wav"
    os.mkfifo(fifo)
    assert "not a regular file" in one_line_error(*run_cli("process", music_wav, fifo, "-y", "-q")[::2])
    assert stat.S_ISFIFO(fifo.stat().st_mode)


@pytest.mark.parametrize("args, message", [
    (("process", "{dir}", "{dir}/out.wav"), "is a directory"),
    (("process", "{music}", "{dir}/out"), "give the output file an extension"),
    (("process", "{music}", "{dir}/missing/out.wav"), "does not exist"),
    (("process", "{music}", "{dir}/out.wav", "--intensity", "abc"), "must be a number in [-1, 1], got 'abc'"),
    (("process", "{music}", "{dir}/out.wav", "--term", "x" * 100_000), "a term is a word or a short phrase"),
    (("analyze", "{dir}/missing.wav"), "no such file"),
    (("analyze", "{empty}"), "holds no audio"),
    (("analyze", "{silence}"), "nothing to analyse"),
])
def test_faults_are_one_line_errors(music_wav, tmp_path, args, message):
    empty, silence = tmp_path / "empty.wav", tmp_path / "silence.wav"
    sf.write(empty, np.zeros((0, 2), np.float32), SR)
    sf.write(silence, np.zeros((SR, 2), np.float32), SR)
    names = {"dir": tmp_path, "music": music_wav, "empty": empty, "silence": silence}
    code, _, err = run_cli(*(a.format(**names) for a in args))
    if args[0] == "process" and "--intensity" in args:  # argparse's own usage line comes first
        assert code == 2 and message in err and "_intensity" not in err and "Traceback" not in err
        return
    assert message in one_line_error(code, err)
    assert len(err) < 400


def test_short_and_one_frame_files_are_analysed(tmp_path):
    for frames in (1, int(0.1 * SR)):
        path = tmp_path / f"short{frames}.wav"
        sf.write(path, 0.5 * np.ones((frames, 2), np.float32), SR)
        code, out, err = run_cli("analyze", path)
        assert code == 0, err
    # the one window of a 0.1-s file is reported at its middle, not at half a window
    result = semeq_rt.analyze(demo_signal(SR, 0.1), SR)
    assert result.times == pytest.approx([0.05], abs=1e-3)


def test_analyze_into_a_closed_pipe_stops_quietly(music_wav):
    shell = f"{sys.executable} -m semeq_rt.cli analyze {music_wav} | head -n 1"
    result = subprocess.run(["bash", "-c", shell], capture_output=True, text=True)
    assert result.stdout.count("\n") == 1 and "Traceback" not in result.stderr and "Error" not in result.stderr


def test_plot_says_the_file_it_wrote_and_never_overwrites_it_unasked(tmp_path):
    pytest.importorskip("matplotlib")
    code, out, _ = run_cli("plot", "warm", tmp_path / "curve")
    assert code == 0 and out.strip() == f"wrote {tmp_path / 'curve.png'}"
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "already exists" in one_line_error(*run_cli("plot", "warm", tmp_path / "curve")[::2])


def test_version():
    code, out, _ = run_cli("--version")
    assert code == 0 and out.strip() == f"semeq {semeq_rt.__version__}"


def test_processor_names_what_bundle_accepts():
    with pytest.raises(TypeError, match="bundle must be None"):
        semeq_rt.Processor("warm", bundle=42)


@contextmanager
def mounted_tmpfs(path, options):
    path.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root and the mount capability)")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], capture_output=True)


def test_read_only_and_full_file_systems_are_one_line_errors(music_wav, tmp_path):
    with mounted_tmpfs(tmp_path / "ro", "ro,size=1m") as folder:
        err = one_line_error(*run_cli("process", music_wav, folder / "out.wav")[::2])
        assert "no permission to create files" in err
    with mounted_tmpfs(tmp_path / "full", "size=64k") as folder:
        err = one_line_error(*run_cli("process", music_wav, folder / "out.wav", "-q")[::2])
        assert "disk full" in err or "No space left" in err
        assert os.listdir(folder) == []  # no partial output or temporary file left behind


def test_a_long_ogg_vorbis_file_is_written(tmp_path):
    # libsndfile's Vorbis encoder crashes on a minute of audio written in one call: write_audio writes blocks
    code = ("import numpy as np, soundfile as sf, semeq_rt.fileio as f\n"
            "x = (np.random.default_rng(0).standard_normal((2, 44100 * 60)) * 0.1).astype(np.float32)\n"
            f"f.write_audio({str(tmp_path / 'long.ogg')!r}, x, 44100)\n"
            f"print(sf.info({str(tmp_path / 'long.ogg')!r}).frames)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout) == 44100 * 60


@pytest.mark.parametrize("output, subtype, bits", [("out.wav", "PCM_16", 16), ("out.flac", "PCM_16", 16),
                                                   ("out.wav", "PCM_24", 24), ("out.flac", "PCM_24", 24),
                                                   ("out.wav", "PCM_32", 32)])
def test_integer_files_hold_the_samples_to_half_a_step(tmp_path, output, subtype, bits):
    # rounded to the nearest step of the file's depth; full scale and beyond held at the type's ends
    audio = demo_signal(SR, 2.0, seed=3)
    audio[0, :4] = [1.0, -1.0, 1.7, -3.0]
    dst = semeq_rt.fileio.write_audio(tmp_path / output, audio, SR, subtype=subtype)
    assert sf.info(str(dst)).subtype == subtype
    stored = sf.read(str(dst), dtype="int32", always_2d=True)[0].T.astype(np.float64) / 2.0 ** 31
    step = 2.0 ** (1 - bits)
    inside = np.abs(audio) < 1.0 - step
    assert np.max(np.abs(stored - audio)[inside]) <= step / 2 * (1 + 1e-9)
    np.testing.assert_array_equal(stored[0, :4], [1.0 - step, -1.0, 1.0 - step, -1.0])
