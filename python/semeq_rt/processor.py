"""``Processor``: semantic EQ on a stream of audio blocks, adaptive or static.

Adaptive mode. The word names a target tonal balance: the neutral reference plus the word's EQ, i.e.
the latent ``z_target`` (a term's centroid, or the weighted mean of a blend's centroids), with the
human spread of the people's settings behind it: a range, not a point. The input's own balance
``z_audio`` is measured on its long-term spectrum (one analysis every ``analysis_interval`` seconds
of the latest window, the spectra averaged over ``adaptation_time`` seconds; the first analyses, on
a window that grows from 0.4 s to the full one, give a stream its EQ within 0.5 s). Where the audio
has no content (a codec's low-pass, an absent bass register) the balance is not compared with the
target. Audio inside the word's range gets no EQ; audio outside it is moved toward the range's edge
by ``intensity``, by an EQ whose boosts, cuts and slopes stay within what people set in SAFE-DB and
which boosts nothing where the audio has no content (``correction``)::

    z_final = z_audio + intensity * (z_edge - z_audio)
    applied EQ = response(z_final) - response(z_audio)      (gains scaled down where a limit needs it;
                                                            guard shelves outside the content)

realised exactly in one filter bank of 12 bands: the five bands of z_final's setting, the five of
z_audio's with negated gains (an RBJ peaking or S = 1 shelf filter with gain -g is the exact inverse
of the one with gain g), and two guard shelves. A track already in the word's range gets no EQ, a
track that is already warm gets less "warm", and intensity 0 is the input itself (the bands are then
handed over at 0 dB, which the filter bank passes through unchanged). Loudness compensation undoes the
EQ's K-weighted loudness change on the measured spectrum.

Static mode applies the word's centroid EQ with its gains scaled by ``intensity`` (5 bands), as
flowEQ or Audealize do: the same curve whatever the audio.

Band changes reach the filter bank through its per-sample smoothing (``smoothing_ms``), so nothing
clicks. The measurement is streaming: ``process`` computes the STFT frames of the input's mid as
the stream completes them (``analysis.BalanceMeter``), and an analysis turns the latest window's
frames into a spectrum and runs only the small models on it (the audio encoder's head, or the LTAS
fit) and the decoder. It runs either inside ``process`` at fixed sample positions (``realtime=False``:
the output does not depend on the block size, for offline use and tests) or on a background thread
(``realtime=True``: ``process`` hands over the window's mean spectrum and never waits for
inference).
"""
from __future__ import annotations

import math
import threading
import weakref

import numpy as np

from . import eqdef, ltas, validate
from .analysis import BalanceMeter, check_method
from .correction import DEFAULT_MAX_BOOST_DB, DEFAULT_MAX_CUT_DB, Correction, loudness_change_db
from .filterbank import FilterBank
from .semantics import blend_latent, blend_spread, get_bundle, realisable_bands, resolve_blend

MODES = ("adaptive", "static")
#: Stream positions (s) of the first analyses, on the window measured so far, before the full window
#: has arrived (the later ones replace the earlier ones; from the full window on they are averaged).
EARLY_ANALYSES_S = (0.4, 1.0, 2.0)
_FLOAT32_MAX = np.finfo(np.float32).max


def _check_intensity(intensity) -> float:
    return validate.number("intensity", intensity, 0.0, 1.0)


#: Accepted ranges of the numeric options: (low, high, whether low itself is accepted, unit). An analysis
#: interval below 0.1 s would analyse (nearly) every frame for nothing (the frames are 85 ms apart at
#: 48 kHz), at a cost that no stream can afford; the filter bank ramps over at most 10 s.
OPTION_RANGES = {
    "smoothing_ms": (0.0, 10000.0, True, "ms"),
    "analysis_interval": (0.1, 60.0, True, "s"),
    "adaptation_time": (0.0, 3600.0, False, "s"),
    "max_boost_db": (0.0, 48.0, False, "dB"),
    "max_cut_db": (0.0, 48.0, False, "dB"),
}


def _check_number(name, value) -> float:
    low, high, low_included, unit = OPTION_RANGES[name]
    return validate.number(name, value, low, high, unit, low_open=not low_included)


