"""semeq_rt.Processor on real signals with the shipped bundle and the real filter bank."""
import subprocess
import sys
import threading
import tracemalloc

import numpy as np
import pytest

import semeq_rt
from semeq_rt import eqdef, measures
from semeq_rt.demo import demo_signal
from semeq_rt.fileio import PRIME_SECONDS
from semeq_rt.processor import DEFAULT_MAX_BOOST_DB, EARLY_ANALYSES_S
from semeq_rt.semantics import get_bundle
from processor_signals import apply_bands, reference_noise, rms, stream, term_bands, without_level

SR = 48000
GRID = eqdef.FREQ_GRID[(eqdef.FREQ_GRID >= 50) & (eqdef.FREQ_GRID <= 16000)]


@pytest.fixture(scope="module")
def music():
    return demo_signal(SR, 6.0, seed=1)


@pytest.mark.parametrize("mode", ["adaptive", "static"])
def test_intensity_zero_leaves_the_audio_unchanged(music, mode):
    p = semeq_rt.Processor("warm", intensity=0.0, sample_rate=SR, channels=2, mode=mode)
    out = stream(p, music, 512)
    assert np.max(np.abs(out - music)) <= 1e-6


@pytest.mark.parametrize("analysis, interval, seconds", [("encoder", 0.25, 3.3), ("ltas", 0.25, 3.3),
                                                       ("encoder", 5.0, 8.0)])
def test_output_does_not_depend_on_the_block_size(analysis, interval, seconds):
    # several analyses (the first once the 2.73 s window is full) at positions that are not
    # multiples of the analysis frames' hop; with a 5 s interval, stretches longer than a window
    # between analyses (a whole-buffer block hands them over in one piece)
    audio = demo_signal(SR, seconds, seed=1)

    def run(block):
        p = semeq_rt.Processor("bright", sample_rate=SR, channels=2, analysis=analysis,
                               analysis_interval=interval, loudness_compensation=True)
        out = stream(p, audio, block)
        early = len(EARLY_ANALYSES_S)  # on the growing window, before it is full
        assert p.analyses == early + 1 + (audio.shape[1] - p.analysis_window_samples) // p.analysis_interval_samples
        assert p.analyses >= early + 2
        return out

    whole = run(audio.shape[1])
    for block in (1, 7, 512):
        np.testing.assert_array_equal(run(block), whole, err_msg=f"block size {block}")


def test_streaming_analysis_equals_the_audio_encoder_on_the_same_window(music):
    # The stream computes each STFT frame once, at its place in the stream, and runs the encoder's
    # head at each analysis; the full audio encoder on the window that those frames cover must
    # give the same latent. Frames align with the stream: at an analysis position that is not a
    # multiple of the hop (the second one here), the window ends at the last whole frame; the measurement
    # takes effect adopt_delay_samples later.
    bundle = get_bundle()
    mid = music.mean(axis=0, dtype=np.float32)
    hop = bundle.neutral_reference["frame_hop"]
    interval = 5 * hop + 1000
    # (an adaptation time ≪ the interval: audio_latent is the latest measurement itself)
    p = semeq_rt.Processor("warm", sample_rate=SR, channels=2, analysis_interval=interval / SR, adaptation_time=1e-6)
    done = 0
    for position in (bundle.window, bundle.window + interval):
        p.process(music[:, done: position + p.adopt_delay_samples])
        done = position + p.adopt_delay_samples
        end = position - position % hop
        whole = bundle.encode_audio(mid[end - bundle.window: end])
        assert np.max(np.abs(p.audio_latent - whole)) <= 1e-4, position


def test_a_block_runs_one_model_call_of_an_analysis_at_most(music, monkeypatch):
    # Deterministic schedule: the measurement runs in the block where the window ends, the EQ's decode
    # adopt_delay_samples (2048 at 48 kHz) later, so blocks of up to that many frames never pay for both
    # (docs/processor.md)
    from semeq_rt import processor as processor_module

    # the calls are counted on the Python model (the schedule is the engine's, whichever model it calls)
    monkeypatch.setattr(processor_module, "native_model", lambda bundle: None)
    calls = []
    for name in ("measure", "decode"):
        real = getattr(processor_module._BundleModel, name)
        monkeypatch.setattr(processor_module._BundleModel, name,
                            lambda self, *args, real=real, name=name: (calls.append(name), real(self, *args))[1])
    for block in (512, 2048):
        p = semeq_rt.Processor("warm", sample_rate=SR, channels=2)
        assert p.adopt_delay_samples == 2048
        per_block = []
        for i in range(0, music.shape[1], block):
            calls.clear()
            p.process(music[:, i:i + block])
            per_block.append(set(calls))
        measured, decoded = sum("measure" in c for c in per_block), sum("decode" in c for c in per_block)
        assert decoded == p.analyses >= 4 and measured - decoded in (0, 1)  # (1: the last one not yet due)
        assert not any(c == {"measure", "decode"} for c in per_block), block


