"""``Processor``: semantic EQ on a stream of audio blocks, adaptive or static.

The engine is C++ (``semeq::Processor``, cpp/include/semeq/processor.h; the plugins run the same one):
this class resolves the word, checks the options, and hands the engine the model as two calls over the
bundle's ONNX Runtime sessions (``_BundleModel``). docs/processor.md describes what it does.

Adaptive mode. The word names a target tonal balance: the neutral reference plus the word's EQ, i.e.
the latent ``z_target`` (a term's centroid, or the weighted mean of a blend's centroids), with the
human spread of the people's settings behind it: a range, not a point. The input's own balance
``z_audio`` is measured on its long-term spectrum (one analysis every ``analysis_interval`` seconds
of the latest window, the spectra averaged over ``adaptation_time`` seconds; the first analyses, on
a window that grows from 0.4 s to the full one, give a stream its EQ within 0.5 s). Where the audio
has no content (a codec's low-pass, an absent bass register) the balance is not compared with the
target. Audio inside the word's range gets no EQ; audio outside it is moved toward the range's edge
by ``intensity`` (a negative intensity moves it away from the word's centre), by an EQ whose boosts,
cuts and slopes stay within what people set in SAFE-DB and which boosts nothing where the audio has no
content (cpp/include/semeq/correction.h)::

    z_final = z_audio + intensity * (z_edge - z_audio)
    applied EQ = response(z_final) - response(z_audio)      (gains scaled down where a limit needs it;
                                                            guard shelves outside the content)

realised exactly in one filter bank of 12 bands: the five bands of z_final's setting, the five of
z_audio's with negated gains (an RBJ peaking or S = 1 shelf filter with gain -g is the exact inverse
of the one with gain g), and two guard shelves. Intensity 0 is the input itself (the bands are then
handed over at 0 dB, which the filter bank passes through unchanged). Loudness compensation undoes the
EQ's K-weighted loudness change on the measured spectrum.

Static mode applies the word's centroid EQ with its gains scaled by ``intensity`` (5 bands; a negative
intensity negates them), as flowEQ or Audealize do: the same curve whatever the audio.

Band changes reach the filter bank through its per-sample smoothing (``smoothing_ms``), so nothing
clicks. Analyses run either inside ``process`` at fixed sample positions (``realtime=False``: the
output does not depend on the block size, for offline use and tests) or on the engine's analysis
thread (``realtime=True``: ``process`` hands over the window's mean spectrum and never waits for
inference).
"""
from __future__ import annotations

import numpy as np

from . import _core, eqdef, ltas, validate
from .analysis import check_method, latent_of_balance
from .native_model import native_model
from .semantics import blend_latent, blend_spread, get_bundle, resolve_blend

MODES = ("adaptive", "static")
#: Stream positions (s) of the first analyses, on the window measured so far, before the full window
#: has arrived (the later ones replace the earlier ones; from the full window on they are averaged).
EARLY_ANALYSES_S = _core.EARLY_ANALYSES_S
#: The adaptive EQ's default limits (dB; docs/processor.md, "Limits") and the largest boost in a band
#: without content inside the content span.
DEFAULT_MAX_BOOST_DB = _core.DEFAULT_MAX_BOOST_DB
DEFAULT_MAX_CUT_DB = _core.DEFAULT_MAX_CUT_DB
EMPTY_BOOST_DB = _core.EMPTY_BOOST_DB


#: Accepted ranges of the numeric options: name → (low, high, whether low itself is accepted, unit), as
#: the engine defines them (cpp/include/semeq/processor.h, kOptionRanges).
OPTION_RANGES = dict(_core.OPTION_RANGES)


def _check_number(name, value) -> float:
    low, high, low_included, unit = OPTION_RANGES[name]
    return validate.number(name, value, low, high, unit, low_open=not low_included)


def _check_intensity(intensity) -> float:
    return _check_number("intensity", intensity)


class _BundleModel:
    """The engine's model (``semeq::AnalysisModel``) over a bundle's sessions in Python: a balance's latent
    by ``analysis`` (``analysis.latent_of_balance``) and the decoder's settings."""

    def __init__(self, bundle, analysis, fit_iterations, adaptive):
        self._bundle, self._analysis, self._fit_iterations = bundle, analysis, fit_iterations
        self.latent_dim = bundle.latent_dim
        if adaptive:
            # ONNX Runtime allocates on a session's first run at a batch size: the analyses decode two
            # latents and measure one balance, which happens here first rather than in the first analysis
            self.decode(np.zeros((2, bundle.latent_dim), dtype=np.float32))
            self.measure(np.zeros(eqdef.N_GRID), None)

    def measure(self, balance, previous):
        return latent_of_balance(self._bundle, self._analysis, balance, self._fit_iterations, previous)

    def decode(self, latents):
        return self._bundle.decode_params(latents)