class _GainRamp:
    """Output gain that follows its target by linear ramps of fixed length, computed per sample from
    the ramp's start so that any split of the stream into blocks gives identical samples."""

    def __init__(self, ramp_samples):
        self.ramp_samples = max(1, int(ramp_samples))
        self.reset(1.0)

    def reset(self, value):
        """Jump to ``value`` at once. (``target`` is written by control calls and read once per
        segment by the audio thread, which then ramps to it.)"""
        self.target = self._start = self._end = value
        self._position = self.ramp_samples  # no ramp running

    def current(self) -> float:
        if self._position >= self.ramp_samples:
            return self._end
        return self._start + (self._end - self._start) * self._position / self.ramp_samples

    def apply(self, y):
        target = self.target
        if target != self._end:
            self._start, self._end, self._position = self.current(), target, 0
        if max(self._start, self._end) > 1.0:  # a boost must not carry a sample past float32's range
            top = np.float32(float(_FLOAT32_MAX) / (max(self._start, self._end) * (1.0 + 1e-6)))  # (gains round)
            np.clip(y, -top, top, out=y)
        n = y.shape[-1]
        if self._position < self.ramp_samples:
            k = min(n, self.ramp_samples - self._position)
            steps = np.arange(self._position + 1, self._position + k + 1, dtype=np.float64)
            y[:, :k] *= (self._start + (self._end - self._start) * steps / self.ramp_samples).astype(np.float32)
            self._position += k
            if k < n and self._end != 1.0:
                y[:, k:] *= np.float32(self._end)
        elif self._end != 1.0:
            y *= np.float32(self._end)