@pytest.mark.parametrize("mode, analysis", [("adaptive", "encoder"), ("adaptive", "ltas"), ("static", "encoder")])
def test_warm_is_darker_than_bright(music, mode, analysis):
    for audio in (music, reference_noise(6.0, seed=2)):
        out = {t: stream(semeq_rt.Processor(t, sample_rate=SR, channels=2, mode=mode, analysis=analysis), audio, 512)
               for t in ("warm", "bright")}
        assert measures.spectral_centroid(out["warm"], SR) < measures.spectral_centroid(out["bright"], SR)
        assert measures.low_high_ratio_db(out["warm"], SR) > measures.low_high_ratio_db(out["bright"], SR)


def _settled_response(term, audio, analysis="encoder"):
    """The applied EQ (dB on GRID, level removed) after processing ``audio`` adaptively, primed with
    its start as ``semeq process`` does."""
    p = semeq_rt.Processor(term, sample_rate=SR, channels=2, analysis=analysis)
    p.prime(audio[:, : int(PRIME_SECONDS * SR)])
    out = stream(p, audio, 4096)
    return without_level(p.applied_response(GRID), GRID), out


@pytest.mark.parametrize("analysis", ["encoder", "ltas"])
def test_adaptive_compensates_an_existing_eq(analysis):
    # A flat track gets the word's EQ; the same track already EQ'd by e gets that EQ minus ≈ e.
    flat = reference_noise(8.0, seed=3)
    applied_flat, _ = _settled_response("warm", flat, analysis)
    for term in ("warm", "bright"):
        bands = term_bands(term)
        e = without_level(eqdef.bands_response_db(bands, GRID, SR), GRID)
        applied, _ = _settled_response("warm", apply_bands(flat, bands), analysis)
        residual = without_level(applied - applied_flat + e, GRID)
        assert rms(residual) <= 0.3 * rms(e), f"pre-EQ {term}: residual {rms(residual):.2f} dB of {rms(e):.2f} dB"


def test_muddy_track_asked_for_warm_loses_bass():
    muddy = apply_bands(reference_noise(8.0, seed=4), [("lowshelf", 250.0, 12.0, eqdef.SHELF_Q)])
    applied, _ = _settled_response("warm", muddy)
    static_warm = without_level(eqdef.bands_response_db(term_bands("warm"), GRID, SR), GRID)
    low = GRID < 150
    assert applied[low].mean() < 0.0 < static_warm[low].mean()


def test_second_pass_changes_little(music):
    # on a track that needs a clear change ("bright" music asked for "warm")
    first, once = _settled_response("warm", apply_bands(music, term_bands("bright")))
    second, _ = _settled_response("warm", once)
    assert rms(second) <= 0.3 * rms(first)


def test_blend_weights_are_normalised_and_pure_blend_equals_term():
    p = semeq_rt.Processor({"warm": 7, "bright": 3}, mode="static")
    assert p.term == pytest.approx({"warm": 0.7, "bright": 0.3})
    p.set_term([("WARM ", 1.0), ("bright", 0.0)])
    assert p.eq_bands == semeq_rt.Processor("warm", mode="static").eq_bands


@pytest.mark.parametrize("term, message", [
    ("wram", "did you mean 'warm'"),
    ({"warm": -1.0}, "≥ 0"),
    ({"warm": 0.0}, "not all be zero"),
    ({"warm": float("nan")}, "finite"),
])
def test_bad_terms_are_refused_clearly(term, message):
    with pytest.raises(ValueError, match=message):
        semeq_rt.Processor(term)
    p = semeq_rt.Processor("warm", mode="static")
    with pytest.raises(ValueError, match=message):
        p.set_term(term)
    assert p.term == {"warm": 1.0}


