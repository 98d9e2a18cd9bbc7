"""The open-vocabulary text encoder: exported all-MiniLM-L6-v2 (ONNX) + semeq_rt.text against PyTorch."""
from __future__ import annotations

import json
import numpy as np
import pytest
from no_torch import run_without_torch

from semeq_export.text_model import MIN_COSINE, PARITY_TEXTS, export_text_encoder, reference_embeddings
from semeq_rt.text import TextEncoder

@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("text_encoder")
    return folder, export_text_encoder(folder)


@pytest.fixture(scope="module")
def encoder(exported):
    folder, entry = exported
    return TextEncoder(folder / entry["file"], folder / entry["tokenizer"], max_tokens=entry["max_tokens"])


def test_manifest_entry(exported):
    folder, entry = exported
    assert (folder / "text_encoder.onnx").is_file() and (folder / "tokenizer.json").is_file()
    assert entry["embedding_dim"] == 384 and entry["max_tokens"] == 256
    assert entry["weights"] in ("int8-dynamic", "int8-weights", "fp16", "fp32")
    assert entry["parity"]["texts"] == len(PARITY_TEXTS) >= 300
    assert entry["parity"]["min_cosine"] >= MIN_COSINE


def test_parity_with_pytorch_on_every_text(encoder):
    got = encoder.embed(list(PARITY_TEXTS))
    cosine = np.sum(got.astype(np.float64) * reference_embeddings(list(PARITY_TEXTS)), axis=1)
    worst = int(np.argmin(cosine))
    assert cosine.min() >= MIN_COSINE, f"{PARITY_TEXTS[worst]!r}: cosine {cosine[worst]:.5f}"


def test_unit_norm_and_shape(encoder):
    got = encoder.embed(["warm", "vintage radio", "café"])
    assert got.shape == (3, 384) and got.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert encoder.embed("warm").shape == (1, 384)
    assert encoder.embed([]).shape == (0, 384)


def test_batch_equals_one_by_one(encoder):
    texts = ["warm", "a very long phrase about an old telephone in the next room", "glassy", "less harsh"]
    batch = encoder.embed(texts)
    single = np.concatenate([encoder.embed(t) for t in texts])
    np.testing.assert_allclose(batch, single, atol=1e-5)


def test_long_text_is_truncated(encoder):
    long_text = " ".join(["warm bright airy sound"] * 200)  # ~800 tokens
    assert len(encoder.tokenizer.encode(long_text).ids) == encoder.max_tokens
    got = encoder.embed(long_text)
    assert np.all(np.isfinite(got))
    assert float(got[0] @ reference_embeddings([long_text])[0]) >= MIN_COSINE


@pytest.mark.parametrize("bad, message", [("", "empty or blank"), ("   ", "empty or blank"),
                                          (42, "should be a str"), (["warm", None], "text 1 should be a str")])
def test_bad_inputs(encoder, bad, message):
    with pytest.raises((ValueError, TypeError), match=message):
        encoder.embed(bad)


def test_runs_without_torch(exported):
    folder, entry = exported
    result = run_without_torch(
        "from semeq_rt.text import TextEncoder\n"
        f"encoder = TextEncoder({str(folder / entry['file'])!r}, {str(folder / entry['tokenizer'])!r}, "
        f"max_tokens={entry['max_tokens']})\n"
        "print(list(encoder.embed(['glassy']).shape))")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [1, 384]


def test_semantic_neighbours(encoder):
    e = dict(zip(["bright", "brighter", "dark", "warm", "warmth", "cold"],
                 encoder.embed(["bright", "brighter", "dark", "warm", "warmth", "cold"])))
    assert e["brighter"] @ e["bright"] > e["brighter"] @ e["dark"]
    assert e["warmth"] @ e["warm"] > e["warmth"] @ e["cold"]
