"""`semeq-export` end to end on checkpoints trained here in smoke mode (CI has no runs/): the bundle it
writes validates and loads, ONNX Runtime matches PyTorch on fresh random and real inputs, the manifest
carries the checkpoints' facts, and a failed export leaves the output folder alone."""
import copy
import json

import numpy as np
import onnx
import pytest
import torch

from semeq_rt import eqdef, ltas
from semeq_rt.bundle import MANIFEST_NAME, OPTIONAL_ROLES, ROLES, load_bundle, sha256_file, validate_bundle

LATENT_TOLERANCE = 1e-4  # issue 5's parity targets
RESPONSE_TOLERANCE_DB = 0.01


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from semeq_export.cli import main as export_main
    from semeq_train.cli import main as train_main

    folder = tmp_path_factory.mktemp("export")
    eq, audio, out = folder / "eqspace.pt", folder / "encoder.pt", folder / "bundle"
    assert train_main(["eq", "--smoke", "--out", str(eq), "--no-progress"]) == 0
    assert train_main(["audio", "--smoke", "--eqspace", str(eq), "--out", str(audio), "--no-progress"]) == 0
    assert export_main(["--eq-checkpoint", str(eq), "--audio-checkpoint", str(audio), "--out", str(out),
                        "--clips-per-track", "1"]) == 0
    from semeq_train.audio.model import load_checkpoint as load_audio
    from semeq_train.eqspace import load_checkpoint as load_eq

    return {"eq": eq, "audio": audio, "out": out, "space": load_eq(eq), "encoder": load_audio(audio),
            "bundle": load_bundle(out)}


def test_bundle_validates_and_holds_exactly_its_files(exported):
    out = exported["out"]
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    assert validate_bundle(out) == manifest
    roles = ROLES + OPTIONAL_ROLES
    assert sorted(p.name for p in out.iterdir()) == sorted([MANIFEST_NAME] + [f"{r}.onnx" for r in roles])
    for role in roles:
        model = onnx.load(str(out / manifest["models"][role]["file"]))
        onnx.checker.check_model(model, full_check=True)
        assert model.ir_version == manifest["models"][role]["ir_version"] <= 9
        assert manifest["models"][role]["opset"] >= 17


def test_onnx_runtime_matches_pytorch_on_fresh_random_and_real_inputs(exported):
    from semeq_train.audio.evaluate import validation_clips
    from semeq_train.eqspace.data import build_corpus

    space, encoder, bundle = exported["space"], exported["encoder"], exported["bundle"]
    rng = np.random.default_rng(12345)  # not the exporter's seed: inputs it has not seen
    corpus = build_corpus(seed=space.config["seed"])
    curves = np.concatenate([corpus.curves[corpus.select("test")][:100],
                             rng.normal(0.0, 8.0, (50, eqdef.N_GRID))]).astype(np.float32)
    clips = validation_clips(1)[0][:4]
    audio = np.concatenate([clips, 10.0 ** rng.uniform(-5, 0, (3, 1)) * rng.standard_normal((3, bundle.window))])
    audio = audio.astype(np.float32)
    # The reference is the trained modules in float64 (the functions themselves): the float32 modules
    # have rounding errors of their own of the order of the tolerance (docs/bundle.md, parity).
    with torch.no_grad():
        z_curve = copy.deepcopy(space.encoder).double()(torch.from_numpy(curves).double()).numpy()
        z_audio = copy.deepcopy(encoder).double()(torch.from_numpy(audio).double()).numpy()
        balances = copy.deepcopy(encoder.frontend).double()(torch.from_numpy(audio).double()).numpy()
        spread = 3.0 * rng.standard_normal((20, space.latent_dim))
        latents = np.concatenate([z_curve, z_audio, spread]).astype(np.float32)
        params = copy.deepcopy(space.decoder).double()(torch.from_numpy(latents).double())
        response = eqdef.params_response_db(params).numpy()
    assert np.max(np.abs(bundle.encode_curve(curves) - z_curve)) <= LATENT_TOLERANCE
    assert np.max(np.abs(bundle.encode_audio(audio) - z_audio)) <= LATENT_TOLERANCE
    # the head alone on the front end's balances: what the streaming analysis runs
    assert np.max(np.abs(bundle.encode_balance(balances) - z_audio)) <= LATENT_TOLERANCE
    onnx_params, onnx_response = bundle.decode(latents)
    assert np.max(np.abs(onnx_response - response)) <= RESPONSE_TOLERANCE_DB
    span = eqdef.PARAM_HIGH - eqdef.PARAM_LOW
    assert np.max(np.abs(onnx_params - params.numpy()) / span) <= 1e-4


def test_batches_of_any_size_agree_with_single_items(exported):
    bundle = exported["bundle"]
    rng = np.random.default_rng(3)
    audio = rng.standard_normal((3, bundle.window)).astype(np.float32)
    batch = bundle.encode_audio(audio)
    for i in range(3):
        np.testing.assert_allclose(bundle.encode_audio(audio[i]), batch[i], atol=1e-5)


def test_manifest_carries_the_checkpoints_facts(exported):
    manifest, space, encoder = exported["bundle"].manifest, exported["space"], exported["encoder"]
    eq_facts, audio_facts = manifest["training"]["eq_space"], manifest["training"]["audio_encoder"]
    assert eq_facts["checkpoint_sha256"] == sha256_file(exported["eq"])
    assert audio_facts["checkpoint_sha256"] == sha256_file(exported["audio"])
    assert eq_facts["data_sha256"] == space.data_sha256
    assert audio_facts["data_sha256"] == encoder.checkpoint["data_sha256"]
    assert eq_facts["config"]["steps"] == space.config["steps"] and audio_facts["config"]["smoke"] is True
    assert set(eq_facts["metrics"]) == set(space.metrics)
    assert manifest["latent_dim"] == space.latent_dim
    assert [t["name"] for t in manifest["terms"]] == space.term_names
    for term in manifest["terms"]:
        np.testing.assert_allclose(term["centroid"], space.terms[term["name"]]["centroid"], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(manifest["neutral_reference"]["curve_db"],
                               ltas.hold_edges(encoder.frontend.reference_band.numpy()), atol=1e-6)
    assert manifest["audio"]["window"] == encoder.checkpoint["contract"]["window"]


def test_failed_export_names_the_checkpoint_and_leaves_the_output_alone(exported, tmp_path, capsys):
    from semeq_export.cli import main as export_main

    out = tmp_path / "bundle"
    out.mkdir()
    (out / "keep.txt").write_text("untouched")
    missing = tmp_path / "no-such-encoder.pt"
    code = export_main(["--eq-checkpoint", str(exported["eq"]), "--audio-checkpoint", str(missing),
                        "--out", str(out)])
    assert code == 1
    assert str(missing) in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_audio_encoder_trained_on_another_eq_space_is_refused(exported, tmp_path, capsys):
    from semeq_export.cli import main as export_main
    from semeq_train.eqspace import load_checkpoint as load_eq

    # The same networks saved again with another config: another checkpoint, so another SHA-256.
    other = load_eq(exported["eq"])
    other.config = dict(other.config, note="a different EQ-space checkpoint")
    other_path = other.save(tmp_path / "other-eqspace.pt")
    out = tmp_path / "bundle"
    code = export_main(["--eq-checkpoint", str(other_path), "--audio-checkpoint", str(exported["audio"]),
                        "--out", str(out)])
    assert code == 1
    err = capsys.readouterr().err
    assert str(exported["audio"]) in err and "EQ space" in err
    assert not out.exists()
