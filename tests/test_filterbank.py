"""FilterBank: accuracy against scipy, sample-exact streaming, every SIMD kernel, smoothing, the API
contract (input forms, errors). Measured on real signals; speed lives in bench/bench_filterbank.py."""
import numpy as np
import pytest
import scipy.signal as ss

from semeq_rt import FilterBank, _core, eqdef

FS = 48000
BANDS = [("lowshelf", 120.0, 4.0, eqdef.SHELF_Q), ("peak", 400.0, -3.0, 1.0), ("peak", 2500.0, 6.0, 3.0),
         ("peak", 6000.0, -5.0, 0.5), ("highshelf", 10000.0, 3.0, eqdef.SHELF_Q)]
BANDS_ALT = [(kind, freq, -gain, q) for kind, freq, gain, q in BANDS]
MOVED = [("lowshelf", 200.0, -6.0, eqdef.SHELF_Q), ("peak", 400.0, 9.0, 1.0), ("highpass", 80.0, 0.0, 0.9),
         ("peak", 6000.0, -5.0, 0.5)]


def sos_of(bands, fs=FS):
    rows = []
    for kind, freq, gain, q in bands:
        b0, b1, b2, a1, a2 = eqdef.rbj_coefficients(kind, freq, gain, q, fs)
        rows.append([b0, b1, b2, 1.0, a1, a2])
    return np.array(rows)


def noise(channels, seconds, seed=0, fs=FS):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, (channels, int(seconds * fs))).astype(np.float32)


def stream(fb, x, block):
    """Processes x in blocks of `block` samples with process_inplace; returns the output."""
    y = np.array(x, dtype=np.float32, order="C")
    if block == 1:
        yt = np.ascontiguousarray(y.T)  # (n, channels): yt[i:i+1].T is a C-contiguous (channels, 1) view
        for i in range(yt.shape[0]):
            fb.process_inplace(yt[i:i + 1].T)
        return np.ascontiguousarray(yt.T)
    for start in range(0, y.shape[1], block):
        part = np.ascontiguousarray(y[:, start:start + block])
        fb.process_inplace(part)
        y[:, start:start + block] = part
    return y


@pytest.fixture(scope="module")
def noise60():
    return noise(2, 60.0, seed=1)


@pytest.fixture(scope="module")
def whole60(noise60):
    fb = FilterBank(FS, 2)
    fb.set_bands(BANDS)
    return fb.process(noise60)


def test_matches_scipy_sosfilt_float64_on_60s_full_scale_stereo_noise(noise60, whole60):
    reference = ss.sosfilt(sos_of(BANDS), noise60.astype(np.float64), axis=1)
    assert np.max(np.abs(whole60 - reference)) <= 1e-6


@pytest.mark.parametrize("block", [512, 7, 1])
def test_blocks_give_output_identical_to_one_call(noise60, whole60, block):
    fb = FilterBank(FS, 2)
    fb.set_bands(BANDS)
    assert np.array_equal(stream(fb, noise60, block), whole60)


def scaled(bands, fs):
    """The bands with their frequencies scaled from FS to fs."""
    return [(kind, freq * fs / FS, gain, q) for kind, freq, gain, q in bands]


def random_peaks(count, seed):
    rng = np.random.default_rng(seed)
    return [("peak", float(f), float(g), float(q))
            for f, g, q in zip(rng.uniform(30.0, 15000.0, count), rng.uniform(-12.0, 12.0, count),
                                rng.uniform(0.3, 4.0, count))]


def run_with_ramp(x, block, isa=None, fs=FS, before=BANDS, after=MOVED):
    """Static bands, then a change (by default: same types ramp in parameters, a type change
    crossfades coefficients, the removed high shelf ramps to 0 dB and rings down) at a sample position
    that every tested block size has as a boundary.
    Returns the output and the final float64 filter state."""
    if isa is not None:
        _core.set_isa(isa)
    try:
        fb = FilterBank(fs, x.shape[0], smoothing_ms=10.0)
        fb.set_bands(scaled(before, fs))
        split = 7 * 512 * 3
        first = stream(fb, x[:, :split], block)
        fb.set_bands(scaled(after, fs))
        return np.concatenate([first, stream(fb, x[:, split:], block)], axis=1), fb._state()
    finally:
        _core.set_isa(_core.available_isas()[-1])


# 16 kHz: the shortest control interval (16 samples), where a ramp's 8-sample coefficient tiles
# (channels in lanes) and its skewed sections (lane-wise) meet a control point most often. 14 bands:
# chains of several chunks, each ramping its own sections.
@pytest.mark.parametrize("channels, fs, bands", [(1, FS, 5), (2, FS, 5), (3, FS, 5), (16, FS, 5),
                                                 (2, 16000, 5), (16, 16000, 5), (16, FS, 14)])
