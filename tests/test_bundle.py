"""The shipped model bundle and its loader: hashes, metadata, running the models, providers, threads,
clear errors for broken bundles (real corruption of a copy), and loading without torch."""
import json
import shutil
import subprocess
import sys

import numpy as np
import onnx
import pytest
from no_torch import run_without_torch

from semeq_rt import eqdef
from semeq_rt.bundle import (DEFAULT_BUNDLE_DIR, FORMAT_VERSION, MANIFEST_NAME, OPTIONAL_ROLES, ROLES,
                             BundleError, _cuda_device_present, load_bundle, model_roles, sha256_file,
                             validate_bundle)


@pytest.fixture(scope="module")
def bundle():
    return load_bundle()


@pytest.fixture
def bundle_copy(tmp_path):
    folder = tmp_path / "bundle"
    shutil.copytree(DEFAULT_BUNDLE_DIR, folder)
    return folder


def _manifest(folder):
    return json.loads((folder / MANIFEST_NAME).read_text())


def _write_manifest(folder, manifest):
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest))


# --- the shipped files -------------------------------------------------------------------------------

def test_shipped_files_match_manifest_hashes_and_sizes():
    manifest = _manifest(DEFAULT_BUNDLE_DIR)
    assert sorted(manifest["models"]) == sorted(ROLES + OPTIONAL_ROLES)  # the shipped one has them all
    for role in model_roles(manifest):
        entry = manifest["models"][role]
        path = DEFAULT_BUNDLE_DIR / entry["file"]
        assert sha256_file(path) == entry["sha256"], path
        assert path.stat().st_size == entry["size_bytes"], path
    assert validate_bundle() == manifest


def test_shipped_onnx_files_pass_checker_with_loadable_ir_and_metadata():
    manifest = _manifest(DEFAULT_BUNDLE_DIR)
    # Each file carries the manifest, less what a file cannot know about itself and the text section.
    expected = json.loads(json.dumps(manifest))
    expected.pop("text", None)
    for entry in expected["models"].values():
        del entry["sha256"], entry["size_bytes"]
    for role in model_roles(manifest):
        path = DEFAULT_BUNDLE_DIR / manifest["models"][role]["file"]
        model = onnx.load(str(path))
        onnx.checker.check_model(model, full_check=True)
        # ONNX Runtime 1.17 reads IR ≤ 9 (onnx 1.23 would write 14, which ORT 1.31 refuses).
        assert model.ir_version <= 9
        assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17
        for tensor in list(model.graph.input) + list(model.graph.output):
            assert tensor.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
            assert tensor.type.tensor_type.shape.dim[0].dim_param == "batch"
        meta = {p.key: p.value for p in model.metadata_props}
        assert meta["semeq.role"] == role
        assert meta["semeq.format_version"] == str(FORMAT_VERSION)
        assert json.loads(meta["semeq.manifest"]) == expected


def test_manifest_describes_the_eq_definition_and_terms():
    manifest = _manifest(DEFAULT_BUNDLE_DIR)
    layout = [(p["name"], p["unit"], p["low"], p["high"]) for p in manifest["eq"]["param_layout"]]
    assert layout == [tuple(p) for p in eqdef.PARAM_LAYOUT]
    # the same grid up to the last bit: np.geomspace may round differently on another CPU or numpy build
    np.testing.assert_allclose(manifest["eq"]["freq_grid_hz"], eqdef.FREQ_GRID, rtol=1e-14, atol=0)
    assert manifest["audio"]["sample_rate"] > 0 and 0 < manifest["audio"]["hop"] <= manifest["audio"]["window"]
    assert len(manifest["terms"]) >= 10
    for term in manifest["terms"]:
        assert term["count"] > 0 and min(term["spread"]) >= 0
    for key in ("eq_space", "audio_encoder"):
        facts = manifest["training"][key]
        assert len(facts["checkpoint_sha256"]) == 64 and facts["data_sha256"] and facts["metrics"]


def test_manifest_parity_numbers_are_within_tolerances():
    for role, entry in _manifest(DEFAULT_BUNDLE_DIR)["models"].items():
        parity = entry["parity"]
        for name, tolerance in parity["tolerances"].items():
            for kind in ("random", "real"):
                assert parity[f"max_abs_{name}_{kind}"] <= tolerance, (role, name, kind)


