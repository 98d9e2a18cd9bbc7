"""semeq_rt.measures: BS.1770 loudness against pyloudnorm and the standard's own coefficients, streaming
in any block size, and eq_change on signals with a known EQ."""
import numpy as np
import pytest

from semeq_rt import FilterBank, eqdef, measures
from semeq_rt.demo import demo_signal

#: ITU-R BS.1770-4's published K-weighting at 48 kHz, (b0, b1, b2, a1, a2): pre-filter, RLB high-pass.
K_WEIGHTING_48K = (
    (1.53512485958697, -2.69169618940638, 1.19839281085285, -1.69065929318241, 0.73248077421585),
    (1.0, -2.0, 1.0, -1.99004745483398, 0.99007225036621),
)


def test_k_weighting_designs_match_the_standard_at_48_khz():
    freqs = np.geomspace(10.0, 23000.0, 400)
    published = sum(eqdef.biquad_response_db(c, freqs, 48000.0) for c in K_WEIGHTING_48K)
    assert np.max(np.abs(measures.k_weighting_db(freqs) - published)) <= 0.05


@pytest.mark.parametrize("rate", [22050, 44100, 48000, 96000])
def test_integrated_loudness_matches_pyloudnorm(rate):
    pyln = pytest.importorskip("pyloudnorm")
    music = demo_signal(rate, 6.0, seed=2)
    quiet = np.concatenate([music, 0.01 * music], axis=1)  # the gates exclude the quiet half
    for audio in (music, quiet, music[:1]):
        expected = pyln.Meter(rate).integrated_loudness(audio.T.astype(np.float64))
        assert measures.integrated_loudness(audio, rate) == pytest.approx(expected, abs=0.05)


def test_loudness_meter_gives_the_same_figure_for_any_block_size():
    audio = demo_signal(44100, 3.0, seed=4)
    whole = measures.integrated_loudness(audio, 44100)
    for block in (1, 7, 4410, 10000):
        meter = measures.LoudnessMeter(44100, 2)
        for start in range(0, audio.shape[1], block):
            meter.push(audio[:, start:start + block])
        assert meter.integrated() == pytest.approx(whole, abs=1e-6), block


def test_loudness_of_silence_and_short_audio_is_minus_infinity():
    assert measures.integrated_loudness(np.zeros((2, 48000), np.float32), 48000) == float("-inf")
    assert measures.integrated_loudness(demo_signal(48000, 0.3), 48000) == float("-inf")


def test_eq_change_measures_a_known_eq():
    rate = 48000
    noise = np.random.default_rng(0).standard_normal((2, 10 * rate)).astype(np.float32) * np.float32(0.1)
    low_passed = FilterBank(rate, 2)
    low_passed.set_bands([("lowpass", 4000.0, 0.0, 0.7)] * 6)  # nothing left from ~8 kHz up
    before = low_passed.process(noise)
    bands = [("peak", 1000.0, 9.0, 0.7)]
    eq = FilterBank(rate, 2)
    eq.set_bands(bands)
    change = measures.eq_change(before, eq.process(before), rate)
    level = change["loudness_change_lu"]
    assert level > 1.0  # a broad boost in the middle is heard as louder
    for centre, band_change in zip(change["band_centres_hz"], change["band_change_db"]):
        if centre < 5000:  # (above, the low-pass leaves too little to measure the EQ on)
            expected = eqdef.bands_response_db(bands, [centre], rate)[0]
            assert band_change + level == pytest.approx(expected, abs=0.5), centre
    assert change["largest_boost_db"] == pytest.approx(9.0 - level, abs=0.5)
    assert change["empty_bands_hz"].min() >= 8000
    assert change["peak_rise_db"] > 0.0
