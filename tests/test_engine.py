"""The C++ engine's parts against their Python twins (one definition per language, tied here): the EQ
layout and band mapping (eqdef), the real FFT (numpy), the streaming spectrum meter (analysis.BalanceMeter,
whose whole-signal path ``analyze`` uses), and the tonal balance and content span (ltas)."""
import numpy as np
import pytest
from semeq_rt import _core, eqdef, ltas
from semeq_rt.analysis import BalanceMeter
from semeq_rt.demo import demo_signal
from semeq_rt.semantics import get_bundle


def test_the_eq_layout_is_eqdefs():
    layout = _core.eq_layout()
    np.testing.assert_allclose(layout["freq_grid_hz"], eqdef.FREQ_GRID, rtol=1e-14)
    assert [tuple(p) for p in layout["param_layout"]] == list(eqdef.PARAM_LAYOUT)
    assert layout["max_freq_fraction"] == eqdef.MAX_FREQ_FRACTION
    assert layout["shelf_q"] == eqdef.SHELF_Q
    assert layout["analysis_band_hz"] == ltas.ANALYSIS_BAND_HZ
    assert (layout["content_range_db"], layout["content_range_narrow_db"], layout["content_narrow_hz"]) == \
        (ltas.CONTENT_RANGE_DB, ltas.CONTENT_RANGE_NARROW_DB, ltas.CONTENT_NARROW_HZ)
    assert (layout["relative_floor"], layout["balance_limit_db"]) == (ltas.RELATIVE_FLOOR, ltas.BALANCE_LIMIT_DB)


@pytest.mark.parametrize("rate", [22050.0, 44100.0, 48000.0])
def test_the_band_mapping_and_clamp_are_eqdefs(rate):
    rng = np.random.default_rng(1)
    params = eqdef.PARAM_LOW + rng.random((20, eqdef.N_PARAMS)) * (eqdef.PARAM_HIGH - eqdef.PARAM_LOW)
    for setting in params:
        for scale in (1.0, 0.37, -1.0):
            expected = [(kind, freq, gain * scale, q) for kind, freq, gain, q in
                        eqdef.params_to_bands(eqdef.clamp_frequencies(setting, rate))]
            assert _core._params_to_bands(setting, rate, scale) == expected


@pytest.mark.parametrize("n", [4, 64, 4096, 16384])
def test_the_real_fft_matches_numpy(n):
    x = np.random.default_rng(n).standard_normal(n)
    expected = np.fft.rfft(x)
    assert np.max(np.abs(_core._rfft(x) - expected)) <= 1e-12 * np.max(np.abs(expected))


@pytest.mark.parametrize("rate", [22050, 44100, 48000, 96000])
def test_the_streaming_meter_matches_the_whole_signal_density_for_any_block_size(rate):
    bundle = get_bundle()
    meter = BalanceMeter(bundle, rate)
    mid = demo_signal(rate, 4.0, seed=5).mean(axis=0).astype(np.float32)[: meter.window]
    # the latest window's frames: the stream's last frames_per_window frames (frames end at n_fft + k·hop)
    frames = (meter.window - meter.n_fft) // meter.hop + 1
    last_end = meter.n_fft + (len(mid) - meter.n_fft) // meter.hop * meter.hop
    expected = meter.density(mid[last_end - (frames - 1) * meter.hop - meter.n_fft: last_end])
    results = [_core._stream_density(mid, rate, meter.n_fft, meter.hop, meter.window, block)
               for block in (1, 511, 4096, len(mid))]
    for density in results:
        np.testing.assert_allclose(density, expected, rtol=1e-9, atol=1e-300)
        np.testing.assert_array_equal(density, results[0])  # bit-identical across block sizes
    np.testing.assert_allclose(_core._signal_density(mid.astype(np.float64), rate, meter.n_fft, meter.hop),
                               meter.density(mid), rtol=1e-9, atol=1e-300)


def _densities():
    """Densities of real kinds: full band, 22.05 kHz (nothing above 11 kHz), thin (no bass), silence."""
    full = BalanceMeter(get_bundle(), 48000).density(demo_signal(48000, 3.0, seed=2).mean(axis=0))
    cut = full * (eqdef.FREQ_GRID < 11000)
    thin = full * (eqdef.FREQ_GRID > 180) + 1e-12 * full.max() * (eqdef.FREQ_GRID <= 180)
    return {"full": full, "low-passed": cut, "thin": thin, "silence": np.zeros_like(full)}


@pytest.mark.parametrize("kind", ["full", "low-passed", "thin", "silence"])
def test_the_balance_and_content_span_are_ltas(kind):
    density = _densities()[kind]
    reference = np.asarray(get_bundle().neutral_reference["curve_db"])
    band = density[ltas.BAND_MASK]
    mask = ltas.content_mask(band)
    result = _core._balance(density, reference)
    if not mask.any():
        assert result is None
        return
    balance, first, last = result
    inside = np.flatnonzero(mask)
    assert (first, last) == (inside[0], inside[-1])
    np.testing.assert_allclose(balance, ltas.balance_from_density(band, reference, mask), atol=1e-9)
