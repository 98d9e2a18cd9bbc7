"""The one EQ definition, three implementations: C++ (cpp/include/semeq/rbj.h, via _core), eqdef on
numpy and eqdef on torch (float64) agree on coefficients and dB responses across designs, parameters
and sample rates."""
import numpy as np
import pytest

from semeq_rt import _core, eqdef

RATES = [8000.0, 16000.0, 44100.0, 48000.0, 96000.0, 192000.0]


def grid(fs):
    """Every combination of frequency (20 Hz .. 0.49 fs), gain (+/-24 dB) and Q (0.1 .. 10)."""
    f = np.geomspace(20.0, 0.49 * fs, 17)
    g = np.linspace(-24.0, 24.0, 9)
    q = np.geomspace(0.1, 10.0, 7)
    return [a.ravel() for a in np.meshgrid(f, g, q, indexing="ij")]


@pytest.mark.parametrize("fs", RATES)
@pytest.mark.parametrize("kind", eqdef.BAND_TYPES)
def test_cpp_numpy_torch_coefficients_and_responses_agree(kind, fs):
    torch = pytest.importorskip("torch")
    f, g, q = grid(fs)
    code = np.full(f.shape, eqdef.BAND_TYPES.index(kind), np.int32)
    cpp = _core.design(code, f, g, q, fs)
    ref_np = np.stack(eqdef.rbj_coefficients(kind, f, g, q, fs), axis=1)
    ref_t = torch.stack(eqdef.rbj_coefficients(kind, *(torch.tensor(a, dtype=torch.float64) for a in (f, g, q)), fs),
                        dim=1).numpy()
    scale = np.maximum(1.0, np.abs(ref_np))
    # same formulas in the same order: equal to the last bits (a libm may differ by an ulp or two)
    assert np.max(np.abs(cpp - ref_np) / scale) < 1e-14
    assert np.max(np.abs(ref_t - ref_np) / scale) < 1e-14

    freqs = np.concatenate([np.geomspace(1.0, 0.5 * fs, 200), [0.0]])
    db_cpp = _core.response_db(cpp, freqs, fs)
    db_np = eqdef.biquad_response_db(tuple(ref_np.T[:, :, None]), freqs, fs)
    db_t = eqdef.biquad_response_db(tuple(torch.tensor(ref_np.T[:, :, None])), torch.tensor(freqs), fs).numpy()
    # compare where the response is above -200 dB (deep low/high-pass stop bands are clamped at 1e-30)
    live = db_np > -200.0
    assert np.max(np.abs(db_cpp - db_np)[live]) < 1e-10
    assert np.max(np.abs(db_t - db_np)[live]) < 1e-10
