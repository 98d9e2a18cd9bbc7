"""The training data's EQ: eqdef's RBJ biquads applied as a zero-phase magnitude filter in the
frequency domain give the same long-term spectrum as the time-domain biquads (scipy), and the
settings come from SAFE-DB's users."""
import numpy as np
import pytest
import torch
from scipy.signal import sosfilt

from semeq_rt import eqdef, ltas
from semeq_train.audio.eq import SafeEqSampler, apply_eq, flat_params
from semeq_train.audio.frontend import BalanceFrontEnd
from semeq_train.audio.sources import pink_noise
from semeq_train.audio.train import with_eq

RATE = ltas.SAMPLE_RATE


def biquad_cascade(params):
    sections = []
    for kind, freq, gain, q in eqdef.params_to_bands(params):
        b0, b1, b2, a1, a2 = eqdef.rbj_coefficients(kind, freq, gain, q, RATE)
        sections.append([b0, b1, b2, 1.0, a1, a2])
    return np.array(sections, dtype=np.float64)


@pytest.fixture(scope="module")
def settings():
    return SafeEqSampler("test", jitter=False, identity_share=0.0).sample(6, np.random.default_rng(3))


def test_frequency_domain_eq_matches_time_domain_biquads(settings):
    noise = pink_noise(len(settings), 4 * 48000, np.random.default_rng(0))
    ours = apply_eq(torch.tensor(noise), torch.tensor(settings)).numpy()
    for x, y, params in zip(noise, ours, settings):
        reference = sosfilt(biquad_cascade(params), x)
        skip = 4800  # the time-domain filter's start-up transient
        diff = ltas.ltas_db(y[skip:]) - ltas.ltas_db(reference[skip:])
        assert np.abs(diff[ltas.BAND_MASK]).max() < 0.2


def test_measured_change_of_balance_is_the_eq_response(settings):
    noise = pink_noise(len(settings), 8 * 48000, np.random.default_rng(1))
    ours = apply_eq(torch.tensor(noise), torch.tensor(settings)).numpy()
    for x, y, params in zip(noise, ours, settings):
        change = (ltas.ltas_db(y) - ltas.ltas_db(x))[ltas.BAND_MASK]
        response = eqdef.params_response_db(params)[ltas.BAND_MASK]
        # 1/3-octave smoothing blurs narrow peaks; the RMS over the band stays small
        assert np.sqrt(np.mean((change - response - (change - response).mean()) ** 2)) < 0.75


def test_balance_shifted_by_an_eq_is_the_balance_of_the_eqd_audio(settings):
    """The training's difference term shifts balances by an EQ's response instead of filtering audio
    again: that must be what the front end measures on the filtered audio (boosts and cuts)."""
    frontend = BalanceFrontEnd()
    noise = torch.tensor(pink_noise(len(settings), 8 * 48000, np.random.default_rng(6)))
    cuts = settings.copy()
    cuts[:, [i for i, name in enumerate(eqdef.PARAM_NAMES) if name.endswith("_gain")]] *= -1
    for params in (settings, cuts):
        params = torch.tensor(params)
        with torch.no_grad():
            measured = frontend(apply_eq(noise, params).float())
            shifted = with_eq(frontend(noise.float()), eqdef.params_response_db(params).float())
        error = (measured - shifted)[:, torch.as_tensor(ltas.BAND_MASK)]
        assert error.abs().mean(dim=-1).max() < 0.25, error.abs().mean(dim=-1)


def test_eq_is_differentiable_in_its_parameters(settings):
    params = torch.tensor(settings[:2], requires_grad=True)
    audio = torch.tensor(pink_noise(2, 48000, np.random.default_rng(2)))
    apply_eq(audio, params).pow(2).mean().backward()
    assert torch.isfinite(params.grad).all() and params.grad[:, [0, 11]].abs().min() > 0


def test_flat_setting_leaves_audio_unchanged():
    audio = torch.tensor(pink_noise(1, 48000, np.random.default_rng(4)))
    assert torch.allclose(apply_eq(audio, torch.tensor(flat_params()[None])), audio, atol=1e-12)


def test_training_and_held_out_settings_come_from_different_users():
    train, test = SafeEqSampler("train"), SafeEqSampler("test")
    assert len(train) > len(test) > 100
    rng = np.random.default_rng(5)
    drawn = train.sample(500, rng)
    assert np.all(drawn >= eqdef.PARAM_LOW - 1e-9) and np.all(drawn <= eqdef.PARAM_HIGH + 1e-9)
    assert set(train.users).isdisjoint(test.users)