# --- running the shipped models -----------------------------------------------------------------------

def test_models_run_with_single_items_and_batches(bundle):
    rng = np.random.default_rng(1)
    windows = (0.1 * rng.standard_normal((3, bundle.window))).astype(np.float32)
    batch = bundle.encode_audio(windows)
    assert batch.shape == (3, bundle.latent_dim) and batch.dtype == np.float32 and np.all(np.isfinite(batch))
    np.testing.assert_allclose(bundle.encode_audio(windows[1]), batch[1], atol=1e-5)
    balances = rng.normal(0.0, 6.0, (3, eqdef.N_GRID))
    heads = bundle.encode_balance(balances)
    assert heads.shape == (3, bundle.latent_dim) and heads.dtype == np.float32 and np.all(np.isfinite(heads))
    np.testing.assert_allclose(bundle.encode_balance(balances[1]), heads[1], atol=1e-5)

    span = eqdef.PARAM_HIGH - eqdef.PARAM_LOW
    curves = eqdef.params_response_db(eqdef.PARAM_LOW + rng.uniform(size=(4, 13)) * span)
    z = bundle.encode_curve(curves)
    assert z.shape == (4, bundle.latent_dim)
    params, response = bundle.decode(z)
    assert params.shape == (4, eqdef.N_PARAMS) and response.shape == (4, eqdef.N_GRID)
    assert np.all(params >= eqdef.PARAM_LOW.astype(np.float32))
    assert np.all(params <= eqdef.PARAM_HIGH.astype(np.float32))
    # The in-graph response is eqdef's definition of these parameters.
    np.testing.assert_allclose(response, eqdef.params_response_db(params.astype(np.float64)), atol=0.01)
    single_params, single_response = bundle.decode(z[2])
    assert single_params.shape == (eqdef.N_PARAMS,) and single_response.shape == (eqdef.N_GRID,)


def test_settings_only_decoder_gives_the_decoders_settings(bundle, bundle_copy):
    """decode_params (eq_decoder_params, what an analysis runs) = decode's params, bit for bit, on the
    terms and on random latents; a bundle without the optional model decodes with eq_decoder."""
    rng = np.random.default_rng(7)
    centroids = np.array([t.centroid for t in bundle.terms.values()])
    latents = np.concatenate([centroids, centroids.mean(0) + 3.0 * centroids.std(0) * rng.standard_normal((64, 17))])
    latents = latents.astype(np.float32)
    assert "eq_decoder_params" in bundle.sessions
    expected = bundle.decode(latents)[0]
    np.testing.assert_array_equal(bundle.decode_params(latents), expected)
    np.testing.assert_array_equal(bundle.decode_params(latents[3]), expected[3])
    manifest = _manifest(bundle_copy)
    (bundle_copy / manifest["models"].pop("eq_decoder_params")["file"]).unlink()
    _write_manifest(bundle_copy, manifest)
    older = load_bundle(bundle_copy)
    assert "eq_decoder_params" not in older.sessions
    np.testing.assert_array_equal(older.decode_params(latents), expected)


def test_settings_only_decoder_is_what_its_export_step_makes(bundle_copy):
    """The shipped eq_decoder_params.onnx is reproduced byte for byte by `semeq-export decoder-params`
    (from the bundle's eq_decoder), and it is the decoder's graph up to `params` only."""
    from semeq_export.decoder_params import main as decoder_params_main

    shipped = _manifest(DEFAULT_BUNDLE_DIR)["models"]
    manifest = _manifest(bundle_copy)
    (bundle_copy / manifest["models"].pop("eq_decoder_params")["file"]).unlink()
    _write_manifest(bundle_copy, manifest)
    assert decoder_params_main(["--bundle", str(bundle_copy)]) == 0
    remade = _manifest(bundle_copy)["models"]
    assert sha256_file(bundle_copy / "eq_decoder_params.onnx") == shipped["eq_decoder_params"]["sha256"]
    assert {r: e["sha256"] for r, e in remade.items()} == {r: e["sha256"] for r, e in shipped.items()}
    cut = onnx.load(str(bundle_copy / "eq_decoder_params.onnx")).graph
    full = onnx.load(str(bundle_copy / "eq_decoder.onnx")).graph
    assert [o.name for o in cut.output] == ["params"]
    assert len(cut.node) < len(full.node) / 3


