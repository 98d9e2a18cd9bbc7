"""Where audio sits in the semantic EQ space: ``analyze`` for a whole clip, and ``BalanceMeter``, the
measurement that the Processor runs on its stream.

Two methods measure the same quantity (docs/audio-encoder.md): ``"encoder"`` runs the bundle's audio
encoder (whole windows of raw audio in ``analyze``; in a stream, the encoder's head on a tonal
balance accumulated frame by frame); ``"ltas"`` computes the long-term average spectrum exactly
(semeq_rt.ltas) and EQ-encodes it. Both give the latent of the EQ that turns the neutral reference
into the audio's tonal balance.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _core, eqdef, ltas, validate
from .semantics import fit_latent, get_bundle, term_scores

METHODS = ("encoder", "ltas")
#: Windows measured per model call in ``analyze``.
_BATCH = 32
#: STFT frames per chunk when the LTAS of a long signal is taken.
_CHUNK_FRAMES = 256


def resample(mid, rate_in, rate_out) -> np.ndarray:
    """Band-limited resampling of a mono analysis window by zero-padding/truncating its spectrum
    (numpy only; the window is treated as periodic, which is harmless for spectral analysis)."""
    mid = np.asarray(mid, dtype=np.float64)
    if rate_in == rate_out or len(mid) == 0:
        return mid
    n_out = max(1, int(round(len(mid) * rate_out / rate_in)))
    spectrum = np.fft.rfft(mid)
    return np.fft.irfft(spectrum, n_out)[:n_out] * (n_out / len(mid))


def check_method(method) -> str:
    if method not in METHODS:
        raise ValueError(f"unknown analysis {method!r}; accepted: {', '.join(repr(m) for m in METHODS)}")
    return method


def frame_geometry(n_fft, hop, sample_rate, model_rate) -> tuple:
    """(n_fft, hop) at ``sample_rate`` for frames defined as (n_fft, hop) at ``model_rate``: the
    power of two at least as long in time (so the FFT bins are at most as wide as at the model's
    rate and the 1/3-octave bands at 50 Hz keep their resolution), hop in the same proportion (the
    engine's definition, cpp/include/semeq/spectrum_meter.h)."""
    return _core.frame_geometry(int(n_fft), int(hop), float(sample_rate), float(model_rate))


def latent_of_balance(bundle, method, balance, fit_iterations=3, previous=None) -> np.ndarray:
    """The latent of a tonal balance (dB on FREQ_GRID) by ``method``: the audio encoder's head
    (``"encoder"``), or for ``"ltas"`` the balance's latent refined by ``semantics.fit_latent``,
    ``fit_iterations`` steps from ``previous`` (the last result, so that the fit tracks one solution
    smoothly) or else from the audio encoder's head, since the EQ encoder's latent of a music balance
    lies far from the decoder's manifold (docs/audio-encoder.md); 0 steps: the EQ encoder's latent.
    The Processor's engine calls this on each analysis."""
    if method == "encoder":
        return bundle.encode_balance(balance)
    if not fit_iterations:
        return bundle.encode_curve(balance)
    start = bundle.encode_balance(balance) if previous is None else previous
    return fit_latent(balance, start, bundle, fit_iterations)


class BalanceMeter:
    """Measures the tonal balance of mono audio at ``sample_rate`` and its latent, for whole signals
    (``analyze``; the Processor's engine measures its stream the same way in C++,
    cpp/include/semeq/spectrum_meter.h, and tests/test_engine.py compares the two).

    ``window`` is the number of samples at ``sample_rate`` that one measurement uses: the audio
    encoder's window, converted to this rate (the LTAS method uses the same span, so that the two
    are compared on equal terms). Frames are periodic-Hann STFT frames of ``n_fft`` samples, ``hop``
    apart: for the encoder method those of the bundle's front end (its manifest's
    ``neutral_reference``), for the LTAS method semeq_rt.ltas's, both scaled to this rate by
    ``frame_geometry`` (at the model's rate, the definition itself).

    ``density`` is the 1/3-octave power density on the whole FREQ_GRID (the long-term spectrum),
    ``balance_db`` the balance compared with the reference where the audio has content, ``measure``
    the latents of windows (the encoder method runs the full audio encoder, resampling to its rate).
    """

    def __init__(self, bundle, sample_rate, method="encoder"):
        self.bundle = bundle
        self.method = check_method(method)
        self.sample_rate = float(sample_rate)
        self.window = int(round(bundle.window * self.sample_rate / bundle.sample_rate))
        self.reference_db = np.asarray(bundle.neutral_reference["curve_db"], dtype=np.float64)
        if method == "encoder":
            defined = (bundle.neutral_reference["n_fft"], bundle.neutral_reference["frame_hop"], bundle.sample_rate)
        else:
            defined = (ltas.N_FFT, ltas.HOP, ltas.SAMPLE_RATE)
        if defined[0] % defined[1]:
            raise ValueError(f"frames of {defined[0]} samples {defined[1]} apart: the hop must divide the frame length")
        self.n_fft, self.hop = frame_geometry(*defined[:2], self.sample_rate, defined[2])
        # 1/3-octave bands on the whole FREQ_GRID. Bands above this rate's Nyquist frequency get no bins
        # (0/0 in the smoothing): their power is 0, and they hold no content
        with np.errstate(invalid="ignore"):
            smoothing = np.nan_to_num(ltas.smoothing_matrix(self.sample_rate, self.n_fft, eqdef.FREQ_GRID))
        # only the FFT bins that the 1/3-octave bands use are kept (at 48 kHz 1…1905 of 2049)
        used = np.flatnonzero(smoothing.any(axis=0))
        self._bins = slice(int(used[0]), int(used[-1]) + 1)
        self._smoothing = np.ascontiguousarray(smoothing[:, self._bins])
        self._hann = ltas.hann(self.n_fft)

    def density_of_power(self, power) -> np.ndarray:
        """Mean periodogram(s) (..., bins) at the used bins → 1/3-octave power density (..., 121) on
        FREQ_GRID (0 above the Nyquist frequency)."""
        return power @ self._smoothing.T

    def balance_db(self, mid) -> np.ndarray:
        """The tonal balance (dB on FREQ_GRID) of a mono signal of any length, with this meter's frames
        (shorter than one frame: zero-padded to one), compared with the reference where the signal has
        content (``ltas.content_mask``, ``ltas.balance_from_density``)."""
        band = self.density(mid)[ltas.BAND_MASK]
        return ltas.balance_from_density(band, self.reference_db, ltas.content_mask(band))

    def density(self, mid) -> np.ndarray:
        """The 1/3-octave power density on FREQ_GRID of a mono signal of any length, with this meter's
        frames (shorter than one frame: zero-padded to one), averaged over chunks of frames so that
        a long file never needs all its frames, or a float64 copy, in memory."""
        mid = np.asarray(mid)
        n_fft, hop = self.n_fft, self.hop
        if len(mid) < n_fft:
            mid = np.pad(mid, (0, n_fft - len(mid)))
        n_frames = (len(mid) - n_fft) // hop + 1
        total = np.zeros(self._bins.stop - self._bins.start)
        for first in range(0, n_frames, _CHUNK_FRAMES):
            count = min(_CHUNK_FRAMES, n_frames - first)
            chunk = mid[first * hop: first * hop + (count - 1) * hop + n_fft]
            total += ltas.frame_power(ltas.frames_view(chunk, n_fft, hop), self._hann, self._bins).sum(axis=0)
        return self.density_of_power(total / n_frames)

    def measure(self, mids) -> np.ndarray:
        """Latents (n, latent_dim) of mono windows (n, window), or (latent_dim,) of one (window,):
        the EQ-encoded balance (LTAS method) or the full audio encoder, on the windows resampled to
        its rate where this one differs."""
        single = np.ndim(mids) == 1
        mids = np.atleast_2d(np.asarray(mids))
        if self.method == "ltas":
            latents = self.bundle.encode_curve(np.stack([self.balance_db(m) for m in mids]))
        elif self.sample_rate == self.bundle.sample_rate:
            latents = self.bundle.encode_audio(mids)
        else:
            at_model_rate = np.stack([resample(m, self.sample_rate, self.bundle.sample_rate) for m in mids])
            latents = self.bundle.encode_audio(_fit_length(at_model_rate, self.bundle.window))
        return latents[0] if single else latents


def _fit_length(windows, length) -> np.ndarray:
    """Windows cut or zero-padded (at the end) to ``length`` samples (resampling may be off by one)."""
    if windows.shape[-1] >= length:
        return windows[..., :length]
    return np.pad(windows, [(0, 0)] * (windows.ndim - 1) + [(0, length - windows.shape[-1])])


@dataclass
class Analysis:
    """The result of ``analyze``: where a clip sits in the semantic space.

    ``latent`` is the clip's tonal balance as a latent point; ``scores`` maps each term to the calibrated
    probability that the word describes the clip, each term scored on its own (best first; they do
    not sum to 1, ``semantics.term_scores``); ``times`` (s) and ``window_latents`` give the same
    over time, one row per analysis window; ``params`` are the 13 EQ parameters whose response is the
    balance relative to the neutral reference (``curve``).
    """

    latent: np.ndarray
    scores: dict
    times: np.ndarray
    window_latents: np.ndarray
    params: np.ndarray
    method: str
    sample_rate: float
    _bundle: object = None

    def curve(self, freqs_hz=eqdef.FREQ_GRID) -> np.ndarray:
        """The tonal balance in dB at ``freqs_hz`` (Hz, below 24 kHz): how the clip's long-term
        spectrum differs from the neutral reference, as the response of the decoded EQ (the semantic
        space's definition, at its 48 kHz reference rate)."""
        freqs = np.asarray(freqs_hz, dtype=np.float64)
        top = eqdef.REFERENCE_SAMPLE_RATE / 2
        if np.any(~np.isfinite(freqs)) or np.any(freqs <= 0) or np.any(freqs >= top):
            raise ValueError(f"frequencies must lie in (0, {top:g}) Hz")
        return eqdef.bands_response_db(eqdef.params_to_bands(self.params), freqs, eqdef.REFERENCE_SAMPLE_RATE)

    def window_scores(self) -> list:
        """Term scores of each analysis window ({term: score} per row of ``window_latents``)."""
        return [term_scores(z, self._bundle) for z in self.window_latents]


def as_mid(audio, sample_rate) -> np.ndarray:
    """Validated mono mid (mean of channels) of (channels, samples) or (samples,) audio (``validate``);
    non-finite samples count as 0, as in the Processor and the filter bank."""
    validate.sample_rate(sample_rate)
    block, _ = validate.audio_block(audio, copy=False)
    if block.shape[1] == 0:
        raise ValueError("audio is empty (0 samples)")
    if not np.isfinite(block).all():
        block = np.where(np.isfinite(block), block, np.float32(0.0))
    mid = block[0] if len(block) == 1 else block.mean(axis=0, dtype=np.float32)  # float32: long files
    if not np.any(mid):
        raise ValueError("audio is silent: there is nothing to analyse")
    return mid


def analyze(audio, sample_rate, *, analysis="encoder", bundle=None, progress=None) -> Analysis:
    """Where a clip sits in the semantic EQ space.

    ``audio`` is (channels, samples) or (samples,), float or int16, at ``sample_rate`` Hz; channels are
    mixed to mono. The clip is measured in windows of the audio encoder's length, one per encoder hop
    (a clip shorter than one window is measured as one zero-padded window); the clip's latent is the
    mean of the window latents, or with ``analysis="ltas"`` the EQ-encoded LTAS of the whole clip.
    ``progress``: called as ``progress(windows done, windows in all)`` as the windows are measured.
    """
    bundle = get_bundle(bundle)
    mid = as_mid(audio, sample_rate)
    clip_length = len(mid)
    meter = BalanceMeter(bundle, sample_rate, analysis)
    hop = max(1, int(round(bundle.hop * sample_rate / bundle.sample_rate)))
    if len(mid) < meter.window:
        mid = np.pad(mid, (0, meter.window - len(mid)))
    windows = ltas.frames_view(mid, meter.window, hop)
    # in batches: a long file's windows would not fit in memory at once
    batches = []
    for first in range(0, len(windows), _BATCH):
        batches.append(meter.measure(windows[first:first + _BATCH]))
        if progress is not None:
            progress(min(first + _BATCH, len(windows)), len(windows))
    window_latents = np.concatenate(batches)
    if analysis == "ltas":
        latent = bundle.encode_curve(meter.balance_db(mid))
    else:
        latent = window_latents.mean(axis=0).astype(np.float32)
    params = bundle.decode_params(latent)
    # a window's centre, or the clip's for a clip shorter than one (zero-padded) window
    times = (np.arange(len(windows)) * hop + min(meter.window, clip_length) / 2) / sample_rate
    return Analysis(latent=latent, scores=term_scores(latent, bundle), times=times,
                    window_latents=window_latents, params=np.asarray(params, dtype=np.float64),
                    method=analysis, sample_rate=float(sample_rate), _bundle=bundle)
