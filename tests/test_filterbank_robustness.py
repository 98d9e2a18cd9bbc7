"""FilterBank robustness: random parameter sets at many sample rates (stable designs, bounded output
while ramping), non-finite input, denormals, threads."""
import threading

import numpy as np
import pytest

from semeq_rt import FilterBank, _core, eqdef

RATES = [8000, 16000, 44100, 48000, 96000, 192000]
N_SETS = 10_000
N_BANDS = 5


def random_sets(rng, n, fs):
    """n sets of 5 bands in the SAFE ranges: gain +/-12 dB, 20 Hz..20 kHz, Q 0.1..10, any type.
    Frequencies at or above 0.49 fs are clamped to 0.49 fs (FilterBank rejects f >= fs/2; at 8 and
    16 kHz this puts many bands right below Nyquist, the hardest case)."""
    types = rng.integers(0, len(eqdef.BAND_TYPES), (n, N_BANDS))
    freqs = np.minimum(np.exp(rng.uniform(np.log(20.0), np.log(20000.0), (n, N_BANDS))), 0.49 * fs)
    gains = rng.uniform(-12.0, 12.0, (n, N_BANDS))
    qs = np.exp(rng.uniform(np.log(0.1), np.log(10.0), (n, N_BANDS)))
    return types, freqs, gains, qs


def pole_radius(coefs):
    a1, a2 = coefs[:, 3], coefs[:, 4]
    disc = a1 * a1 - 4.0 * a2
    sq = np.sqrt(np.abs(disc))
    real_roots = np.maximum(np.abs(-a1 + sq), np.abs(-a1 - sq)) / 2.0
    return np.where(disc < 0.0, np.sqrt(np.abs(a2)), real_roots)


def gain_bound(types, gains, qs):
    """A set's rough peak gain: +gain for boosts, Q for resonances (x2 for shelf/pass-band overshoot).
    Not a strict bound for the output of noise (nor for a crossfade between two sets); the test allows
    10x over it, which a stable bank stays far below and a growing (unstable) one exceeds quickly."""
    per_band = 10 ** (np.maximum(gains, 0.0) / 20.0) * np.maximum(qs, 1.0) * 2.0
    return np.prod(per_band, axis=-1)


@pytest.mark.parametrize("fs", RATES)
def test_random_parameter_sets_are_stable_and_ramps_stay_bounded(fs):
    rng = np.random.default_rng(fs)
    types, freqs, gains, qs = random_sets(rng, N_SETS, fs)
    # every design: poles strictly inside the unit circle
    coefs = _core.design(types.ravel().astype(np.int32), freqs.ravel(), gains.ravel(), qs.ravel(), float(fs))
    radius = pole_radius(coefs)
    assert np.all(np.isfinite(coefs)) and np.max(radius) < 1.0

    # through the bank, each set ramping in from the previous one (mostly mid-ramp: 256-sample blocks,
    # 20 ms ramps; a type change crossfades coefficients). Every 8th set holds for 4096 samples so that
    # its ramp completes; the two sets after it keep its types (a parameter-space ramp, then a
    # retarget in the middle of it).
    fb = FilterBank(fs, 1, max_bands=N_BANDS, smoothing_ms=20.0)
    x = rng.uniform(-1.0, 1.0, 4096).astype(np.float32)
    bound_prev = 1.0
    for i in range(N_SETS):
        if i % 8 in (0, 1) and i > 0:
            types[i] = types[i - 1]
        rows = zip(types[i], freqs[i], gains[i], qs[i])
        fb.set_bands([(int(t), float(f), float(g), float(q)) for t, f, g, q in rows])
        y = fb.process(x if i % 8 == 7 else x[:256])
        bound = gain_bound(types[i], gains[i], qs[i])
        peak = np.max(np.abs(y))
        assert np.isfinite(peak) and peak <= 10.0 * max(bound, bound_prev), (i, peak, bound, bound_prev)
        bound_prev = bound
    assert np.all(np.isfinite(fb._state()))


def test_nan_and_inf_in_a_block_are_processed_as_zero_and_never_reach_the_state():
    rng = np.random.default_rng(1)
    bands = [("lowshelf", 100.0, 6.0, eqdef.SHELF_Q), ("peak", 1000.0, 12.0, 4.0), ("highpass", 30.0, 0.0, 0.7)]
    x = rng.uniform(-1, 1, (2, 4096)).astype(np.float32)
    bad = x.copy()
    bad[0, [10, 700, 701]] = [np.nan, np.inf, -np.inf]
    bad[1, 2000:2100] = np.nan
    clean = x.copy()
    clean[~np.isfinite(bad)] = 0.0
    a, b = FilterBank(48000, 2), FilterBank(48000, 2)
    a.set_bands(bands)
    b.set_bands(bands)
    ya = np.concatenate([a.process(bad[:, i:i + 512]) for i in range(0, 4096, 512)], axis=1)
    yb = np.concatenate([b.process(clean[:, i:i + 512]) for i in range(0, 4096, 512)], axis=1)
    assert np.all(np.isfinite(ya)) and np.array_equal(ya, yb)
    assert np.all(np.isfinite(a._state()))
    after = rng.uniform(-1, 1, (2, 1024)).astype(np.float32)
    assert np.array_equal(a.process(after), b.process(after))  # state not poisoned


