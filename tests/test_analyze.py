"""semeq_rt.analyze on real signals with the shipped bundle."""
import numpy as np
import pytest

import semeq_rt
from semeq_rt import _core, eqdef, ltas
from semeq_rt.demo import demo_signal
from semeq_rt.analysis import BalanceMeter, latent_of_balance, resample
from semeq_rt.semantics import get_bundle
from processor_signals import apply_bands, reference_noise, rms, term_bands, without_level

SR = 48000
GRID = eqdef.FREQ_GRID[(eqdef.FREQ_GRID >= 50) & (eqdef.FREQ_GRID <= 16000)]


@pytest.fixture(scope="module")
def flat():
    return reference_noise(6.0, seed=10)


@pytest.mark.parametrize("analysis", ["encoder", "ltas"])
def test_eq_change_is_measured(flat, analysis):
    # decode(enc(e·x)) − decode(enc(x)) ≈ e for the typical warm and bright EQs
    base = semeq_rt.analyze(flat, SR, analysis=analysis)
    for term in ("warm", "bright"):
        bands = term_bands(term)
        e = without_level(eqdef.bands_response_db(bands, GRID, SR), GRID)
        measured = semeq_rt.analyze(apply_bands(flat, bands), SR, analysis=analysis)
        change = without_level(measured.curve(GRID) - base.curve(GRID), GRID)
        assert rms(change - e) <= 1.5, f"{term}: {rms(change - e):.2f} dB RMS error"


def test_warm_and_bright_scores_follow_the_tilt(flat):
    # the reference noise tilted by opposite shelves: the darker, the warmer and the less bright
    scores = []
    for gain in (-6.0, -3.0, 0.0, 3.0, 6.0):
        bands = [("lowshelf", 250.0, -gain, eqdef.SHELF_Q), ("highshelf", 2500.0, gain, eqdef.SHELF_Q)]
        scores.append(semeq_rt.analyze(apply_bands(flat, bands), SR).scores)
    warm, bright = [s["warm"] for s in scores], [s["bright"] for s in scores]
    assert all(a > b for a, b in zip(warm, warm[1:])), warm
    assert all(a < b for a, b in zip(bright, bright[1:])), bright


@pytest.mark.parametrize("analysis", ["encoder", "ltas"])
def test_warm_audio_scores_warmer_than_bright_audio(flat, analysis):
    scores = {t: semeq_rt.analyze(apply_bands(flat, term_bands(t)), SR, analysis=analysis).scores
              for t in ("warm", "bright")}
    assert scores["warm"]["warm"] > scores["bright"]["warm"]
    assert scores["bright"]["bright"] > scores["warm"]["bright"]


def test_scores_cover_all_terms_best_first(flat):
    result = semeq_rt.analyze(flat, SR)
    assert set(result.scores) == set(semeq_rt.terms())
    values = list(result.scores.values())
    assert values == sorted(values, reverse=True)
    # each score is the manifest's formula on the clip's balance curve (per-term probabilities, not a
    # distribution over terms): amounts of the term's reference curve in its boosts and in its cuts,
    # then the term's logistic
    manifest = get_bundle().manifest
    band = (eqdef.FREQ_GRID >= 50) & (eqdef.FREQ_GRID <= 16000)
    curve = result.curve()[band] - result.curve()[band].mean()
    references = {t["name"]: np.asarray(t["curve_db"])[band] for t in manifest["terms"]}
    scorer = manifest["term_scorer"]
    assert scorer["kind"] == "term-boost-cut-logistic"
    for name, s_boost, s_cut, intercept in zip(scorer["terms"], scorer["slope_boost"], scorer["slope_cut"],
                                               scorer["intercept"]):
        r = references[name] - references[name].mean()
        boost, cut = np.maximum(curve, 0) @ r / (r @ r), np.minimum(curve, 0) @ r / (r @ r)
        expected = 1.0 / (1.0 + np.exp(-(s_boost * boost + s_cut * cut + intercept)))
        assert result.scores[name] == pytest.approx(expected, abs=1e-4), name
    assert sum(values) > 1.5 or sum(values) < 0.5  # not normalised to sum to 1
    assert len(result.window_scores()) == len(result.times) == len(result.window_latents)


