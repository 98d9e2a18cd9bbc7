"""EQ-space model: decoder constraints, level invariance, and a smoke training run end to end
(command → checkpoint with config, data hashes and held-out metrics → API → ONNX)."""
import numpy as np
import pytest
import torch

from semeq_rt import eqdef
from semeq_train.data_paths import data_file, sha256_file
from semeq_train.eqspace import load_checkpoint
from semeq_train.eqspace.cli import main as train_main
from semeq_train.eqspace.data import SAFE_FILE, SOCIALFX_FILE, build_corpus
from semeq_train.eqspace.model import EqDecoder, EqEncoder


@pytest.fixture(scope="module")
def smoke_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("eq") / "eqspace.pt"
    assert train_main(["--smoke", "--out", str(path), "--no-progress"]) == 0
    return path


@pytest.fixture(scope="module")
def space(smoke_checkpoint):
    return load_checkpoint(smoke_checkpoint)


def assert_valid_params(params):
    p = params.detach().double().numpy()
    assert np.all(np.isfinite(p))
    assert np.all(p >= eqdef.PARAM_LOW) and np.all(p <= eqdef.PARAM_HIGH)
    assert np.all(p[:, 3] <= p[:, 6]) and np.all(p[:, 6] <= p[:, 9])


def test_untrained_decoder_stays_in_range_and_ordered_for_any_latent():
    torch.manual_seed(0)
    decoder = EqDecoder(latent_dim=8, hidden=32)
    for scale in (0.1, 1.0, 100.0, 1e6):
        assert_valid_params(decoder(scale * torch.randn(512, 8)))


def test_encoder_shape_ignores_level_and_last_coordinate_is_the_level():
    torch.manual_seed(0)
    encoder = EqEncoder(latent_dim=8, hidden=32)
    curves = torch.randn(16, eqdef.N_GRID) * 6
    z, shifted = encoder(curves), encoder(curves + 7.5)
    torch.testing.assert_close(z[:, :-1], shifted[:, :-1], atol=2e-5, rtol=0)
    level = curves[:, torch.as_tensor((eqdef.FREQ_GRID >= 50) & (eqdef.FREQ_GRID <= 16000))].mean(1)
    torch.testing.assert_close(z[:, -1] * 6.0, level, atol=1e-5, rtol=0)
    torch.testing.assert_close((shifted[:, -1] - z[:, -1]) * 6.0, torch.full((16,), 7.5), atol=1e-5, rtol=0)


def test_checkpoint_carries_config_data_hash_and_metrics(space):
    assert space.config["latent_dim"] == space.latent_dim
    assert space.config["command"].startswith("semeq-train eq ") and "--smoke" in space.config["command"]
    assert space.data_sha256 == {SAFE_FILE: sha256_file(data_file(SAFE_FILE)),
                                 SOCIALFX_FILE: sha256_file(data_file(SOCIALFX_FILE))}
    m = space.metrics
    assert m["split"] == "test" and m["safe_rms_db"]["n"] > 100


def test_smoke_model_beats_trivial_baselines_on_held_out_data(space):
    m = space.metrics
    assert m["safe_rms_db"]["median"] < 0.6 * m["safe_baseline_mean_curve_rms_db"]["median"]
    flat = m["socialfx_flat_curve_rms_db_level_free"]["median"]
    assert m["socialfx_decoder_rms_db_level_free"]["median"] < 0.6 * flat
    assert m["top5_balanced"] > m["chance_top5_balanced"]


def test_api_shapes_ranges_and_curve_definition(space):
    corpus = build_corpus()
    curves = corpus.curves[:64]
    z = space.encode(curves)
    assert z.shape == (64, space.latent_dim) and z.dtype == torch.float32
    params = space.decode_params(z)
    assert params.shape == (64, eqdef.N_PARAMS)
    assert_valid_params(params)
    assert_valid_params(space.decode_params(50 * torch.randn(256, space.latent_dim)))
    np.testing.assert_allclose(space.decode_curve(z).numpy(),
                               eqdef.params_response_db(params.double().numpy()), atol=1e-9)
    scores = space.term_scores(z)
    assert scores.shape == (64, len(space.term_names))
    assert torch.all((scores > 0) & (scores < 1))
    # a level-normalised curve (what the audio side feeds) has the full curve's shape coordinates
    torch.testing.assert_close(space.encode(curves - curves.mean(1, keepdims=True))[:, :-1], z[:, :-1],
                               atol=2e-5, rtol=0)


