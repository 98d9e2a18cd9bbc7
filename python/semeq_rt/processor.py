"""``Processor``: semantic EQ on a stream of audio blocks, adaptive or static.

Adaptive mode. The word names a target tonal balance: the neutral reference plus the word's EQ, i.e.
the latent ``z_target`` (a term's centroid, or the weighted mean of a blend's centroids). The input's
own balance ``z_audio`` is measured on the latest input (one analysis window every
``analysis_interval`` seconds, averaged over ``adaptation_time`` seconds by an exponential moving
average). The processor moves the audio toward the target by ``intensity``::

    z_final = z_audio + intensity * (z_target - z_audio)
    applied EQ = decode(z_final) - decode(z_audio)

realised exactly in one filter bank of 10 bands: the five bands of decode(z_final) followed by the five
bands of decode(z_audio) with negated gains (an RBJ peaking or S = 1 shelf filter with gain -g is the
exact inverse of the one with gain g). A track already at the target thus gets no EQ, a track that is
already warm gets less "warm", and intensity 0 is the input itself (the bands are then handed over at
0 dB, which the filter bank passes through unchanged).

Static mode applies the word's centroid EQ with its gains scaled by ``intensity`` (5 bands), as
flowEQ or Audealize do: the same curve whatever the audio.

Band changes reach the filter bank through its per-sample smoothing (``smoothing_ms``), so nothing
clicks. The measurement is streaming: ``process`` computes the STFT frames of the input's mid as
the stream completes them (``analysis.BalanceMeter``), and an analysis turns the latest window's
frames into a balance and runs only the small models on it (the audio encoder's head, or the LTAS
fit) and the decoder. It runs either inside ``process`` at fixed sample positions (``realtime=False``: the output
does not depend on the block size, for offline use and tests) or on a background thread
(``realtime=True``: ``process`` hands over the window's mean spectrum and never waits for
inference).
"""
from __future__ import annotations

import math
import numbers
import threading
import weakref

import numpy as np

from . import eqdef, ltas
from .analysis import BalanceMeter, check_method
from .filterbank import FilterBank
from .measures import k_weighting_db
from .semantics import blend_latent, get_bundle, realisable_bands, resolve_blend

MODES = ("adaptive", "static")
SAMPLE_RATE_RANGE = (8000, 192000)


def _check_intensity(intensity) -> float:
    if isinstance(intensity, bool) or not isinstance(intensity, numbers.Real) or not 0.0 <= intensity <= 1.0:
        raise ValueError(f"intensity must be a number in [0, 1], got {intensity!r}")
    return float(intensity)