@pytest.mark.parametrize("analysis", ["encoder", "ltas"])
def test_level_does_not_change_the_analysis(analysis):
    music = demo_signal(SR, 4.0, seed=2)
    loud = semeq_rt.analyze(music, SR, analysis=analysis).latent
    quiet = semeq_rt.analyze(music * 0.1, SR, analysis=analysis).latent  # −20 dB
    terms = get_bundle().terms
    scale = np.linalg.norm(terms["warm"].centroid - terms["bright"].centroid)
    assert np.linalg.norm(loud - quiet) <= 0.05 * scale


def test_mono_stereo_int16_and_short_clips(flat):
    stereo = semeq_rt.analyze(flat, SR, analysis="ltas")
    mid = semeq_rt.analyze(flat.mean(axis=0), SR, analysis="ltas")
    np.testing.assert_allclose(stereo.latent, mid.latent, atol=1e-5)
    as_int16 = np.round(flat * 32767).astype(np.int16)
    np.testing.assert_allclose(semeq_rt.analyze(as_int16, SR, analysis="ltas").latent, stereo.latent, atol=1e-2)
    short = semeq_rt.analyze(flat[:, :1000], SR)
    assert len(short.times) == 1 and np.all(np.isfinite(short.latent))


@pytest.mark.parametrize("audio, rate, message", [
    (np.full(4800, np.nan, np.float32), SR, "silent: there is nothing to analyse"),  # non-finite counts as 0
    (np.zeros(0, np.float32), SR, "empty"),
    (np.zeros((4800, 2), np.float32), SR, r"audio\.T"),
    (np.zeros(4800, np.int32), SR, "float32, float64 or int16"),
    (np.zeros(4800, np.float16), SR, "float32, float64 or int16"),
    (np.zeros(4800, np.float32), 1000, r"sample_rate must be a number in \[8000, 192000\] Hz"),
])
def test_bad_input_is_refused_clearly(audio, rate, message):
    with pytest.raises(ValueError, match=message):
        semeq_rt.analyze(audio, rate)


def test_analyze_and_the_processor_take_the_same_input_and_say_the_same():
    # numpy rates and a (channels, 1) block are valid; a bad block gets the same words from both
    music = demo_signal(SR, 1.0, seed=6)
    semeq_rt.analyze(music[:, :1].copy(), np.int64(SR))
    semeq_rt.Processor("warm", sample_rate=np.int64(SR), channels=2).process(music[:, :1])
    for bad, rate in ((music.astype(np.float16), SR), (music, 4000), (music, float("nan"))):
        messages = []
        for call in (lambda: semeq_rt.analyze(bad, rate),
                     lambda: semeq_rt.Processor("warm", sample_rate=rate, channels=2).process(bad)):
            with pytest.raises(ValueError) as error:
                call()
            messages.append(str(error.value))
        assert messages[0] == messages[1]


def test_curve_frequencies_are_checked(flat):
    result = semeq_rt.analyze(flat, SR, analysis="ltas")
    assert result.curve([100.0, 1000.0]).shape == (2,)
    with pytest.raises(ValueError, match="frequencies"):
        result.curve([0.0, 30000.0])


@pytest.mark.parametrize("rate", [96000, 192000])
def test_analysis_frames_at_96_and_192_khz_match_the_encoder_at_48_khz(rate):
    # frames scale with the rate (8192 samples at 96 kHz): the same bins as the encoder's at 48 kHz
    bundle = get_bundle()
    mid48 = demo_signal(SR, 3.0, seed=3).mean(axis=0)[: bundle.window]
    meter = BalanceMeter(bundle, rate)
    mid = resample(mid48, SR, rate).astype(np.float32)
    whole = latent_of_balance(bundle, "encoder", meter.balance_db(mid))
    # the engine's meter, as a stream in odd-sized blocks
    band = _core._stream_density(mid, rate, meter.n_fft, meter.hop, meter.window, 1000)[ltas.BAND_MASK]
    streamed = latent_of_balance(bundle, "encoder",
                                 ltas.balance_from_density(band, meter.reference_db, ltas.content_mask(band)))
    expected = bundle.encode_audio(mid48.astype(np.float32))
    assert np.max(np.abs(whole - expected)) <= 1e-4
    assert np.max(np.abs(streamed - expected)) <= 1e-4


def test_analyze_reports_progress_over_its_windows():
    calls = []
    result = semeq_rt.analyze(demo_signal(SR, 8.0, seed=7), SR,
                              progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1] == (len(result.times), len(result.times))
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