def test_wrong_input_size_names_the_expected_shape(bundle):
    with pytest.raises(ValueError, match=str(bundle.window)):
        bundle.encode_audio(np.zeros(bundle.window + 1, dtype=np.float32))
    with pytest.raises(ValueError, match="121"):
        bundle.encode_curve(np.zeros((2, 120)))
    with pytest.raises(ValueError, match="121"):
        bundle.encode_balance(np.zeros(122))


def test_terms_and_eq_facts_are_exposed(bundle):
    assert bundle.param_layout == tuple(eqdef.PARAM_LAYOUT)
    np.testing.assert_allclose(bundle.freq_grid, eqdef.FREQ_GRID, rtol=1e-14, atol=0)  # see above: last-bit rounding
    term = next(iter(bundle.terms.values()))
    assert term.centroid.shape == (bundle.latent_dim,) and term.spread.shape == (bundle.latent_dim,)
    assert len(bundle.neutral_reference["curve_db"]) == eqdef.N_GRID


# --- providers and threads -----------------------------------------------------------------------------

def test_default_threads_are_one_and_can_be_changed(bundle):
    for session in bundle.sessions.values():
        options = session.get_session_options()
        assert (options.intra_op_num_threads, options.inter_op_num_threads) == (1, 1)
    two = load_bundle(intra_op_threads=2, providers=["CPUExecutionProvider"])
    assert all(s.get_session_options().intra_op_num_threads == 2 for s in two.sessions.values())


def test_providers_override_is_used():
    assert load_bundle(providers=["CPUExecutionProvider"]).providers == ["CPUExecutionProvider"]


def test_unknown_provider_is_refused_with_the_available_ones():
    with pytest.raises(ValueError, match="CPUExecutionProvider") as info:
        load_bundle(providers=["NoSuchExecutionProvider"])
    assert "NoSuchExecutionProvider" in str(info.value) and not isinstance(info.value, BundleError)


@pytest.mark.skipif(_cuda_device_present(), reason="checks the no-CUDA fallback; this machine has a GPU")
def test_without_cuda_the_default_is_cpu_and_nothing_is_logged():
    # In a fresh process: ONNX Runtime logs to stderr from C++, and caches nothing between processes.
    code = ("from semeq_rt.bundle import load_bundle\n"
            "print(load_bundle().providers)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['CPUExecutionProvider']"
    assert "onnxruntime" not in result.stderr and "CUDA" not in result.stderr, result.stderr


# --- broken bundles: each error names the file and the problem -------------------------------------------

def _error(folder) -> BundleError:
    with pytest.raises(BundleError) as info:
        load_bundle(folder)
    return info.value


def test_missing_model_file(bundle_copy):
    path = bundle_copy / _manifest(bundle_copy)["models"]["eq_decoder"]["file"]
    path.unlink()
    err = _error(bundle_copy)
    assert err.path == path and "missing" in str(err) and str(path) in str(err)


def test_changed_model_file_fails_its_hash(bundle_copy):
    path = bundle_copy / _manifest(bundle_copy)["models"]["audio_encoder"]["file"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    err = _error(bundle_copy)
    assert err.path == path and "SHA-256" in str(err)


def test_corrupt_onnx_with_matching_hash_is_reported_by_file(bundle_copy):
    manifest = _manifest(bundle_copy)
    path = bundle_copy / manifest["models"]["eq_encoder"]["file"]
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])  # truncated protobuf
    manifest["models"]["eq_encoder"]["sha256"] = sha256_file(path)
    _write_manifest(bundle_copy, manifest)
    err = _error(bundle_copy)
    assert err.path == path and "ONNX Runtime cannot load" in str(err)


def test_newer_format_version_is_refused(bundle_copy):
    manifest = _manifest(bundle_copy)
    manifest["format_version"] = FORMAT_VERSION + 1
    _write_manifest(bundle_copy, manifest)
    err = _error(bundle_copy)
    assert err.path == bundle_copy / MANIFEST_NAME and "newer" in str(err)


def test_manifest_that_is_not_json(bundle_copy):
    (bundle_copy / MANIFEST_NAME).write_text('{"format": "semeq-bundle", ')
    err = _error(bundle_copy)
    assert err.path == bundle_copy / MANIFEST_NAME and "not valid JSON" in str(err)