def test_every_simd_kernel_and_block_size_gives_identical_output_while_ramping(channels, fs, bands):
    """Kernels with the same fused-multiply-add use (scalar and sse2 without, avx2 and avx512 with) give
    identical output for every block size; the two families differ only by float64 rounding."""
    x = noise(channels, 0.7, seed=channels, fs=fs)
    sets = {} if bands == 5 else {"before": random_peaks(bands, 1), "after": random_peaks(bands, 2)}
    reference, reference_state = run_with_ramp(x, x.shape[1], isa="scalar", fs=fs, **sets)
    assert np.all(np.isfinite(reference))
    family_reference = {}
    for isa in _core.available_isas():
        fused = _core.isa_fuses_multiply_add(isa)
        whole, state = run_with_ramp(x, x.shape[1], isa, fs, **sets)
        family_reference.setdefault(fused, whole)
        assert np.array_equal(whole, family_reference[fused]), isa
        for block in (512, 7):
            assert np.array_equal(run_with_ramp(x, block, isa, fs, **sets)[0], whole), (isa, block)
        # across families: float64 state within 1e-12 of its scale, float32 output within one ulp
        assert np.max(np.abs(state - reference_state)) <= 1e-12 * np.max(np.abs(reference_state)), isa
        assert np.all(np.abs(whole - reference) <= np.spacing(np.abs(reference))), isa


@pytest.mark.parametrize("fs", [8000, 22050, 48000, 192000])
def test_peaks_and_shelves_at_0_db_pass_audio_through_bit_exactly(fs):
    # at every frequency, however the design would round there (a shelf near 0 Hz does): the
    # Processor's "intensity 0" and its unused guard shelves
    x = noise(2, 0.5, seed=4, fs=fs) * np.float32(1e-3)
    flat = [(kind, freq, 0.0, q) for kind in ("lowshelf", "highshelf", "peak")
            for freq, q in ((10.0, eqdef.SHELF_Q), (0.45 * fs, 0.3), (1000.0, 8.0))]
    fb = FilterBank(fs, 2, max_bands=16)
    fb.set_bands(flat)
    np.testing.assert_array_equal(fb.process(x), x)


def test_exactly_the_fma_kernels_fuse_multiply_add():
    for isa in _core.available_isas():
        assert _core.isa_fuses_multiply_add(isa) == (isa in ("avx2", "avx512")), isa
    with pytest.raises(ValueError, match="not available"):
        _core.isa_fuses_multiply_add("avx9000")


def test_first_set_applies_at_once_and_later_sets_ramp():
    x = noise(1, 0.5, seed=3)[0]
    static_new = FilterBank(FS, 1)
    static_new.set_bands(MOVED)
    fb = FilterBank(FS, 1, smoothing_ms=20.0)
    fb.set_bands(MOVED)
    assert np.array_equal(fb.process(x), static_new.process(x))  # first set: no ramp from flat
    assert not fb.ramping
    fb.set_bands(BANDS)
    assert fb.ramping
    fb.process(x[:480])
    assert fb.ramping  # 10 ms into a 20 ms ramp
    fb.process(x[:960])
    assert not fb.ramping
    fb.reset()
    fb.set_bands(MOVED)  # first set after reset: at once again
    static_new.reset()
    assert np.array_equal(fb.process(x), static_new.process(x))


@pytest.mark.parametrize("after_reset", [False, True], ids=["new bank", "after reset"])
def test_every_set_before_the_first_process_applies_at_once(after_reset):
    """Nothing has been filtered yet, so there is nothing to ramp from: the last set posted before the
    first process() (after construction or reset()) is the filter from sample 0, as scipy runs it."""
    x = noise(2, 0.1, seed=5)
    fb = FilterBank(FS, 2, smoothing_ms=20.0)
    if after_reset:  # BANDS in force before the reset: the last set below must not ramp from them
        fb.set_bands(BANDS)
        fb.process(x)
        fb.reset()
    for bands in (BANDS_ALT, BANDS, MOVED):
        fb.set_bands(bands)
    reference = ss.sosfilt(sos_of(MOVED), x.astype(np.float64), axis=1)
    assert np.max(np.abs(fb.process(x) - reference)) < 1e-5
    assert not fb.ramping


