"""Where audio sits in the semantic EQ space: ``analyze`` for a whole clip, and ``BalanceMeter``, the
per-window measurement that the Processor runs on its ring buffer.

Two methods measure the same quantity (docs/audio-encoder.md): ``"encoder"`` runs the bundle's audio
encoder on raw audio; ``"ltas"`` computes the long-term average spectrum exactly (semeq_rt.ltas) and
EQ-encodes it. Both give the latent of the EQ that turns the neutral reference into the audio's
tonal balance.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import eqdef, ltas
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


class BalanceMeter:
    """Measures the latent of the tonal balance of mono audio at ``sample_rate``.

    ``window`` is the number of samples at ``sample_rate`` that one measurement uses: the audio
    encoder's window, converted to this rate (the LTAS method uses the same span, so that the two
    are compared on equal terms). ``measure`` takes whole windows; ``stream_state`` measures the
    latest window of a stream and, for the LTAS method, computes each STFT frame only once, at its
    absolute position in the stream, so that consecutive overlapping windows cost only their new frames
    (the frames then align with the stream rather than with the window's start: the same measurement).
    """

    def __init__(self, bundle, sample_rate, method="encoder"):
        self.bundle = bundle
        self.method = check_method(method)
        self.sample_rate = float(sample_rate)
        self.window = int(round(bundle.window * self.sample_rate / bundle.sample_rate))
        self.reference_db = np.asarray(bundle.neutral_reference["curve_db"], dtype=np.float64)
        if method == "ltas":
            self._smoothing = ltas.smoothing_matrix(self.sample_rate, ltas.N_FFT)
            self._hann = ltas.hann(ltas.N_FFT)
            self._frame_hop = ltas.N_FFT // 2
            n_frames = max(1, (self.window - ltas.N_FFT) // self._frame_hop + 1)
            self._frame_power = np.zeros((n_frames, ltas.N_FFT // 2 + 1))
        self.reset()

    def reset(self):
        """Forget the stream (``stream_state`` starts again at position 0)."""
        if self.method == "ltas":
            self._frame_power[:] = 0.0
            self._last_frame_end = 0
            self._frames_stored = 0

    def _balance_from_power(self, power) -> np.ndarray:
        """Mean periodogram → balance in dB on FREQ_GRID (``ltas.balance_from_power`` with this meter's
        cached smoothing matrix and the bundle's neutral reference)."""
        return ltas.balance_from_power(power, self._smoothing, self.reference_db)

    def balance_db(self, mid) -> np.ndarray:
        """The LTAS tonal balance (dB on FREQ_GRID) of a mono signal of any length: ltas.power_spectrum
        taken over chunks of whole frames (so that a long file never needs all its frames in memory)
        and averaged with their frame counts, which gives the same mean periodogram."""
        n_fft, hop = ltas.N_FFT, ltas.N_FFT // 2
        if len(mid) <= n_fft + _CHUNK_FRAMES * hop:
            return self._balance_from_power(ltas.power_spectrum(mid, n_fft))
        n_frames = (len(mid) - n_fft) // hop + 1
        total = np.zeros(n_fft // 2 + 1)
        for first in range(0, n_frames, _CHUNK_FRAMES):
            count = min(_CHUNK_FRAMES, n_frames - first)
            chunk = mid[first * hop: first * hop + (count - 1) * hop + n_fft]
            total += count * ltas.power_spectrum(chunk, n_fft)
        return self._balance_from_power(total / n_frames)

    def measure(self, mids) -> np.ndarray:
        """Latents (n, latent_dim) of mono windows (n, window), or (latent_dim,) of one (window,)."""
        mids = np.asarray(mids)
        single = mids.ndim == 1
        mids = np.atleast_2d(mids)
        if self.method == "ltas":
            latents = self.bundle.encode_curve(np.stack([self.balance_db(m) for m in mids]))
        else:
            latents = self.encode_audio(mids)
        return latents[0] if single else latents

    def encode_audio(self, mids) -> np.ndarray:
        """The audio encoder's latents (n, latent_dim) of mono windows (n, window) at this rate."""
        if self.sample_rate == self.bundle.sample_rate:
            return self.bundle.encode_audio(mids)
        at_model_rate = np.stack([resample(m, self.sample_rate, self.bundle.sample_rate) for m in mids])
        return self.bundle.encode_audio(_fit_length(at_model_rate, self.bundle.window))

    def samples_needed(self, position) -> int:
        """How many of a stream's latest samples ``stream_state`` needs at ``position``."""
        if self.method == "encoder":
            return self.window
        return min(self.window, position - self._first_new_frame_end(position) + ltas.N_FFT)

    def _first_new_frame_end(self, position) -> int:
        # frames end at multiples of the frame hop; only those not yet computed, inside the latest
        # window, and among the last len(_frame_power) are needed
        hop = self._frame_hop
        newest = position - position % hop
        return max(self._last_frame_end + hop, newest - (len(self._frame_power) - 1) * hop,
                   -(-(position - self.window + ltas.N_FFT) // hop) * hop)

    def stream_state(self, latest_mid, position):
        """What a stream's latest ``window`` samples measure as, in the form the Processor averages
        over time: the balance curve (dB on FREQ_GRID) for the LTAS method, the latent for the
        encoder. ``latest_mid`` holds at least the last ``samples_needed(position)`` samples (oldest
        first); ``position`` is the stream's sample count after the last of them. None if there is
        not yet one whole STFT frame."""
        if self.method == "encoder":
            return self.measure(latest_mid[-self.window:])
        n_fft, hop = ltas.N_FFT, self._frame_hop
        start = position - len(latest_mid)  # stream position of latest_mid[0]
        ends = np.arange(self._first_new_frame_end(position), position + 1, hop)
        if len(ends):
            frames = np.stack([latest_mid[e - start - n_fft: e - start] for e in ends]) * self._hann
            spectra = np.fft.rfft(frames, axis=-1)
            n_slots = len(self._frame_power)
            self._frame_power[(ends // hop) % n_slots] = spectra.real ** 2 + spectra.imag ** 2
            self._last_frame_end = int(ends[-1])
            self._frames_stored = min(n_slots, self._frames_stored + len(ends))
        if self._frames_stored == 0:
            return None
        return self._balance_from_power(self._frame_power.sum(axis=0) / self._frames_stored)

    def window_states(self, mids) -> np.ndarray:
        """``stream_state`` of each whole window (n, window) → (n, 121) balances or (n, latent_dim)."""
        if self.method == "encoder":
            return self.measure(mids)
        return np.stack([self.balance_db(m) for m in np.atleast_2d(mids)])

    def latent_of_state(self, state, fit_iterations=3, previous=None) -> np.ndarray:
        """The latent of a (time-averaged) state: for the LTAS method, the balance's latent refined by
        ``semantics.fit_latent`` (``fit_iterations`` steps; 0: the EQ encoder's latent as is), starting
        from ``previous`` (the last result, so that the fit tracks one solution smoothly, or the audio
        encoder's estimate) or else from the EQ encoder's latent."""
        if self.method == "encoder":
            return np.asarray(state, dtype=np.float32)
        if not fit_iterations:
            return self.bundle.encode_curve(state)
        start = self.bundle.encode_curve(state) if previous is None else previous
        return fit_latent(state, start, self.bundle, fit_iterations)


def _fit_length(windows, length) -> np.ndarray:
    """Windows cut or zero-padded (at the end) to ``length`` samples (resampling may be off by one)."""
    if windows.shape[-1] >= length:
        return windows[..., :length]
    return np.pad(windows, [(0, 0)] * (windows.ndim - 1) + [(0, length - windows.shape[-1])])


@dataclass
class Analysis:
    """The result of ``analyze``: where a clip sits in the semantic space.

    ``latent`` is the clip's tonal balance as a latent point; ``scores`` maps each term to how well it
    describes the clip (best first, summing to 1); ``times`` (s) and ``window_latents`` give the same
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
    """Validated mono mid (mean of channels) of (channels, samples) or (samples,) audio."""
    a = np.asarray(audio)
    if a.dtype == np.int16:
        a = a.astype(np.float32) / np.float32(32768.0)
    elif a.dtype.kind != "f":
        raise ValueError(f"audio must be float32/float64 or int16, got {a.dtype}")
    if a.ndim not in (1, 2):
        raise ValueError(f"audio must be (samples,) or (channels, samples), got shape {a.shape}")
    if a.ndim == 2 and a.shape[0] > a.shape[1]:
        raise ValueError(f"audio of shape {a.shape} looks like (samples, channels); "
                         "pass (channels, samples), e.g. audio.T")
    mid = a.astype(np.float32) if a.ndim == 1 else a.mean(axis=0, dtype=np.float32)  # float32: long files
    if mid.size == 0:
        raise ValueError("audio is empty (0 samples)")
    if not np.all(np.isfinite(mid)):
        raise ValueError("audio contains NaN or Inf samples")
    if not (isinstance(sample_rate, (int, float)) and 8000 <= sample_rate <= 192000):
        raise ValueError(f"sample_rate must be a number of Hz in 8000–192000, got {sample_rate!r}")
    return mid


def analyze(audio, sample_rate, *, analysis="encoder", bundle=None) -> Analysis:
    """Where a clip sits in the semantic EQ space.

    ``audio`` is (channels, samples) or (samples,), float or int16, at ``sample_rate`` Hz; channels are
    mixed to mono. The clip is measured in windows of the audio encoder's length, one per encoder hop
    (a clip shorter than one window is measured as one zero-padded window); the clip's latent is the
    mean of the window latents, or with ``analysis="ltas"`` the EQ-encoded LTAS of the whole clip.
    """
    bundle = get_bundle(bundle)
    mid = as_mid(audio, sample_rate)
    meter = BalanceMeter(bundle, sample_rate, analysis)
    hop = max(1, int(round(bundle.hop * sample_rate / bundle.sample_rate)))
    if len(mid) < meter.window:
        mid = np.pad(mid, (0, meter.window - len(mid)))
    windows = np.lib.stride_tricks.sliding_window_view(mid, meter.window)[::hop]
    # in batches: a long file's windows would not fit in memory at once
    window_latents = np.concatenate([meter.measure(windows[i:i + _BATCH]) for i in range(0, len(windows), _BATCH)])
    if analysis == "ltas":
        latent = bundle.encode_curve(meter.balance_db(mid))
    else:
        latent = window_latents.mean(axis=0).astype(np.float32)
    params, _ = bundle.decode(latent)
    times = (np.arange(len(windows)) * hop + meter.window / 2) / sample_rate
    return Analysis(latent=latent, scores=term_scores(latent, bundle), times=times,
                    window_latents=window_latents, params=np.asarray(params, dtype=np.float64),
                    method=analysis, sample_rate=float(sample_rate), _bundle=bundle)