def test_missing_manifest_field_is_named(bundle_copy):
    manifest = _manifest(bundle_copy)
    del manifest["audio"]["window"]
    _write_manifest(bundle_copy, manifest)
    err = _error(bundle_copy)
    assert err.path == bundle_copy / MANIFEST_NAME and "audio.window" in str(err)


@pytest.mark.parametrize("breakage, field", [
    (lambda m: m["neutral_reference"]["curve_db"].__setitem__(3, float("nan")), "neutral_reference.curve_db"),
    (lambda m: m["neutral_reference"]["curve_db"].__setitem__(3, float("inf")), "neutral_reference.curve_db"),
    (lambda m: m["audio"].update(window=0), "audio.window"),
    (lambda m: m["audio"].update(sample_rate=0), "audio.sample_rate"),
    (lambda m: m["audio"].update(hop=10 ** 9), "audio.hop"),
    (lambda m: m["neutral_reference"].update(frame_hop=0), "neutral_reference.frame_hop"),
    (lambda m: m["neutral_reference"].update(frame_hop=3000), "neutral_reference.frame_hop"),
    (lambda m: m["eq"]["freq_grid_hz"].__setitem__(5, 1000.0), "eq.freq_grid_hz"),
    (lambda m: m["eq"]["freq_grid_hz"].pop(), "eq.freq_grid_hz"),
    (lambda m: m["eq"]["param_layout"][1].update(high=30000.0), "eq.param_layout"),
    (lambda m: m.update(latent_dim=0), "latent_dim"),
])
def test_every_manifest_field_is_checked_at_load(bundle_copy, breakage, field):
    # values that used to load and then fail (NaN output, empty windows, ZeroDivisionError), named
    manifest = _manifest(bundle_copy)
    breakage(manifest)
    _write_manifest(bundle_copy, manifest)
    err = _error(bundle_copy)
    assert err.path == bundle_copy / MANIFEST_NAME and field in str(err)


def test_deeply_nested_manifest_is_a_bundle_error(bundle_copy):
    (bundle_copy / MANIFEST_NAME).write_text("[" * 100_000 + "]" * 100_000)
    assert "nested too deeply" in str(_error(bundle_copy))


@pytest.mark.parametrize("breakage, message", [
    (lambda scorer: scorer.update(kind="term-amount-logistic"), "term-boost-cut-logistic"),  # a format-1 scorer
    (lambda scorer: scorer["slope_cut"].pop(), "slope_cut"),
    (lambda scorer: scorer["intercept"].__setitem__(0, float("nan")), "intercept"),
    (lambda scorer: scorer["slope_boost"].__setitem__(0, -1.0), "≥ 0"),
    (lambda scorer: scorer["terms"].__setitem__(0, "no such term"), "curve_db"),
])
def test_broken_term_scorer_is_refused_at_load(bundle_copy, breakage, message):
    manifest = _manifest(bundle_copy)
    breakage(manifest["term_scorer"])
    _write_manifest(bundle_copy, manifest)
    err = _error(bundle_copy)
    assert err.path == bundle_copy / MANIFEST_NAME and "term_scorer" in str(err) and message in str(err)


def test_swapped_models_are_caught_by_their_metadata(bundle_copy):
    manifest = _manifest(bundle_copy)
    models = manifest["models"]
    for key in ("file", "sha256", "size_bytes"):
        eq, audio = models["eq_encoder"], models["audio_encoder"]
        eq[key], audio[key] = audio[key], eq[key]
    _write_manifest(bundle_copy, manifest)
    err = _error(bundle_copy)
    assert err.path.name in (models["eq_encoder"]["file"], models["audio_encoder"]["file"])
    assert "role" in str(err)


def test_folder_without_manifest(tmp_path):
    err = _error(tmp_path)
    assert err.path == tmp_path / MANIFEST_NAME and "manifest is missing" in str(err)


# --- no torch ---------------------------------------------------------------------------------------------

def test_runtime_loads_and_runs_the_bundle_where_torch_cannot_be_imported():
    result = run_without_torch("""
        import numpy as np
        import semeq_rt
        from semeq_rt.bundle import load_bundle

        bundle = load_bundle()
        z = bundle.encode_audio(np.zeros(bundle.window, dtype=np.float32))
        params, response = bundle.decode(z)
        assert np.all(np.isfinite(response)) and params.shape == (13,)
        print("ok")
    """)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