class Processor(_core.Processor):
    """Semantic EQ for a stream of audio blocks: ``Processor("warm").process(block)``.

    Parameters
    ----------
    term : str, dict or sequence of (term, weight)
        A known word (``semeq_rt.terms()``; inflections such as "brighter" resolve to it), any other
        word or short phrase ("glassy", "vintage radio": placed from its text, docs/vocabulary.md), or a
        blend such as ``{"warm": 0.7, "airy": 0.3}`` (weights are normalised). A typo of a known word
        raises ``ValueError`` listing close matches; a text with no sonic sense ("banana") raises
        ``ValueError`` naming the nearest known words.
    intensity : float in [-1, 1]
        0 leaves the audio unchanged; 1 moves it all the way into the word's range (adaptive) or applies
        the word's full EQ (static); negative values move the audio away from the word (adaptive: from
        the word's centre) or apply the word's EQ with negated gains (static).
    sample_rate : 8000–192000 Hz.  Band frequencies above 0.45 × sample_rate are clamped there
        (the semantic EQ reaches 20 kHz; see ``eqdef.MAX_FREQ_FRACTION``).
    channels : number of channels of every block.
    mode : ``"adaptive"`` (default) or ``"static"``.
    analysis : ``"encoder"`` (the bundle's audio encoder: its head on the streamed tonal balance) or
        ``"ltas"`` (exact long-term spectrum, EQ-encoded and fitted).
    realtime : run analysis on the engine's analysis thread (True) or inside ``process`` at fixed
        sample positions, deterministically (False, the default).
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

    ``native_model`` is True where the analyses run the bundle's models in C++ (the extension built with
    ONNX Runtime's headers; ``analysis="encoder"``): the analysis thread then never takes the GIL
    (docs/processor.md, "Where the models run"). The output is the same either way.

    ``analyses`` counts the measurements that reached the EQ since the last reset;
    ``skipped_analyses`` those dropped in realtime mode because the analysis thread was still busy.
    ``process`` releases the GIL: processors in different threads run in parallel.

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
        self._bundle = bundle = get_bundle(bundle)
        intensity = _check_intensity(intensity)
        self._weights = resolve_blend(term, bundle)
        options = {name: _check_number(name, value) for name, value in (
            ("smoothing_ms", smoothing_ms), ("analysis_interval", analysis_interval),
            ("adaptation_time", adaptation_time), ("max_boost_db", max_boost_db), ("max_cut_db", max_cut_db))}
        # each fit step costs a batched decoder call per analysis; 100 is far past where the fit settles
        fit_iterations = validate.whole_number("fit_iterations", fit_iterations, 0, 100)
        reference = bundle.neutral_reference
        if analysis == "encoder":  # the frames of the audio encoder's front end, or of the exact LTAS
            frames = (reference["n_fft"], reference["frame_hop"], bundle.sample_rate)
        else:
            frames = (ltas.N_FFT, ltas.HOP, ltas.SAMPLE_RATE)
        # the bundle's models in C++ where the extension has them (the analysis thread then takes no GIL);
        # "ltas" fits in Python (semantics.fit_latent)
        model = native_model(bundle) if analysis == "encoder" else None
        self.native_model = model is not None
        if model is None:
            model = _BundleModel(bundle, analysis, fit_iterations, mode == "adaptive")
        super().__init__(
            sample_rate=self.sample_rate, channels=self.channels, adaptive=mode == "adaptive", realtime=bool(realtime),
            loudness_compensation=self.loudness_compensation, **options,
            model_sample_rate=bundle.sample_rate, model_window=bundle.window, frame_size=frames[0],
            frame_hop=frames[1], frame_sample_rate=frames[2], reference_db=reference["curve_db"],
            model=model,
            centre=blend_latent(self._weights, bundle), spread=blend_spread(self._weights, bundle),
            intensity=intensity)

    # ------------------------------------------------------------------------------------------
    # control (any thread)

    def set_term(self, term):
        """Change the word (or blend); the EQ moves there through the smoothing."""
        weights = resolve_blend(term, self._bundle)
        self._set_target(blend_latent(weights, self._bundle), blend_spread(weights, self._bundle))
        self._weights = weights

    def set_intensity(self, intensity):
        """Change the intensity (−1 to 1); the EQ moves there through the smoothing."""
        self._set_intensity(_check_intensity(intensity))

    @property
    def term(self) -> dict:
        """The current word or blend as {term: weight} (weights sum to 1)."""
        return dict(self._weights)

    @property
    def intensity(self) -> float:
        return self._intensity

    def applied_response(self, freqs_hz) -> np.ndarray:
        """dB response at ``freqs_hz`` (within (0, sample_rate/2)) of the EQ being applied now: the
        filter bank's coefficients as the last ``process`` left them (mid-ramp: where the smoothing has
        got to) plus the loudness-compensation gain. Before the first block, the EQ that block will
        apply at once (``prime``'s, or flat)."""
        freqs = np.asarray(freqs_hz, dtype=np.float64)
        if np.any(~np.isfinite(freqs)) or np.any(freqs <= 0) or np.any(freqs >= self.sample_rate / 2):
            raise ValueError(f"frequencies must lie in (0, {self.sample_rate / 2:g}) Hz")
        return self._applied_response(freqs.ravel()).reshape(freqs.shape)

    # ------------------------------------------------------------------------------------------
    # streaming (one audio thread)

    def prime(self, audio):
        """Measure ``audio`` (channels, samples) as if it had preceded the stream, e.g. a file's first
        seconds before processing it from the start, so that the EQ fits from the first sample.
        Before any block has been processed, the primed EQ applies at once (no ramp). Static mode
        does not analyse: there it does nothing."""
        if self.mode != "adaptive":
            return
        y, _ = validate.audio_block(audio, self.channels, "Processor")
        self._prime(y)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
