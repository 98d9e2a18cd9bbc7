"""Torch modules whose graphs become the bundle's ONNX files, around the trained networks."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from semeq_rt import eqdef, ltas


class EqDecoderGraph(nn.Module):
    """latent → (13 parameters, their dB response on FREQ_GRID).

    The response is eqdef's own formula run in float64 (float32 coefficient maths is off by ~0.01 dB,
    docs/ARCHITECTURE.md) and cast to float32, so the runtime gets the curve without re-implementing it.
    """

    def __init__(self, decoder: nn.Module):
        super().__init__()
        self.decoder = decoder

    def forward(self, latent: torch.Tensor):
        params = self.decoder(latent)
        response_db = eqdef.params_response_db(params.double()).float()
        return params, response_db


class WelchBandPower(nn.Module):
    """1/3-octave smoothed Welch spectrum of a fixed-length signal: (B, length) → (B, n_band).

    Mean periodogram of back-to-back periodic-Hann frames of n_fft samples, at the FFT bins the
    smoothing uses: the same numbers as the training front end's direct DFT (``frames @ kernels``,
    n_fft × 2·n_bins: ~50 MB of weights, ~0.4 GFLOP per 2.7 s window), computed as a two-stage
    Cooley–Tukey FFT written as matrix products, which ONNX Runtime runs as GEMMs (its own DFT/STFT
    operators are several times slower):
    - n = n2·a + b with a < n1; stage 1 is a length-n1 DFT over a (real input: only k1 ≤ n1/2 is
      computed, Y[n1 − k1] = conj Y[k1]), n1 rows: Re Y[k1] for k1 < n1/2, then Re Y[n1/2] and
      Im Y[k1] for 0 < k1 < n1/2 (Im Y[0] = Im Y[n1/2] = 0 are left out);
    - stage 2 folds the twiddle e^{−2πi·k1·b/n_fft} and the length-n2 DFT over b into one matrix per
      pair j < n1/2: k1 = j and its mirror n1 − j from [Re Y[j] | Im Y[j]], or for j = 0 the two real
      rows k1 = 0 and n1/2 (so all n1/2 matrices have the same shape), yielding only bins below the
      last one used;
    - after Re² + Im² (summed over frames), bin selection and the smoothing are one matrix product.
    """

    def __init__(self, window: np.ndarray, smoothing_t: np.ndarray, first_bin: int, length: int, n1: int = 64):
        super().__init__()
        n_fft = len(window)
        n2 = n_fft // n1
        if n1 * n2 != n_fft or n1 % 2 or length % n_fft:
            raise ValueError(f"n_fft {n_fft} must be an even multiple of n1 = {n1}, and the length {length} "
                             f"a multiple of n_fft")
        last_bin = first_bin + smoothing_t.shape[0]
        n_frames = length // n_fft
        self.n_frames = n_frames
        self.n1, self.n2, self.n_pairs = n1, n2, n1 // 2
        self.k2_count = -(-last_bin // n1)
        a, b, k2 = np.arange(n1), np.arange(n2), np.arange(self.k2_count)
        phase1 = 2.0 * np.pi * np.outer(np.arange(self.n_pairs + 1), a) / n1
        self.register_buffer("window", torch.tensor(window.reshape(n1, n2), dtype=torch.float32))
        # (n1, n1): rows Re Y[0 … n1/2 − 1], then Re Y[n1/2] in the place of Im Y[0], then Im Y[1 … n1/2 − 1]
        self.register_buffer("stage1", torch.tensor(
            np.concatenate([np.cos(phase1[:-1]), np.cos(phase1[-1:]), -np.sin(phase1[1:-1])]), dtype=torch.float32))
        stage2 = np.zeros((self.n_pairs, 2 * n2, 4 * self.k2_count))
        rows = np.zeros((self.n_pairs, 2, self.k2_count, smoothing_t.shape[1]))  # (pair, mirror, k2)
        for j in range(self.n_pairs):
            for mirror in (0, 1):
                k1 = (n1 - j if j else n1 // 2) if mirror else j
                phase = 2.0 * np.pi * (k1 * b[:, None] / n_fft + b[:, None] * k2[None, :] / n2)
                c, s = np.cos(phase), np.sin(phase)
                columns = slice(2 * self.k2_count * mirror, 2 * self.k2_count * (mirror + 1))
                if j == 0:  # real Y[0] and Y[n1/2], one per input half: X = Y·(c − i·s)
                    stage2[j, n2 * mirror: n2 * (mirror + 1), columns] = np.block([c, -s])
                else:
                    sign = -1.0 if mirror else 1.0  # the mirror uses conj(Y[j]): its imaginary part negated
                    # [Yr | Yi] @ block = [Xr | Xi] for X = (Yr + i·sign·Yi)(c − i·s)
                    stage2[j, :, columns] = np.block([[c, -s], [sign * s, sign * c]])
                for kk2 in range(self.k2_count):
                    k = k1 + n1 * kk2
                    if first_bin <= k < last_bin:
                        rows[j, mirror, kk2] = smoothing_t[k - first_bin] / n_frames  # and the frame mean
        self.register_buffer("stage2", torch.tensor(stage2, dtype=torch.float32))
        self.register_buffer("smoothing", torch.tensor(rows.reshape(-1, smoothing_t.shape[1]), dtype=torch.float32))

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        # Reshapes use −1 for the batch: no Shape/Gather/Concat nodes computing it at run time.
        x = audio.reshape(-1, self.n_frames, self.n1, self.n2) * self.window
        y = torch.matmul(self.stage1, x)  # (B, F, n1, n2)
        y = y.reshape(-1, self.n_frames, 2, self.n_pairs, self.n2).permute(3, 0, 1, 2, 4)
        spectra = torch.matmul(y.reshape(self.n_pairs, -1, 2 * self.n2), self.stage2)
        power = (spectra * spectra).reshape(self.n_pairs, -1, self.n_frames, 4 * self.k2_count).sum(dim=2)
        power = power.reshape(self.n_pairs, -1, 2, 2, self.k2_count).sum(dim=3)  # Re² + Im² per mirror
        return power.permute(1, 0, 2, 3).reshape(-1, self.smoothing.shape[0]) @ self.smoothing


class AudioEncoderGraph(nn.Module):
    """The trained ``AudioEncoder`` for a fixed window, its front end's direct DFT replaced by
    ``WelchBandPower``; the rest of the front end (``balance_from_smoothed_power``) and the head are the
    trained module's own, and the export's parity check holds the graph to the trained model."""

    def __init__(self, encoder: nn.Module, window_length: int):
        super().__init__()
        front = encoder.frontend
        smoothing = ltas.smoothing_matrix(ltas.SAMPLE_RATE, front.n_fft)
        used = np.flatnonzero(smoothing.any(axis=0))
        first, last = int(used[0]), int(used[-1]) + 1
        window = ltas.hann(front.n_fft)
        # The graph rebuilds the front end from semeq_rt.ltas: refuse a front end that differs from it.
        expected_first_kernel = window * np.cos(2.0 * np.pi * first * np.arange(front.n_fft) / front.n_fft)
        if (last - first != front.n_bins or front.hop != front.n_fft or ltas.HOP != front.n_fft
                or not np.allclose(front.smoothing_t.numpy(), smoothing[:, first:last].T, atol=1e-7)
                or not np.allclose(front.dft_kernels[:, 0].numpy(), expected_first_kernel, atol=1e-6)):
            raise ValueError("the audio encoder's front end no longer matches semeq_rt.ltas "
                             "(bins, hop, window or smoothing): update semeq_export.graphs.AudioEncoderGraph")
        self.power = WelchBandPower(window, smoothing[:, first:last].T, first, window_length)
        self.encoder = encoder

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        # No unit-RMS scaling as in training: the balance is a ratio of powers, and float32 keeps its
        # relative precision down to ~1e-38 (-380 dB); the parity check holds the graph to the module.
        balance = self.encoder.frontend.balance_from_smoothed_power(self.power(audio))
        return self.encoder.from_balance(balance)