class Processor:
    """Semantic EQ for a stream of audio blocks: ``Processor("warm").process(block)``.

    Parameters
    ----------
    term : str, dict or sequence of (term, weight)
        A kept word (``semeq_rt.terms()``), or a blend such as ``{"warm": 0.7, "airy": 0.3}`` (weights
        are normalised). Unknown words raise ``ValueError`` listing close matches.
    intensity : float in [0, 1]
        0 leaves the audio unchanged; 1 moves it all the way to the word's target (adaptive) or applies
        the word's full EQ (static).
    sample_rate : 8000–192000 Hz.  Band frequencies above 0.45 × sample_rate are clamped there
        (the semantic EQ reaches 20 kHz; see ``eqdef.MAX_FREQ_FRACTION``).
    channels : number of channels of every block.
    mode : ``"adaptive"`` (default) or ``"static"``.
    analysis : ``"encoder"`` (the bundle's audio encoder: its head on the streamed tonal balance) or
        ``"ltas"`` (exact long-term spectrum, EQ-encoded and fitted).
    realtime : run analysis on a background thread (True) or inside ``process`` at fixed sample
        positions, deterministically (False, the default).
    loudness_compensation : add an output gain that keeps the K-weighted (BS.1770) loudness of the
        audio's estimated spectrum unchanged, so that "bright" is not merely "louder". Default
        (None): on in adaptive mode, whose EQ is a difference of two decoded curves and so has no
        meaningful overall level (tonal balances are level-free); off in static mode, which applies
        the word's EQ as people set it, level included.
    smoothing_ms : time over which band and gain changes ramp.
    analysis_interval : seconds between analyses (adaptive mode; default 2 s). Each analysis
        measures the last window (2.73 s with the shipped bundle), so windows overlap; a shorter
        interval moves the EQ in smaller steps and costs more (docs/decisions.md has the numbers).
    adaptation_time : time constant (s) of the moving average of the measured spectrum.
    fit_iterations : with ``analysis="ltas"``, refinement steps of the input's latent so that its
        decoded EQ reproduces the measured balance (``semantics.fit_latent``; 0 = the EQ encoder's
        latent as is). Each costs one batched decoder call per analysis.
    max_boost_db, max_cut_db : the largest boost and cut (dB, where the audio has content in 50 Hz–16
        kHz, relative to the EQ's loudness change) the adaptive EQ may apply; where the step toward
        the word's range would need more (or change faster than 12 dB per octave), the EQ is
        scaled down (its shape kept). Defaults 8 and 12 dB: as far as three in four (boost) and nine
        in ten (cut) SAFE-DB users' own settings go (docs/processor.md, "Limits").
    bundle : model bundle (path or loaded); default the shipped one.

    Blocks are (channels, samples) float32 (float64 and int16 are converted; int16 is scaled by
    1/32768); a mono processor also accepts 1-D blocks. The output is a new float32 array of the same
    shape. Non-finite input samples (NaN, ±Inf) are processed as 0 (silence) by the filter bank and
    the analysis alike, so the filter state and the output always stay finite.
    ``set_term``, ``set_intensity`` and the read-only properties may be called from another thread
    while ``process`` runs.

    ``analyses`` counts the measurements that reached the EQ since the last reset;
    ``skipped_analyses`` those dropped in realtime mode because the analysis thread was still busy.

    Adaptive mode first measures the input after 0.4 s of it, then at 1 and 2 s, on the window that
    has arrived so far, and from then on every ``analysis_interval`` once the full analysis window
    (2.73 s with the shipped bundle) has arrived; before 0.4 s it applies no EQ, unless ``prime`` gave
    it audio to measure beforehand (as ``process_file`` does with a file's first seconds).
    ``largest_boost_db`` and ``largest_cut_db`` say how far the EQ handed to the filter bank has gone
    since the last reset (output gain included).
    """

    latency_samples = 0

    def __init__(self, term="warm", intensity=1.0, sample_rate=48000, channels=2, mode="adaptive", *,
                 analysis="encoder", realtime=False, loudness_compensation=None, smoothing_ms=20.0,
                 analysis_interval=2.0, adaptation_time=8.0, fit_iterations=3,
                 max_boost_db=DEFAULT_MAX_BOOST_DB, max_cut_db=DEFAULT_MAX_CUT_DB, bundle=None):
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; accepted: {', '.join(repr(m) for m in MODES)}")
        sample_rate = validate.sample_rate(sample_rate)
        channels = validate.whole_number("channels", channels, 1, validate.MAX_CHANNELS)
        check_method(analysis)
        self.mode, self.sample_rate, self.channels = mode, float(sample_rate), int(channels)
        self.loudness_compensation = (mode == "adaptive" if loudness_compensation is None
                                      else bool(loudness_compensation))
        self._bundle = get_bundle(bundle)
        self._intensity = _check_intensity(intensity)
        self._weights = resolve_blend(term, self._bundle)
        self._z_target = blend_latent(self._weights, self._bundle)
        self._spread = blend_spread(self._weights, self._bundle)
        self._target_params = self._decode(self._z_target)[0][0]

        self._lock = threading.Lock()  # control state: term, intensity, measured balance, bands
        self._process_lock = threading.Lock()  # process() vs reset(); also guards the meter's frames
        smoothing_ms = _check_number("smoothing_ms", smoothing_ms)
        self._fb = FilterBank(sample_rate, channels, max_bands=16, smoothing_ms=smoothing_ms)
        self._gain = _GainRamp(smoothing_ms * 1e-3 * self.sample_rate)
        boost, cut = _check_number("max_boost_db", max_boost_db), _check_number("max_cut_db", max_cut_db)
        self._correction = Correction(self._decode, self.sample_rate, boost, cut)
        # static mode's loudness compensation weighs its EQ on the neutral reference's spectrum
        reference_db = np.asarray(self._bundle.neutral_reference["curve_db"], dtype=np.float64)
        self._reference_weights = self._correction.loudness_weights(10.0 ** (reference_db / 10.0))
        self._density = None  # moving average of the input's 1/3-octave power density (FREQ_GRID)
        self._z_audio = None
        self._bands = []

        if mode == "adaptive":
            self._meter = BalanceMeter(self._bundle, self.sample_rate, analysis)
            interval = _check_number("analysis_interval", analysis_interval)
            self._interval = max(1, int(round(interval * self.sample_rate)))
            self._ema = 1.0 - math.exp(-interval / _check_number("adaptation_time", adaptation_time))
            # each step costs a batched decoder call per analysis; 100 is far past where the fit settles
            self._fit_iterations = validate.whole_number("fit_iterations", fit_iterations, 0, 100)
            # ONNX Runtime allocates on a session's first run at a batch size: the analyses decode
            # two latents, which happens here first rather than in the first block that analyses
            self._decode(np.stack([self._z_target, self._z_target]))
        self._reset_stream()
        with self._lock:
            self._update()
            self._gain.reset(self._gain.target)  # like the first bands, the first gain applies at once

        self._worker = None
        if realtime and mode == "adaptive":
            self._pending = None  # (the window's mean periodogram, growing), handed to the worker
            self._power_ready = threading.Event()
            self._stop = threading.Event()
            self._worker_busy = False
            self._worker = threading.Thread(target=_analysis_worker, name="semeq-analysis", daemon=True,
                                            args=(weakref.ref(self), self._power_ready, self._stop))
            self._worker.start()

    # ------------------------------------------------------------------------------------------
    # control (any thread)

    def set_term(self, term):
        """Change the word (or blend); the EQ moves there through the smoothing."""
        weights = resolve_blend(term, self._bundle)
        z_target = blend_latent(weights, self._bundle)
        spread = blend_spread(weights, self._bundle)
        params = self._decode(z_target)[0][0]
        with self._lock:
            self._weights, self._z_target, self._spread, self._target_params = weights, z_target, spread, params
            self._update()

    def set_intensity(self, intensity):
        """Change the intensity (0–1); the EQ moves there through the smoothing."""
        intensity = _check_intensity(intensity)
        with self._lock:
            self._intensity = intensity
            self._update()

    @property
    def term(self) -> dict:
        """The current word or blend as {term: weight} (weights sum to 1)."""
        return dict(self._weights)

    @property
    def intensity(self) -> float:
        return self._intensity

    @property
    def eq_bands(self) -> list:
        """The (type, freq_hz, gain_db, q) bands handed to the filter bank now (its target)."""
        return list(self._bands)

    @property
    def audio_latent(self):
        """The measured balance of the input (latent), or None before the first analysis."""
        z = self._z_audio
        return None if z is None else z.copy()

    @property
    def analysis_window_samples(self) -> int:
        """Samples of input that one analysis measures (adaptive mode; 0 in static mode)."""
        return self._meter.window if self.mode == "adaptive" else 0

    @property
    def analysis_interval_samples(self) -> int:
        """Samples between analyses; the first comes once one window of input has arrived."""
        return self._interval if self.mode == "adaptive" else 0

    @property
    def content_span_hz(self):
        """(lowest, highest) frequency of the analysis band (50 Hz–16 kHz grid points) where the measured
        audio has content (``ltas.content_mask``): the EQ boosts nothing outside it. None before the
        first measurement, in static mode, and for silence."""
        density = self._density
        if density is None:
            return None
        mask = ltas.content_mask(density[ltas.BAND_MASK])
        if not mask.any():
            return None
        freqs = eqdef.FREQ_GRID[ltas.BAND_MASK][mask]
        return float(freqs[0]), float(freqs[-1])

    @property
    def largest_boost_db(self) -> float:
        """The largest boost (dB, output gain included) of the EQs handed to the filter bank since the
        last reset, where the audio has content in 50 Hz–16 kHz (static mode: over that band)."""
        return self._largest[0]

    @property
    def largest_cut_db(self) -> float:
        """The largest cut (dB, negative or 0), as ``largest_boost_db``."""
        return self._largest[1]

    @property
    def output_gain_db(self) -> float:
        """The loudness-compensation gain being applied now (0 when compensation is off)."""
        return 20.0 * math.log10(self._gain.current())

    def applied_response(self, freqs_hz) -> np.ndarray:
        """dB response at ``freqs_hz`` (within (0, sample_rate/2)) of the EQ being applied now: the
        filter bank's coefficients as the last ``process`` left them (mid-ramp: where the smoothing has
        got to) plus the loudness-compensation gain. Before the first block, the EQ that block will
        apply at once (``prime``'s, or flat)."""
        freqs = np.asarray(freqs_hz, dtype=np.float64)
        if np.any(~np.isfinite(freqs)) or np.any(freqs <= 0) or np.any(freqs >= self.sample_rate / 2):
            raise ValueError(f"frequencies must lie in (0, {self.sample_rate / 2:g}) Hz")
        if self._samples_seen == 0:
            return np.asarray(self._fb.response(freqs), dtype=np.float64) + 20.0 * math.log10(self._gain.target)
        return np.asarray(self._fb.applied_response(freqs), dtype=np.float64) + self.output_gain_db

    # ------------------------------------------------------------------------------------------
    # streaming (one audio thread)

    def process(self, x) -> np.ndarray:
        """EQ one block; returns a new float32 array of the block's shape. Stateful: call it with
        consecutive blocks of one stream."""
        y, squeeze = self._prepare(x)
        with self._process_lock:
            n = y.shape[1]
            if self.mode == "static" or n < self._until_analysis:  # the common case: one segment
                self._process_segment(y, 0, n)
            else:
                start = 0
                while start < n:
                    stop = min(n, start + self._until_analysis)
                    self._process_segment(y, start, stop)
                    start = stop
        return y[0] if squeeze else y

    def prime(self, audio):
        """Measure ``audio`` (channels, samples) as if it had preceded the stream, e.g. a file's first
        seconds before processing it from the start, so that the EQ fits from the first sample.
        Before any block has been processed, the primed EQ applies at once (no ramp). Static mode
        does not analyse: there it does nothing."""
        if self.mode != "adaptive":
            return
        y, _ = self._prepare(audio)
        mid = np.nan_to_num(y.mean(axis=0, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        window = self._meter.window
        if len(mid) < window:  # a short clip is measured as one zero-padded window
            mid = np.pad(mid, (0, window - len(mid)))
        windows = ltas.frames_view(mid, window, max(1, self._interval))
        density = self._meter.window_densities(windows).mean(axis=0)
        # the fit (milliseconds of decoder calls) runs before the locks: process() is never held up by it
        _, _, z_audio = self._meter.measurement(density, self._fit_iterations)
        with self._process_lock, self._lock:
            at_once = self._samples_seen == 0
            if at_once:
                self._fb.reset()  # the next set_bands applies at once
                self._until_analysis = self._meter.window  # no early analyses: the primed one is better
            self._density = density
            self._z_audio = z_audio
            self._update()
            if at_once:
                self._gain.reset(self._gain.target)

    def reset(self):
        """Forget the stream: filter state, the analysis frames and the measured balance."""
        with self._process_lock, self._lock:
            self._fb.reset()
            self._reset_stream()
            self._update()
            self._gain.reset(self._gain.target)

    def close(self):
        """Stop the background analysis thread (realtime mode). Later ``process`` calls still work,
        analysing synchronously as with ``realtime=False``."""
        if self._worker is not None:
            self._stop.set()
            self._power_ready.set()
            self._worker.join(timeout=5.0)
            self._worker = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        stop = getattr(self, "_stop", None)
        if stop is not None:
            stop.set()

    # ------------------------------------------------------------------------------------------
    # internals

    def _reset_stream(self):
        self._samples_seen = 0
        self.analyses = 0  # measurements folded into the EQ since the last reset
        self.skipped_analyses = 0  # realtime mode: analyses dropped because the worker was busy
        self._density = None
        self._z_audio = None
        self._largest = (0.0, 0.0)
        if self.mode == "adaptive":
            self._meter.reset()
            self._until_analysis = self._next_analysis_after(0)

    def _next_analysis_after(self, position) -> int:
        """Samples from stream ``position`` (an analysis position, or 0) to the next analysis: the early
        ones while the window is not full, then the full window, then every interval."""
        window = self._meter.window
        for seconds in EARLY_ANALYSES_S:
            early = int(round(seconds * self.sample_rate))
            if position < early < window:
                return early - position
        return window - position if position < window else self._interval

    def _prepare(self, x):
        """Validated float32 (channels, samples) copy of a block, and whether it was 1-D."""
        return validate.audio_block(x, self.channels, "Processor")

    def _process_segment(self, y, start, stop):
        whole = start == 0 and stop == y.shape[1]
        segment = y if whole else np.ascontiguousarray(y[:, start:stop])
        adaptive = self.mode == "adaptive"
        if adaptive:  # the input's mid (mean of the channels) to the analysis: frames as they complete
            self._meter.push(self._mid(segment))
        self._fb.process_inplace(segment)
        self._gain.apply(segment)
        if not whole:
            y[:, start:stop] = segment
        self._samples_seen += stop - start
        if adaptive:
            self._until_analysis -= stop - start
            if self._until_analysis == 0:
                self._until_analysis = self._next_analysis_after(self._samples_seen)
                self._start_analysis(growing=self._samples_seen < self._meter.window)

    def _mid(self, segment):
        """The segment's mean of the channels (float32), non-finite samples counted as 0 in each channel
        (as the filter bank counts them). Each channel is scaled before the sum, which so never overflows."""
        if self.channels == 1:
            return segment[0]
        scale = np.float32(1.0 / self.channels)
        out = segment[0] * scale
        for c in range(1, self.channels):
            out += segment[c] * scale
        if not np.isfinite(out).all():  # rare: the channels again, without their non-finite samples
            finite = np.where(np.isfinite(segment), segment, np.float32(0.0))
            out = (finite * scale).sum(axis=0, dtype=np.float32)
        return out

    def _start_analysis(self, growing):
        power = self._meter.stream_power()  # the latest window's frames (the few still pending: now)
        if power is None:
            return
        if self._worker is None:
            self._measure(power, growing)
        elif self._worker_busy:  # the worker is still on the previous window: skip this one
            self.skipped_analyses += 1
        else:
            self._pending = (power, growing)
            self._worker_busy = True
            self._power_ready.set()

    def _measure(self, power, growing):
        """Measure the latest window from its mean periodogram; fold its spectrum into the moving average
        (a ``growing`` window, which holds all the stream so far, replaces it) and update the EQ."""
        density = self._meter.density_of_power(power)
        if not np.all(np.isfinite(density)):
            return
        with self._lock:
            previous = self._density
            self._density = density if previous is None or growing else previous + self._ema * (density - previous)
            averaged, start = self._density, self._z_audio
        _, _, z = self._meter.measurement(averaged, self._fit_iterations, start)  # model calls outside the lock
        with self._lock:
            if self._density is averaged:  # not reset or primed meanwhile
                self._z_audio = z
                self.analyses += 1
                self._update()

    def _decode(self, latents):
        params, response = self._bundle.decode(np.atleast_2d(np.asarray(latents, dtype=np.float32)))
        return np.asarray(params, dtype=np.float64), np.asarray(response, dtype=np.float64)

    def _update(self):
        """Recompute the bands (and the compensation gain) from the control state and hand them to
        the filter bank. Caller holds ``self._lock``."""
        correction = self._correction
        if self.mode == "static":
            bands = realisable_bands(self._target_params, self.sample_rate, gain_scale=self._intensity)
            response = eqdef.bands_response_db(bands, correction.freqs, self.sample_rate)
            level_change = float(loudness_change_db(response, self._reference_weights))
            in_band = response[ltas.BAND_MASK[: len(response)]] - (level_change if self.loudness_compensation else 0.0)
            largest = (float(in_band.max()), float(in_band.min()))
        else:
            if self._z_audio is None or self._intensity == 0.0:
                # no measurement yet, or nothing to apply: flat (0 dB bands pass audio through unchanged)
                plan = correction.flat(self._target_params)
            else:
                plan = correction.plan(self._z_audio, self._z_target, self._spread, self._intensity, self._density)
            bands, level_change = plan.bands, plan.level_change_db
            offset = 0.0 if self.loudness_compensation else level_change
            largest = (plan.largest_boost_db + offset, plan.largest_cut_db + offset)
        self._largest = (max(self._largest[0], largest[0]), min(self._largest[1], largest[1]))
        self._bands = bands
        self._fb.set_bands(bands)
        if self.loudness_compensation:
            self._gain.target = 10.0 ** (-level_change / 20.0)


def _analysis_worker(processor_ref, ready, stop):
    """Background analysis (realtime mode): measures each window's spectrum the audio thread hands over.
    Holds the processor only weakly, so an abandoned processor is collected and the thread ends."""
    while not stop.is_set():
        if not ready.wait(timeout=0.5):
            if processor_ref() is None:
                return
            continue
        ready.clear()
        processor = processor_ref()
        if processor is None or stop.is_set():
            return
        try:
            processor._measure(*processor._pending)
        finally:
            processor._worker_busy = False
        del processor