def _check_number(name, value, allow_zero=False) -> float:
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(value) \
        and (value >= 0 if allow_zero else value > 0)
    if not ok:
        raise ValueError(f"{name} must be a finite number {'≥ 0' if allow_zero else '> 0'}, got {value!r}")
    return float(value)


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
        (the semantic EQ reaches 20 kHz; see ``semantics.MAX_FREQ_FRACTION``).
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
        interval moves the EQ in smaller steps and costs more (docs/processor.md has the numbers).
    adaptation_time : time constant (s) of the moving average of the measured balance.
    fit_iterations : with ``analysis="ltas"``, refinement steps of the input's latent so that its
        decoded EQ reproduces the measured balance (``semantics.fit_latent``; 0 = the EQ encoder's
        latent as is). Each costs one batched decoder call per analysis.
    max_gain_db : the largest boost or cut (dB, 50 Hz–16 kHz, relative to the EQ's mean level there)
        the adaptive EQ may apply; where the step toward the target would need more, the step is
        shortened. Default 18 dB: on validation music it changes no result against no limit (12 dB
        would already hold back ordinary corrections), while a recording without bass asked for
        "warm" is kept from 20–30 dB boosts.
    bundle : model bundle (path or loaded); default the shipped one.

    Blocks are (channels, samples) float32 (float64 and int16 are converted; int16 is scaled by
    1/32768); a mono processor also accepts 1-D blocks. The output is a new float32 array of the same
    shape. Non-finite input samples (NaN, ±Inf) are processed as 0 (silence) by the filter bank and
    the analysis alike, so the filter state and the output always stay finite.
    ``set_term``, ``set_intensity`` and the read-only properties may be called from another thread
    while ``process`` runs.

    ``analyses`` counts the measurements that reached the EQ since the last reset;
    ``skipped_analyses`` those dropped in realtime mode because the analysis thread was still busy.

    Adaptive mode measures the input once one analysis window has arrived (2.73 s with the shipped
    bundle); until then it applies no EQ, unless ``prime`` gave it audio to measure beforehand (as
    ``process_file`` does with a file's first seconds).
    """

    latency_samples = 0

    def __init__(self, term="warm", intensity=1.0, sample_rate=48000, channels=2, mode="adaptive", *,
                 analysis="encoder", realtime=False, loudness_compensation=None, smoothing_ms=20.0,
                 analysis_interval=2.0, adaptation_time=8.0, fit_iterations=3, max_gain_db=18.0,
                 bundle=None):
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; accepted: {', '.join(repr(m) for m in MODES)}")
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, numbers.Real) \
                or not SAMPLE_RATE_RANGE[0] <= sample_rate <= SAMPLE_RATE_RANGE[1]:
            raise ValueError(f"sample_rate must be {SAMPLE_RATE_RANGE[0]}–{SAMPLE_RATE_RANGE[1]} Hz, got {sample_rate!r}")
        if isinstance(channels, bool) or not isinstance(channels, numbers.Integral) or channels < 1:
            raise ValueError(f"channels must be a positive integer, got {channels!r}")
        check_method(analysis)
        self.mode, self.sample_rate, self.channels = mode, float(sample_rate), int(channels)
        self.loudness_compensation = mode == "adaptive" if loudness_compensation is None else bool(loudness_compensation)
        self._bundle = get_bundle(bundle)
        self._intensity = _check_intensity(intensity)
        self._weights = resolve_blend(term, self._bundle)
        self._z_target = blend_latent(self._weights, self._bundle)
        self._target_params = self._decode(self._z_target)[0][0]

        self._lock = threading.Lock()  # control state: term, intensity, measured balance, bands
        self._process_lock = threading.Lock()  # process() vs reset(); also guards the meter's frames
        smoothing_ms = _check_number("smoothing_ms", smoothing_ms, allow_zero=True)
        self._fb = FilterBank(sample_rate, channels, max_bands=16, smoothing_ms=smoothing_ms)
        self._gain = _GainRamp(smoothing_ms * 1e-3 * self.sample_rate)
        # loudness compensation: K-weighted power per FREQ_GRID point of the analysis band (a point of
        # the log grid spans a band ∝ f, so a power density becomes a band power by × f)
        self._loudness_mask = ltas.BAND_MASK & (eqdef.FREQ_GRID < 0.49 * self.sample_rate)
        self._loudness_grid = eqdef.FREQ_GRID[self._loudness_mask]
        self._loudness_weight = 10.0 ** (k_weighting_db(self._loudness_grid) / 10.0) * self._loudness_grid
        self._reference_db = np.asarray(self._bundle.neutral_reference["curve_db"], dtype=np.float64)
        self._state = None  # moving average of the input's measured balance (or latent)
        self._z_audio = None
        self._bands = []

        if mode == "adaptive":
            self._meter = BalanceMeter(self._bundle, self.sample_rate, analysis)
            interval = _check_number("analysis_interval", analysis_interval)
            self._interval = max(1, int(round(interval * self.sample_rate)))
            self._ema = 1.0 - math.exp(-interval / _check_number("adaptation_time", adaptation_time))
            if isinstance(fit_iterations, bool) or not isinstance(fit_iterations, numbers.Integral) or fit_iterations < 0:
                raise ValueError(f"fit_iterations must be an integer ≥ 0, got {fit_iterations!r}")
            self._fit_iterations = int(fit_iterations)
            self._max_gain_db = _check_number("max_gain_db", max_gain_db)
            # ONNX Runtime allocates on a session's first run at a batch size: the analyses decode
            # two latents, which happens here first rather than in the first block that analyses
            self._decode(np.stack([self._z_target, self._z_target]))
        self._reset_stream()
        with self._lock:
            self._update()
            self._gain.reset(self._gain.target)  # like the first bands, the first gain applies at once

        self._worker = None
        if realtime and mode == "adaptive":
            self._pending_power = None  # the window's mean periodogram, handed to the worker
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
        params = self._decode(z_target)[0][0]
        with self._lock:
            self._weights, self._z_target, self._target_params = weights, z_target, params
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
        hop = max(1, self._interval)
        windows = ltas.frames_view(mid, window, hop)
        states = self._meter.window_states(windows)
        state = states.mean(axis=0)
        # the LTAS fit starts from the audio encoder's estimate: the EQ encoder's latent of a music
        # balance lies far from the decoder's manifold (docs/audio-encoder.md)
        start = self._bundle.encode_balance(states).mean(axis=0) if self._meter.method == "ltas" else None
        # the fit (milliseconds of decoder calls) runs before the locks: process() is never held up by it
        z_audio = self._meter.latent_of_state(state, self._fit_iterations, start)
        with self._process_lock, self._lock:
            at_once = self._samples_seen == 0
            if at_once:
                self._fb.reset()  # the next set_bands applies at once
            self._state = state
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
        self._state = None
        self._z_audio = None
        if self.mode == "adaptive":
            self._meter.reset()
            self._until_analysis = self._meter.window  # first analysis once the window is full

    def _prepare(self, x):
        """Validated float32 (channels, samples) copy of a block, and whether it was 1-D."""
        a = np.asarray(x)
        kind = a.dtype.char
        if kind == "f" or kind == "d":
            y = np.array(a, dtype=np.float32, order="C")
        elif kind == "h":  # int16 PCM
            y = a.astype(np.float32) * np.float32(1.0 / 32768.0)
        else:
            raise ValueError(f"audio must be float32, float64 or int16, got {a.dtype}")
        squeeze = y.ndim == 1
        if squeeze:
            if self.channels != 1:
                raise ValueError(f"1-D audio given to a {self.channels}-channel Processor; "
                                 f"pass ({self.channels}, samples)")
            y = y[None, :]
        elif y.ndim != 2:
            raise ValueError(f"audio must be (channels, samples), got shape {a.shape}")
        elif y.shape[0] != self.channels:
            hint = " (that looks like (samples, channels): pass x.T)" if y.shape[1] == self.channels else ""
            raise ValueError(f"this Processor was created for {self.channels} channel(s); got a block of "
                             f"shape {a.shape}{hint}. Create a new Processor for another channel count")
        return y, squeeze

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
                self._until_analysis = self._interval
                self._start_analysis()

    def _mid(self, segment):
        """The segment's mean of the channels (float32)."""
        if self.channels == 1:
            return segment[0]
        out = np.add(segment[0], segment[1])  # pairwise adds: far cheaper than np.sum on short blocks
        for c in range(2, self.channels):
            np.add(out, segment[c], out=out)
        out *= np.float32(1.0 / self.channels)
        return out

    def _start_analysis(self):
        power = self._meter.stream_power()  # the latest window's frames (the few still pending: now)
        if power is None:
            return
        if self._worker is None:
            self._measure(power)
        elif self._worker_busy:  # the worker is still on the previous window: skip this one
            self.skipped_analyses += 1
        else:
            self._pending_power = power
            self._worker_busy = True
            self._power_ready.set()

    def _measure(self, power):
        """Measure the latest window from its mean periodogram; fold the result into the moving
        average of the input's balance and update the EQ."""
        state = self._meter.state_of_power(power)
        if not np.all(np.isfinite(state)):
            return
        with self._lock:
            previous = self._state
            self._state = state if previous is None else previous + self._ema * (state - previous)
            averaged, start = self._state, self._z_audio
        if start is None and self._meter.method == "ltas":  # first measurement: as in prime()
            start = self._bundle.encode_balance(state)
        z = self._meter.latent_of_state(averaged, self._fit_iterations, start)  # model calls outside the lock
        with self._lock:
            if self._state is averaged:  # not reset or primed meanwhile
                self._z_audio = z
                self.analyses += 1
                self._update()

    def _decode(self, latents):
        params, response = self._bundle.decode(np.atleast_2d(np.asarray(latents, dtype=np.float32)))
        return np.asarray(params, dtype=np.float64), np.asarray(response, dtype=np.float64)

    def _limited_step(self):
        """Decoded (params, responses) of [z_final, z_audio]: z_final = z_audio + intensity ·
        (z_target − z_audio), or a shorter step where that EQ would boost or cut more than
        max_gain_db anywhere in 50 Hz–16 kHz relative to its mean level there (its level is not the
        concern: loudness compensation removes it). A bass-less recording asked for "warm" would
        otherwise get 20 dB and more at 100 Hz.
        The shorter step is found on 8 evenly spaced candidates in one batched decoder call,
        interpolated between the last one within the limit and the first beyond it."""
        z_audio, direction = self._z_audio, self._z_target - self._z_audio
        params, response = self._decode(np.stack([z_audio + self._intensity * direction, z_audio]))
        band, limit = ltas.BAND_MASK, self._max_gain_db

        def peak(curves):  # largest boost or cut relative to the EQ's mean level in the band
            applied = curves[..., band] - response[1, band]
            return np.max(np.abs(applied - applied.mean(axis=-1, keepdims=True)), axis=-1)

        if peak(response[0]) <= limit:
            return params, response
        steps = self._intensity * np.arange(1, 9) / 8.0
        _, candidates = self._decode(z_audio + steps[:, None] * direction)
        peaks = peak(candidates)
        first_over = int(np.argmax(peaks > limit))  # exists: the full step is over the limit
        below_step, below_peak = (0.0, 0.0) if first_over == 0 else (steps[first_over - 1], peaks[first_over - 1])
        step = below_step + (steps[first_over] - below_step) * (limit - below_peak) / (peaks[first_over] - below_peak)
        return self._decode(np.stack([z_audio + step * direction, z_audio]))

    def _update(self):
        """Recompute the bands (and the compensation gain) from the control state and hand them to
        the filter bank. Caller holds ``self._lock``."""
        sr = self.sample_rate
        change_db = None  # the EQ's response on FREQ_GRID, where already known
        if self.mode == "static":
            bands = realisable_bands(self._target_params, sr, gain_scale=self._intensity)
            spectrum_db = self._reference_db
        elif self._z_audio is None or self._intensity == 0.0:
            # no measurement yet, or nothing to apply: flat (0 dB bands pass audio through unchanged)
            bands = 2 * realisable_bands(self._target_params, sr, gain_scale=0.0)
            spectrum_db, change_db = self._reference_db, np.zeros(eqdef.N_GRID)
        else:
            params, response = self._limited_step()
            bands = realisable_bands(params[0], sr) + realisable_bands(params[1], sr, gain_scale=-1.0)
            spectrum_db, change_db = self._reference_db + response[1], response[0] - response[1]
        self._bands = bands
        self._fb.set_bands(bands)
        if self.loudness_compensation:
            power = 10.0 ** (spectrum_db[self._loudness_mask] / 10.0) * self._loudness_weight
            # the decoder's response is at 48 kHz; the realised bands differ only near Nyquist
            change_db = self._fb.response(self._loudness_grid) if change_db is None else change_db[self._loudness_mask]
            level_change = 10.0 * math.log10(np.sum(power * 10.0 ** (change_db / 10.0)) / np.sum(power))
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
            processor._measure(processor._pending_power)
        finally:
            processor._worker_busy = False
        del processor