def test_posting_the_same_bands_again_does_not_restart_the_ramp():
    """Hosts may post their bands every block: a set equal to the target in force changes nothing, so a
    ramp toward it ends on time (before, every post restarted it and it never reached the target)."""
    x = noise(2, 0.2, seed=11)
    outputs = []
    for repost in (False, True):
        fb = FilterBank(FS, 2, smoothing_ms=20.0)
        fb.set_bands(BANDS)
        fb.process(x[:, :512])
        fb.set_bands(BANDS_ALT)
        blocks = []
        for start in range(512, x.shape[1], 256):
            if repost:
                fb.set_bands(BANDS_ALT)
            blocks.append(fb.process(x[:, start:start + 256]))
        assert not fb.ramping
        outputs.append(np.concatenate(blocks, axis=1))
    assert np.array_equal(outputs[0], outputs[1])


def test_reset_clears_state():
    x = noise(2, 0.2, seed=4)
    fb = FilterBank(FS, 2)
    fb.set_bands(BANDS)
    first = fb.process(x)
    fb.process(x)
    assert np.any(fb._state() != 0.0)
    fb.reset()
    fb.set_bands(BANDS)
    assert np.array_equal(fb.process(x), first)


def hf_energy_db(y, start, stop, cutoff=4000.0):
    """Energy above `cutoff` in y[start:stop] (12th-order Butterworth high-pass over the whole signal)."""
    hp = ss.butter(12, cutoff, "highpass", fs=FS, output="sos")
    return 10 * np.log10(np.sum(ss.sosfilt(hp, y.astype(np.float64))[start:stop] ** 2) + 1e-300)