@pytest.mark.parametrize("intensity", [-1.1, 1.5, float("nan"), "0.5", True])
def test_intensity_outside_minus_1_to_1_is_refused(intensity):
    with pytest.raises(ValueError, match=r"intensity must be a number in \[-1, 1\]"):
        semeq_rt.Processor("warm", intensity=intensity)
    p = semeq_rt.Processor("warm")
    with pytest.raises(ValueError, match="intensity"):
        p.set_intensity(intensity)
    assert p.intensity == 1.0


def test_block_formats(music):
    block = music[:, :4096]
    reference = semeq_rt.Processor("warm", mode="static").process(block)
    as_int16 = np.round(block * 32767).astype(np.int16)
    out16 = semeq_rt.Processor("warm", mode="static").process(as_int16)
    np.testing.assert_allclose(out16, semeq_rt.Processor("warm", mode="static").process(as_int16 / 32768.0), atol=1e-7)
    assert out16.dtype == np.float32
    static = semeq_rt.Processor("warm", mode="static")
    np.testing.assert_array_equal(static.process(block.astype(np.float64)), reference)
    mono = semeq_rt.Processor("warm", mode="static", channels=1)
    assert mono.process(block[0]).shape == (4096,)

    p = semeq_rt.Processor("warm", channels=2)
    with pytest.raises(ValueError, match=r"1-D audio given to a 2-channel Processor"):
        p.process(block[0])
    with pytest.raises(ValueError, match=r"pass x\.T"):
        p.process(block.T)
    with pytest.raises(ValueError, match="created for 2 channel"):
        p.process(np.zeros((3, 512), np.float32))
    with pytest.raises(ValueError, match="float32, float64 or int16"):
        p.process(block.astype(np.int32))


def test_empty_block_changes_nothing(music):
    a, b = semeq_rt.Processor("warm"), semeq_rt.Processor("warm")
    assert a.process(np.zeros((2, 0), np.float32)).shape == (2, 0)
    np.testing.assert_array_equal(stream(a, music[:, :SR], 512), stream(b, music[:, :SR], 512))


def test_non_finite_samples_are_processed_as_silence(music):
    audio = music[:, : 2 * SR].copy()
    audio[0, 1000] = np.nan
    audio[1, 30000:30010] = np.inf
    audio[0, 40000] = -np.inf
    cleaned = np.where(np.isfinite(audio), audio, 0.0).astype(np.float32)
    out = stream(semeq_rt.Processor("bright"), audio, 512)
    assert np.all(np.isfinite(out))
    np.testing.assert_array_equal(out, stream(semeq_rt.Processor("bright"), cleaned, 512))


@pytest.mark.parametrize("rate", [8000, 16000, 44100, 96000, 192000])
def test_sample_rates_8k_to_192k(rate):
    audio = reference_noise(3.0, rate, seed=5)
    out = {}
    for term in ("warm", "bright"):
        p = semeq_rt.Processor(term, sample_rate=rate, channels=2)
        p.prime(audio)
        assert all(f <= 0.45 * rate for _, f, _, _ in p.eq_bands)
        out[term] = stream(p, audio, 1024)
        assert np.all(np.isfinite(out[term]))
    assert measures.spectral_centroid(out["warm"], rate) < measures.spectral_centroid(out["bright"], rate)


@pytest.mark.parametrize("rate", [4000, 384000, float("nan")])
def test_unsupported_sample_rates_are_refused(rate):
    with pytest.raises(ValueError, match=r"sample_rate must be a number in \[8000, 192000\] Hz"):
        semeq_rt.Processor("warm", sample_rate=rate)


@pytest.mark.parametrize("option, value, accepted", [
    ("analysis_interval", 1e-5, r"analysis_interval must be a number in \[0.1, 60\] s, got 1e-05"),
    ("analysis_interval", float("inf"), r"\[0.1, 60\] s"),
    ("adaptation_time", 0.0, r"adaptation_time must be a number in \(0, 3600\] s"),
    ("adaptation_time", 1e9, r"\(0, 3600\] s"),
    ("smoothing_ms", -1.0, r"smoothing_ms must be a number in \[0, 10000\] ms"),
    ("smoothing_ms", 1e6, r"\[0, 10000\] ms"),
    ("max_boost_db", 0.0, r"max_boost_db must be a number in \(0, 48\] dB"),
    ("max_cut_db", True, r"max_cut_db must be a number"),
    ("fit_iterations", 2.5, r"fit_iterations must be a whole number in \[0, 100\]"),
])
def test_numeric_options_are_bounded_and_the_bounds_are_said(option, value, accepted):
    # an analysis every sample used to be accepted (141× slower than real time)
    with pytest.raises(ValueError, match=accepted):
        semeq_rt.Processor("warm", **{option: value})