def test_silence_after_a_loud_signal_leaves_no_denormals_in_the_state():
    """Denormals cannot slow the bank down: a decaying state is flushed to exact zeros instead of
    passing through the subnormal range (the speed itself is measured in bench/bench_filterbank.py)."""
    fb = FilterBank(48000, 2)
    fb.set_bands([("lowshelf", 200.0, 12.0, eqdef.SHELF_Q), ("peak", 1000.0, 12.0, 1.0),
                  ("highshelf", 8000.0, -12.0, eqdef.SHELF_Q)])
    loud = np.random.default_rng(2).uniform(-1, 1, (2, 48000)).astype(np.float32)
    fb.process(loud)
    tiny = np.finfo(np.float64).tiny
    silence = np.zeros((2, 64), np.float32)
    for _ in range(3 * 48000 // 64):
        y = fb.process(silence)
        state = fb._state()
        assert not np.any((state != 0.0) & (np.abs(state) < tiny)), "subnormal value in the filter state"
    assert np.all(state == 0.0) and np.all(y == 0.0)


def test_banks_on_parallel_threads_match_serial_runs():
    rng = np.random.default_rng(3)
    n_threads = 4
    inputs = [rng.uniform(-1, 1, (2, 48000 * 4)).astype(np.float32) for _ in range(n_threads)]
    band_sets = [[("peak", 300.0 * (k + 1), 6.0 - 3 * k, 1.0 + k), ("highshelf", 5000.0, 3.0, eqdef.SHELF_Q)]
                 for k in range(n_threads)]

    def run(k):
        fb = FilterBank(48000, 2)
        fb.set_bands(band_sets[k])
        out = []
        for start in range(0, inputs[k].shape[1], 512):
            if start == 48000 * 2:
                fb.set_bands(band_sets[(k + 1) % n_threads])
            out.append(fb.process(inputs[k][:, start:start + 512]))
        return np.concatenate(out, axis=1)

    serial = [run(k) for k in range(n_threads)]
    parallel = [None] * n_threads

    def worker(k):
        parallel[k] = run(k)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(n_threads):
        assert np.array_equal(parallel[k], serial[k])


def test_set_bands_from_another_thread_while_processing_stays_finite():
    rng = np.random.default_rng(4)
    fb = FilterBank(48000, 2, smoothing_ms=5.0)
    fb.set_bands([("peak", 1000.0, 0.0, 1.0)])
    x = rng.uniform(-1, 1, (2, 512)).astype(np.float32)
    done = threading.Event()
    peaks = []

    def audio():
        y = x.copy()
        for _ in range(4000):
            y[:] = x
            fb.process_inplace(y)
            peaks.append(float(np.max(np.abs(y))))
        done.set()

    last = None
    thread = threading.Thread(target=audio)
    thread.start()
    while not done.is_set():
        last = [("lowshelf", float(rng.uniform(30, 500)), float(rng.uniform(-12, 12)), eqdef.SHELF_Q),
                ("peak", float(rng.uniform(100, 10000)), float(rng.uniform(-12, 12)), float(rng.uniform(0.1, 10))),
                ("highshelf", float(rng.uniform(2000, 20000)), float(rng.uniform(-12, 12)), eqdef.SHELF_Q)]
        fb.set_bands(last)
    thread.join()
    assert len(peaks) == 4000 and np.all(np.isfinite(peaks))
    # 3 bands of at most +12 dB (x4) with Q-resonance at most 10
    assert max(peaks) < 4.0 ** 3 * 10
    for _ in range(20):  # the last set is picked up and its ramp finishes
        fb.process(x)
    assert not fb.ramping and fb.bands == last


@pytest.mark.parametrize("channels", [1, 2, 4, 8, 16])  # every store path: scalar, 4 and 8 lanes
def test_finite_input_at_float32_extremes_gives_finite_output(channels):
    # a +48 dB peak on full-range float32 input: the output saturates at float32's largest value
    top = np.finfo(np.float32).max
    x = np.tile(np.array([top, -top, top / 2, 0.0], np.float32), (channels, 256))
    fb = FilterBank(48000, channels)
    fb.set_bands([("peak", 1000.0, 48.0, 1.0)])
    y = fb.process(x)
    assert np.all(np.isfinite(y)) and np.max(np.abs(y)) == top


def test_processor_output_stays_finite_at_float32_extremes():
    import semeq_rt

    top = np.finfo(np.float32).max
    x = np.tile(np.array([top, -top], np.float32), (2, 24000))
    for mode in ("static", "adaptive"):
        out = semeq_rt.Processor("warm", mode=mode, loudness_compensation=True).process(x)
        assert np.all(np.isfinite(out)), mode


def test_float64_beyond_float32_range_is_processed_as_non_finite():
    x = np.zeros((2, 512))
    x[0, 100], x[1, 200] = 1e300, -1e300
    fb = FilterBank(48000, 2)
    fb.set_bands([("peak", 1000.0, 12.0, 1.0)])
    with pytest.warns(RuntimeWarning, match="overflow"):  # numpy's conversion says so
        y = fb.process(x)
    np.testing.assert_array_equal(y, np.zeros((2, 512), np.float32))