@pytest.mark.parametrize("before, after", [
    ([("peak", 1000.0, 0.0, 1.0)], [("peak", 1000.0, 12.0, 1.0)]),  # a gain step
    ([("peak", 1000.0, 12.0, 4.0)], []),                             # a resonant band switched off
    ([("peak", 1000.0, -12.0, 4.0)], []),
    ([], [("peak", 1000.0, 12.0, 4.0)]),                             # ... and on
], ids=["gain step", "boost off", "cut off", "boost on"])
def test_smoothing_adds_no_more_hf_energy_than_a_linear_crossfade(before, after):
    """A change at 1 kHz with a 1 kHz sine playing: energy above 4 kHz during the ramp is at most that of
    an ideal linear crossfade of the two static outputs (+1 dB); an unsmoothed switch adds at least ten
    times that. (Direct form I keeps the signal, not a coefficient-dependent state, so an unsmoothed
    switch clicks less than in the transposed form: 10-19 dB over the crossfade here, against 19-31.)"""
    t = np.arange(int(0.5 * FS)) / FS
    x = (0.5 * np.sin(2 * np.pi * 1000.0 * t)).astype(np.float32)
    call_at = 12000

    def switched(smoothing_ms):
        fb = FilterBank(FS, 1, smoothing_ms=smoothing_ms)
        fb.set_bands(before)
        head = fb.process(x[:call_at])
        fb.set_bands(after)
        return np.concatenate([head, fb.process(x[call_at:])]), fb.control_interval

    smoothed, interval = switched(20.0)
    unsmoothed, _ = switched(0.0)
    statics = []
    for bands in (before, after):
        fb = FilterBank(FS, 1)
        fb.set_bands(bands)
        statics.append(fb.process(x).astype(np.float64))
    start = -(-call_at // interval) * interval  # ramps start at the next control point
    ramp = int(round(0.020 * FS))
    u = np.clip((np.arange(len(x)) - start) / ramp, 0.0, 1.0)
    crossfade = (1 - u) * statics[0] + u * statics[1]
    window = (start - 480, start + ramp + 480)
    e_smooth, e_cross, e_jump = (hf_energy_db(y, *window) for y in (smoothed, crossfade, unsmoothed))
    assert e_smooth <= e_cross + 1.0, (e_smooth, e_cross)
    assert e_jump >= e_cross + 10.0, (e_jump, e_cross)


def test_a_band_switched_off_rings_down_then_stops_costing():
    """A band switched off ramps to 0 dB and keeps running until its state has rung down (dropping it
    at once would click); then it is no longer processed (16 channels: one section per vector)."""
    def sections(bank):
        layout = bank._kernel_layout()
        return layout["chunks"] * layout["vectors_per_chain"] * layout["sections_per_vector"]

    fb = FilterBank(FS, 16)
    fb.set_bands([("lowshelf", 120.0, 4.0, 0.707), ("peak", 1000.0, 12.0, 8.0)])
    x = noise(16, 0.1, seed=7)
    fb.process(x)
    assert sections(fb) == 2
    fb.set_bands([("lowshelf", 120.0, 4.0, 0.707)])
    y = fb.process(x)  # the 20 ms ramp and 80 ms more
    state = fb._state()[:, 1]  # (x1, x2, y1, y2): the band's output still differs from its input
    assert not fb.ramping and sections(fb) == 2 and np.any(state[:, :2] != state[:, 2:])  # still ringing down
    for _ in range(40):  # 4 s: the state decays to zero (flush-to-zero ends the tail)
        y = fb.process(x)
    assert sections(fb) == 1
    alone = FilterBank(FS, 16)
    alone.set_bands([("lowshelf", 120.0, 4.0, 0.707)])
    for _ in range(2):
        expected = alone.process(x)
    np.testing.assert_allclose(y, expected, atol=1e-6)  # the low shelf alone, as before


def test_response_is_the_eqdef_response_of_the_target_bands():
    fb = FilterBank(FS, 2)
    fb.set_bands(BANDS)
    freqs = np.geomspace(10, 23000, 300)
    assert np.allclose(fb.response(freqs), eqdef.bands_response_db(BANDS, freqs, FS), atol=1e-9)
    # and the audio agrees: a sine's gain through the bank
    for f in (120.0, 2500.0, 10000.0):
        sine = np.sin(2 * np.pi * f * np.arange(FS) / FS).astype(np.float32)
        fb.reset()
        fb.set_bands(BANDS)
        y = fb.process(np.stack([sine, sine]))[0, FS // 2:]
        measured = 20 * np.log10(np.sqrt(2 * np.mean(y.astype(np.float64) ** 2)))
        assert abs(measured - fb.response([f])[0]) < 0.01


def test_applied_response_follows_the_ramp_and_matches_the_output():
    fs, f0 = 48000, 1000.0
    fb = FilterBank(fs, 1, smoothing_ms=100.0)
    assert np.allclose(fb.applied_response([f0]), 0.0)  # nothing processed yet
    fb.set_bands([("peak", f0, 0.0, 2.0)])
    fb.process(np.zeros((1, 512), np.float32))
    fb.set_bands([("peak", f0, 12.0, 2.0)])
    t = np.arange(int(0.05 * fs)) / fs
    sine = np.sin(2 * np.pi * f0 * t).astype(np.float32)[None]
    out = fb.process(sine)  # half of the 100 ms ramp (gain moves linearly in dB)
    halfway = fb.applied_response([f0])[0]
    assert halfway == pytest.approx(6.0, abs=0.3)
    assert fb.response([f0])[0] == pytest.approx(12.0, abs=1e-9)  # the target
    # the output's level over its last 5 ms agrees with the applied response then
    tail = slice(-240, None)
    level = 20 * np.log10(np.sqrt(np.mean(out[0, tail] ** 2)) / np.sqrt(np.mean(sine[0, tail] ** 2)))
    assert level == pytest.approx(halfway, abs=0.5)
    fb.process(np.zeros((1, int(0.1 * fs)), np.float32))
    np.testing.assert_allclose(fb.applied_response([100.0, f0, 5000.0]), fb.response([100.0, f0, 5000.0]), atol=1e-9)


def test_the_core_names_band_types_as_eqdef_does():
    assert _core.BAND_TYPE_NAMES == eqdef.BAND_TYPES  # set_bands reads the names in C++


def test_bands_property_round_trips():
    fb = FilterBank(FS, 2)
    fb.set_bands([(1, 120, 4, 0.707), ("PEAK", 400.0, -3.0, 1.0)])
    assert fb.bands == [("lowshelf", 120.0, 4.0, 0.707), ("peak", 400.0, -3.0, 1.0)]
    fb.set_bands(band for band in [("highshelf", np.float32(8000.0), 2, 0.707)])  # any iterable, numpy numbers
    assert fb.bands == [("highshelf", 8000.0, 2.0, 0.707)]


def test_input_forms_mono_float64_int16():
    x = noise(1, 0.1, seed=5)[0]
    fb = FilterBank(FS, 1)
    fb.set_bands(BANDS)
    y32 = fb.process(x)
    assert y32.shape == x.shape and y32.dtype == np.float32
    fb.reset()
    fb.set_bands(BANDS)
    assert np.array_equal(fb.process(x.astype(np.float64)), y32)  # float64 converted to float32 first
    pcm = (x * 32767).astype(np.int16)
    fb.reset()
    fb.set_bands(BANDS)
    from_pcm = fb.process(pcm)
    fb.reset()
    fb.set_bands(BANDS)
    assert np.array_equal(from_pcm, fb.process(pcm.astype(np.float32) / 32768.0))


def test_process_inplace_filters_in_place_like_process():
    x = noise(2, 0.1, seed=6)
    a, b = FilterBank(FS, 2), FilterBank(FS, 2)
    a.set_bands(BANDS)
    b.set_bands(BANDS)
    y = x.copy()
    assert a.process_inplace(y) is None
    assert np.array_equal(y, b.process(x))


@pytest.mark.parametrize("bad, what", [
    (np.zeros((2, 10)), "float32"),
    (np.zeros((10, 2), np.float32).T, "C-contiguous"),
    (np.zeros((3, 10), np.float32), "shape"),
    (np.zeros(10, np.float32), "shape"),
])
def test_process_inplace_rejects_what_it_cannot_filter_in_place(bad, what):
    fb = FilterBank(FS, 2)
    with pytest.raises(ValueError, match=what):
        fb.process_inplace(bad)


@pytest.mark.parametrize("bad", [np.zeros((3, 10), np.float32), np.zeros(10, np.float32),
                                 np.zeros((2, 10), np.int32), np.zeros((1, 2, 10), np.float32)])
def test_process_rejects_wrong_shapes_and_dtypes(bad):
    with pytest.raises(ValueError, match="accepted"):
        FilterBank(FS, 2).process(bad)


@pytest.mark.parametrize("band, message", [
    (("peak", 24000.0, 0.0, 1.0), "sample_rate/2"),
    (("peak", -5.0, 0.0, 1.0), "0 < freq"),
    (("peak", float("nan"), 0.0, 1.0), "finite"),
    (("peak", 1000.0, float("inf"), 1.0), "gain"),
    (("peak", 1000.0, 60.0, 1.0), "gain"),
    (("peak", 1000.0, 0.0, 0.0), "Q"),
    (("notch", 1000.0, 0.0, 1.0), "accepted: peak"),
    (("peak", 1000.0, 0.0), "expected"),
    (("peak", "loud", 0.0, 1.0), "numbers"),
    ((True, 1000.0, 0.0, 1.0), "unknown band type"),
    ((10**30, 1000.0, 0.0, 1.0), "unknown band type"),
])
def test_set_bands_rejects_bad_parameters_and_keeps_the_old_ones(band, message):
    fb = FilterBank(FS, 2)
    fb.set_bands(BANDS)
    with pytest.raises(ValueError, match=message):
        fb.set_bands([BANDS[0], band])
    assert fb.bands == [tuple(b) for b in BANDS]


def test_too_many_bands_and_bad_construction_are_value_errors():
    with pytest.raises(ValueError, match="max_bands"):
        FilterBank(FS, 2, max_bands=2).set_bands(BANDS)
    for kwargs, message in (({"channels": 0}, r"channels must be a whole number in \[1, 64\]"),
                            ({"channels": 2.7}, r"channels must be a whole number in \[1, 64\], got 2.7"),
                            ({"channels": 2 ** 40}, r"channels must be a whole number"),
                            ({"sample_rate": 100}, r"sample_rate must be a number in \[1000, 1e\+06\] Hz"),
                            ({"max_bands": 0}, r"max_bands must be a whole number in \[1, 64\]"),
                            ({"smoothing_ms": -1}, r"smoothing_ms must be a number in \[0, 10000\] ms")):
        with pytest.raises(ValueError, match=message):
            FilterBank(**kwargs)
    assert FilterBank(np.int64(44100), np.int32(2)).channels == 2  # numpy's numbers are numbers
    for bands in (42, None):
        with pytest.raises(TypeError, match=r"bands must be a sequence of \(type, freq_hz, gain_db, q\)"):
            FilterBank().set_bands(bands)


def test_set_isa_rejects_unknown_names():
    with pytest.raises(ValueError, match="available"):
        _core.set_isa("avx9000")


def test_the_typed_stub_names_everything_the_native_module_has():
    # python/semeq_rt/_core.pyi is what type checkers and editors see: it must not drift from the binding
    import ast
    from pathlib import Path

    stub = ast.parse((Path(_core.__file__).parent / "_core.pyi").read_text())
    names = {n.name for n in stub.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    names |= {n.target.id for n in stub.body if isinstance(n, ast.AnnAssign)}
    # (OnnxModel only where the extension was built with ONNX Runtime's headers)
    assert names == {n for n in dir(_core) if not n.startswith("__")} | {"OnnxModel"}
    for cls in (c for c in stub.body if isinstance(c, ast.ClassDef) and hasattr(_core, c.name)):
        methods = {n.name for n in cls.body if isinstance(n, ast.FunctionDef)}
        bound = {n for n in vars(getattr(_core, cls.name)) if not n.startswith("__") and not n.startswith("_pybind11")}
        assert methods - {"__init__"} == bound, cls.name
