"""The audio encoder's front end in plain torch ops: raw 48 kHz mono audio → tonal balance on
``eqdef.FREQ_GRID``, the same quantity as ``semeq_rt.ltas.balance_db`` (built from its matrices).

The STFT is a matrix product with Hann-windowed cosines and sines (the ONNX exporter has no
``torch.fft``), truncated to the FFT bins that the 1/3-octave smoothing uses. Frames lie back to back
(hop = n_fft, ``ltas.HOP``), so they are a reshape of the audio.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from semeq_rt import ltas


class BalanceFrontEnd(nn.Module):
    """(batch, samples) float32 mono audio at ``ltas.SAMPLE_RATE`` → (batch, 121) balance in dB.

    Any length ≥ ``ltas.N_FFT`` works (frames are averaged). The input is scaled to unit RMS first so
    that float32 keeps the same relative precision at any level; the balance itself is level-free.
    """

    def __init__(self, reference_db=None, n_fft: int = ltas.N_FFT):
        super().__init__()
        smoothing = ltas.smoothing_matrix(ltas.SAMPLE_RATE, n_fft)
        used = np.flatnonzero(smoothing.any(axis=0))
        first, last = int(used[0]), int(used[-1]) + 1
        k = np.arange(first, last)[:, None]
        n = np.arange(n_fft)[None, :]
        phase = 2.0 * np.pi * k * n / n_fft
        window = ltas.hann(n_fft)
        kernels = np.concatenate([window * np.cos(phase), -window * np.sin(phase)]).T  # (n_fft, 2 * n_bins)
        reference = ltas.MUSIC_REFERENCE_DB if reference_db is None else np.asarray(reference_db)
        self.n_fft, self.hop, self.n_bins = n_fft, n_fft, last - first
        self.register_buffer("dft_kernels", torch.tensor(kernels, dtype=torch.float32))
        self.register_buffer("smoothing_t", torch.tensor(smoothing[:, first:last].T, dtype=torch.float32))
        self.register_buffer("reference_band", torch.tensor(reference[ltas.BAND_MASK], dtype=torch.float32))
        self.register_buffer("hold_index", torch.tensor(ltas.HOLD_INDEX, dtype=torch.long))

    def smoothed_power(self, audio: torch.Tensor) -> torch.Tensor:
        """(batch, samples) → (batch, n_band) mean Welch power on the 1/3-octave bands, of the audio
        scaled to unit RMS (= ltas.power_spectrum followed by the smoothing matrix)."""
        scale = torch.sqrt(torch.mean(audio * audio, dim=-1, keepdim=True) + 1e-20)
        n_frames = audio.shape[-1] // self.n_fft
        frames = (audio[:, : n_frames * self.n_fft] / scale).reshape(audio.shape[0], n_frames, self.n_fft)
        spectra = frames @ self.dft_kernels
        power = (spectra * spectra).mean(dim=1)  # (batch, 2 * n_bins): re² and im², frame mean
        power = power[:, : self.n_bins] + power[:, self.n_bins :]
        return power @ self.smoothing_t

    def balance_from_smoothed_power(self, smoothed: torch.Tensor) -> torch.Tensor:
        """Band power (batch, n_band) → balance (batch, 121) dB: floored level, band mean removed, minus
        the reference, clipped, held outside the band (= ltas.balance_from_power's last steps). The
        ONNX export reuses it after its own FFT."""
        floor = ltas.RELATIVE_FLOOR * smoothed.mean(dim=-1, keepdim=True) + 1e-30
        level = 10.0 * torch.log10(smoothed + floor)
        band = level - level.mean(dim=-1, keepdim=True) - self.reference_band
        band = torch.clamp(band - band.mean(dim=-1, keepdim=True), -ltas.BALANCE_LIMIT_DB, ltas.BALANCE_LIMIT_DB)
        return band[:, self.hold_index]

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.balance_from_smoothed_power(self.smoothed_power(audio))