def test_no_latency(music):
    p = semeq_rt.Processor("warm")
    assert p.latency_samples == 0
    out = stream(p, music, 512)
    lags = np.arange(-64, 65)
    correlation = [np.dot(out[0, 64:-64], np.roll(music[0], lag)[64:-64]) for lag in lags]
    assert lags[int(np.argmax(correlation))] == 0


def test_term_change_ramps_instead_of_clicking():
    t = np.arange(SR) / SR
    sine = np.tile(0.5 * np.sin(2 * np.pi * 200 * t).astype(np.float32), (2, 1))

    def high_band_energy(smoothing_ms):
        p = semeq_rt.Processor("warm", mode="static", smoothing_ms=smoothing_ms)
        first = p.process(sine[:, : SR // 2])
        p.set_term("bright")
        second = p.process(sine[:, SR // 2:])
        out = np.concatenate([first, second], axis=1)[0, SR // 2 - 2048: SR // 2 + 2048]
        spectrum = np.abs(np.fft.rfft(out * np.hanning(len(out)))) ** 2
        return spectrum[np.fft.rfftfreq(len(out), 1 / SR) > 2000].sum()

    assert high_band_energy(20.0) < 0.1 * high_band_energy(0.0)


def test_loudness_compensation_keeps_loudness(music):
    # Static mode estimates the loudness change on the neutral reference spectrum (it does not
    # analyse), so it is checked on audio at that balance; adaptive mode on music.
    flat = reference_noise(6.0, seed=7)

    def change(audio, term, mode, compensate):
        p = semeq_rt.Processor(term, mode=mode, loudness_compensation=compensate)
        p.prime(audio)
        out = stream(p, audio, 4096)
        return measures.integrated_loudness(out, SR) - measures.integrated_loudness(audio, SR)

    # SAFE's "warm" is louder as well as warmer: enough level change for the check below to mean something
    assert abs(change(flat, "warm", "static", False)) >= 1.0
    for term in ("warm", "bright"):
        assert abs(change(flat, term, "static", True)) <= 0.5, term
        assert abs(change(music, term, "adaptive", True)) <= 0.5, term


def test_control_from_another_thread_stays_finite_bounded_and_flat_in_memory(music):
    # 60 s of stream in realtime mode; a second thread changes term and intensity every 1 ms of wall
    # time (each change well inside one 512-sample block's worth of processing).
    p = semeq_rt.Processor("warm", realtime=True)
    stop = threading.Event()

    def control():
        rng = np.random.default_rng(0)
        words = semeq_rt.terms()[:6]
        while not stop.is_set():
            p.set_term({words[rng.integers(len(words))]: 1.0, words[rng.integers(len(words))]: rng.random()})
            p.set_intensity(float(rng.random()))
            stop.wait(0.001)

    controller = threading.Thread(target=control)
    controller.start()
    peak = float(np.max(np.abs(music)))
    tracemalloc.start()
    traced = []  # traced memory after each second; its minimum ignores transient analysis buffers
    try:
        for second in range(60):
            out = stream(p, music[:, (second % 5) * SR: (second % 5 + 1) * SR], 512)
            assert np.all(np.isfinite(out))
            assert np.max(np.abs(out)) < 16 * peak  # 24 dB: twice the largest gain of one band
            traced.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
        stop.set()
        controller.join()
        p.close()
    assert min(traced[50:]) - min(traced[5:15]) < 256 * 1024


def test_runtime_does_not_import_torch_scipy_or_matplotlib():
    code = ("import sys, numpy as np, semeq_rt\n"
            "p = semeq_rt.Processor('warm')\n"
            "p.process(np.zeros((2, 48000), np.float32))\n"
            "semeq_rt.analyze(np.zeros(48000, np.float32) + 0.1, 48000)\n"
            "import semeq_rt.cli\n"
            "print(sorted(m for m in ('torch', 'scipy', 'matplotlib') if m in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("analysis", ["encoder", "ltas"])
def test_steady_input_gives_a_steady_eq(analysis):
    audio = reference_noise(26.0, seed=8)
    p = semeq_rt.Processor("warm", analysis=analysis)
    p.prime(audio[:, : int(PRIME_SECONDS * SR)])
    window, interval = p.analysis_window_samples, p.analysis_interval_samples
    p.process(audio[:, :window])
    responses = [p.applied_response(GRID)]
    for start in range(window, audio.shape[1] - interval + 1, interval):
        p.process(audio[:, start:start + interval])
        responses.append(p.applied_response(GRID))
    changes = [rms(b - a) for a, b in zip(responses, responses[1:])]
    assert len(changes) >= 10 and max(changes) <= 0.5, np.round(changes, 2)


def test_adaptive_eq_is_limited_and_boosts_nothing_where_there_is_no_content():
    # a recording without bass asked for "warm": no boost below its lowest register, and within it
    # no more than the limit; a user's wider limit is obeyed
    thin = apply_bands(reference_noise(8.0, seed=9), [("highpass", 500.0, 0.0, 0.7), ("highpass", 500.0, 0.0, 0.7)])

    def run(**limits):
        p = semeq_rt.Processor("warm", **limits)
        p.prime(thin)
        return p, measures.eq_change(thin, stream(p, thin, 4096), SR)

    p, change = run()
    assert len(change["empty_bands_hz"]) and change["empty_bands_hz"].max() < 200
    assert change["largest_empty_boost_db"] <= 1.0
    assert p.largest_boost_db <= DEFAULT_MAX_BOOST_DB + 0.01
    assert change["largest_boost_db"] <= DEFAULT_MAX_BOOST_DB + 1.0
    wide, _ = run(max_boost_db=30.0, max_cut_db=30.0)
    assert wide.largest_boost_db > p.largest_boost_db + 1.0


def test_negative_intensity_moves_the_audio_away_from_the_word(music):
    # adaptive: "warm" at -1 leaves the music brighter than it came in, at +1 darker; static: the word's
    # EQ with negated gains (an RBJ band with gain -g is the exact inverse of the one with gain g)
    def centroid(intensity, mode="adaptive"):
        p = semeq_rt.Processor("warm", intensity=intensity, mode=mode)
        p.prime(music)
        return measures.spectral_centroid(stream(p, music, 512), SR), p

    neutral = measures.spectral_centroid(music, SR)
    away, _ = centroid(-1.0)
    toward, _ = centroid(1.0)
    assert toward < neutral < away, (toward, neutral, away)
    _, plus = centroid(1.0, "static")
    _, minus = centroid(-1.0, "static")
    np.testing.assert_allclose(minus.applied_response(GRID), -plus.applied_response(GRID), atol=1e-9)


def test_processors_in_threads_give_their_serial_output(music):
    # each thread its own Processor (process releases the GIL): the same samples as one after another
    settings = [("warm", 1.0), ("bright", 0.5), ("airy", -0.7), ("warm", 0.3)]

    def run(term, intensity, out, k):
        out[k] = stream(semeq_rt.Processor(term, intensity=intensity, analysis_interval=0.5), music, 512)

    serial, parallel = [None] * 4, [None] * 4
    for k, (term, intensity) in enumerate(settings):
        run(term, intensity, serial, k)
    threads = [threading.Thread(target=run, args=(term, intensity, parallel, k))
               for k, (term, intensity) in enumerate(settings)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(4):
        np.testing.assert_array_equal(parallel[k], serial[k], err_msg=str(settings[k]))


@pytest.mark.parametrize("analysis", ["ltas", "encoder"])
def test_close_and_deletion_while_the_analysis_thread_is_busy(music, analysis):
    # the LTAS fit keeps the engine's analysis thread busy for milliseconds per analysis (the Python
    # model), the encoder's analyses every 0.1 s of a stream running hundreds of times faster than real
    # time for a good part of it (the C++ model where the extension has it): close() and the last
    # reference's deletion must wait for it (or end it) without a hang, and later blocks work
    for _ in range(3):
        p = semeq_rt.Processor("warm", realtime=True, analysis=analysis, analysis_interval=0.1)
        stream(p, music[:, : 4 * SR], 512)
        assert p.realtime_running
        p.close()
        assert not p.realtime_running
        out = stream(p, music[:, 4 * SR:], 512)  # synchronous from here
        assert np.all(np.isfinite(out))
        q = semeq_rt.Processor("bright", realtime=True, analysis=analysis, analysis_interval=0.1)
        stream(q, music[:, : 4 * SR], 512)
        del q