def test_term_table(space):
    assert len(space.term_names) >= 30
    for name in space.term_names:
        t = space.terms[name]
        assert len(t["centroid"]) == space.latent_dim and len(t["curve_db"]) == eqdef.N_GRID
        assert t["count"]["total"] >= 5
        np.testing.assert_allclose(t["curve_db"], eqdef.params_response_db(np.array(t["params"])), atol=1e-6)
    # the scores rise with the amount of a term's EQ in a curve
    for name in ("warm", "bright"):
        curve = np.asarray(space.terms[name]["curve_db"])
        scores = space.term_scores(space.encode(np.stack([0.0 * curve, curve]))).numpy()
        flat_score, term_score = scores[:, space.term_names.index(name)]
        assert term_score > flat_score


def test_bad_inputs_are_clear_errors(space, tmp_path):
    with pytest.raises(ValueError, match="121"):
        space.encode(np.zeros((2, 40)))
    with pytest.raises(KeyError, match="unknown term"):
        space.centroid("no-such-term")
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.pt")
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not an EQ-space checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the TorchScript exporter; dynamo needs onnxscript
def test_modules_export_to_onnx_and_match_torch(space, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    curves = torch.as_tensor(build_corpus().curves[:8])
    z = space.encode(curves)
    for name, module, example in (("encoder", space.encoder, curves), ("decoder", space.decoder, z)):
        path = tmp_path / f"{name}.onnx"
        torch.onnx.export(module, (example,), str(path), input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, dynamo=False)
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        (out,) = session.run(None, {"x": example.numpy()})
        np.testing.assert_allclose(out, module(example).detach().numpy(), rtol=1e-4, atol=1e-4)


def test_selection_cross_validation_leaves_the_standard_test_users_out(smoke_checkpoint, space, capsys):
    from semeq_train.eqspace.evaluate import cross_validate, main as evaluate_main

    with pytest.raises(SystemExit):  # selection folds are for --split val only (no report is written)
        evaluate_main([str(smoke_checkpoint), "--cv-folds", "2", "--cv-exclude-test-users"])
    assert "needs --cv-folds N and --split val" in capsys.readouterr().err
    with pytest.raises(ValueError, match="no training example of the term"):  # 2 folds leave "thin" without one
        cross_validate(space, None, 2, progress=False, exclude_test_users=True)
    cv = cross_validate(space, None, 3, progress=False, exclude_test_users=True)
    corpus = build_corpus()
    warm, bright = corpus.terms.index("warm"), corpus.terms.index("bright")
    pair = (corpus.source == 0) & np.isin(corpus.term, [warm, bright])
    assert cv["exclude_test_users"] and cv["n"] == (pair & (corpus.split != 2)).sum()
    assert 0.5 < cv["warm_vs_bright_accuracy"] <= 1.0


def test_per_count_scorer_penalty_is_divided_by_the_term_count():
    from semeq_rt.semantics import term_amounts
    from semeq_train.eqspace.terms import balanced_weights, fit_nonnegative_logistic, fit_term_scorer

    # Term 0: 400 curves carrying about 1× its reference curve; terms 1 and 2: 5 curves each.
    rng = np.random.default_rng(0)
    refs = np.stack([np.linspace(-3, 3, eqdef.N_GRID), np.linspace(3, -3, eqdef.N_GRID),
                     np.sin(np.linspace(0, 6, eqdef.N_GRID))])
    labels = np.repeat([0, 1, 2], [400, 5, 5])
    curves = refs[labels] * rng.normal(1.0, 0.8, (len(labels), 1)) + rng.normal(0, 1, (len(labels), eqdef.N_GRID))
    amounts = term_amounts(curves, refs)
    for mode, counts in (("shared", (1, 1, 1)), ("per-count", (400, 5, 5))):
        scorer = fit_term_scorer(curves, labels, curves, labels, refs, l2_mode=mode)
        assert scorer["l2_mode"] == mode and scorer["kind"] == "term-boost-cut-logistic"
        for k, n in enumerate(counts):
            expected = fit_nonnegative_logistic(amounts[:, k], (labels == k).astype(float),
                                                balanced_weights(labels == k), scorer["l2"] / n)
            np.testing.assert_allclose([scorer["slope_boost"][k], scorer["slope_cut"][k], scorer["intercept"][k]],
                                       expected, rtol=1e-9)
    with pytest.raises(ValueError, match="l2_mode"):
        fit_term_scorer(curves, labels, curves, labels, refs, l2_mode="per-term")


def test_boost_cut_amounts_split_the_amount_and_the_scorer_weighs_them_apart():
    """The scorer's features: the term's EQ in the curve's boosts and in its cuts (summing to the plain
    amount). Where listeners recognise a term by one side only, the fit weighs that side and separates
    curves that no threshold on the plain amount does; its slopes are the constrained optimum (≥ 0)."""
    from semeq_rt.semantics import scores_from_curves, term_amounts
    from semeq_train.eqspace.terms import (balanced_weights, fit_logistic, fit_nonnegative_logistic, fit_term_scorer,
                                           penalised_loss)

    tilt = np.log2(eqdef.FREQ_GRID / 1000.0)  # dB per octave around 1 kHz: "bright" goes up, "warm" down
    refs = np.stack([-tilt, tilt])
    amounts = term_amounts(np.stack([2 * tilt, -tilt, np.zeros_like(tilt)]), refs)
    # 2 × bright's curve: its boosts (above 1 kHz) and cuts (below) each carry part of the amount 2
    np.testing.assert_allclose(amounts.sum(-1), [[-2, 2], [1, -1], [0, 0]], atol=1e-12)
    assert np.all(amounts[0, 1] > 0.5) and np.all(amounts[0, 0] < -0.5)

    # Synthetic listeners who call a curve by term 0 when it boosts the lows, but not when it cuts the
    # highs, though both put a similar amount of term 0's EQ (down-tilt) into the level-free curve
    rng = np.random.default_rng(1)
    octaves = np.log2(eqdef.FREQ_GRID)
    low_boost = np.exp(-0.5 * ((octaves - np.log2(80.0)) / 0.5) ** 2)
    high_cut = -np.exp(-0.5 * ((octaves - np.log2(8000.0)) / 0.5) ** 2)
    n = 300
    gains = rng.uniform(3, 8, (2 * n, 1))
    curves = np.concatenate([low_boost * gains[:n], high_cut * gains[n:]]) + rng.normal(0, 0.2, (2 * n, eqdef.N_GRID))
    labels = np.repeat([0, 1], n)
    plain = term_amounts(curves, refs).sum(-1)[:, 0]
    assert np.all(plain > 0)  # both kinds of curve contain term 0's EQ ...
    scorer = fit_term_scorer(curves, labels, curves, labels, refs, l2_mode="per-count")
    assert min(scorer["slope_boost"] + scorer["slope_cut"]) >= 0.0
    assert scorer["slope_cut"][0] < 0.1 * scorer["slope_boost"][0]  # ... but only its boosts count
    term0 = scores_from_curves(curves, scorer)[:, 0]
    both = np.mean((term0 > 0.5) == (labels == 0))
    threshold = max(np.mean((plain > t) == (labels == 0)) for t in np.quantile(plain, np.linspace(0, 1, 101)))
    assert both > 0.95 and threshold < 0.8, (both, threshold)  # no threshold on one amount separates them

    # the constrained fit is the constrained optimum: as good as a bounded quasi-Newton solver's
    from scipy.optimize import minimize

    for seed in range(5):
        data = np.random.default_rng(seed)
        x = data.normal(size=(400, 2))
        y = (x[:, 0] - 0.5 * x[:, 1] + data.normal(size=400) > 0).astype(float)  # the second feature hurts
        w, l2 = balanced_weights(y == 1), 0.01
        theta = fit_nonnegative_logistic(x, y, w, l2)
        assert theta[1] == 0.0 < theta[0] and fit_logistic(x, y, w, l2)[1] < 0  # the bound binds
        bounded = minimize(lambda t: penalised_loss(x, y, w, l2, t), np.zeros(3), method="L-BFGS-B",
                           bounds=[(0, None), (0, None), (None, None)], options={"ftol": 1e-15, "gtol": 1e-12})
        assert penalised_loss(x, y, w, l2, theta) <= bounded.fun + 1e-12


def test_scorer_l2_option_reaches_the_config_and_the_recorded_command():
    import argparse

    from semeq_train.eqspace.cli import add_arguments, command_line, config_from_args

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--scorer-l2", "shared", "--out", "x.pt"])
    assert config_from_args(args).scorer_l2 == "shared"
    assert command_line(args).endswith("--scorer-l2 shared")
    assert config_from_args(parser.parse_args([])).scorer_l2 == "per-count"  # the default
