"""The open vocabulary: known words, inflections, phrases placed from their text in every mode, refusals,
the shipped text encoder against PyTorch, and the vocabulary as training builds it."""
import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from no_torch import run_without_torch

import semeq_rt
from semeq_rt import eqdef, vocabulary
from semeq_rt.bundle import DEFAULT_BUNDLE_DIR, MANIFEST_NAME, BundleError, load_bundle
from semeq_rt.semantics import blend_latent, get_bundle, resolve_blend, term_point, terms

RATE = 48000


@pytest.fixture(scope="module")
def bundle():
    return get_bundle()


@pytest.fixture(scope="module")
def noise():
    return (0.1 * np.random.default_rng(0).standard_normal((2, 3 * RATE))).astype(np.float32)


def _tilt_db(bundle, latent):
    """The decoded EQ's 8 kHz minus its 100 Hz gain."""
    _, curve = bundle.decode(latent)
    return float(np.interp(8000.0, eqdef.FREQ_GRID, curve) - np.interp(100.0, eqdef.FREQ_GRID, curve))


def test_known_words_are_the_bundles_terms_with_their_support(bundle):
    names = terms(bundle)
    assert len(names) >= 100
    scored = bundle.manifest["term_scorer"]["terms"]
    assert set(scored) <= set(names)  # every word of the EQ space's scorer stays a known word
    counts = [bundle.terms[n].count for n in names]
    assert counts == sorted(counts, reverse=True) and min(counts) >= bundle.text["training"]["min_support"]
    for name in ("warm", "bright"):
        term = bundle.terms[name]
        assert term.count == term.counts["safe"] + max(term.counts["socialfx"], term.counts["audealize"])
        assert 0 < term.agreement < 1


def test_known_words_use_their_own_point_and_never_the_text_encoder():
    fresh = load_bundle()
    for name in terms(fresh):
        assert resolve_blend(name.upper(), fresh) == {name: 1.0}
        assert np.array_equal(blend_latent({name: 1.0}, fresh), fresh.terms[name].centroid)
    assert getattr(fresh, "_text_placer", None) is None


@pytest.mark.parametrize("typed, known", [("brighter", "bright"), ("Warmth", "warm"), ("harshness", "harsh"),
                                           ("softer", "soft"), ("  BRIGHTEST ", "bright")])
def test_inflections_resolve_to_the_known_word(bundle, typed, known, noise):
    assert resolve_blend(typed, bundle) == {known: 1.0}
    a = semeq_rt.Processor(typed, mode="static", sample_rate=RATE).process(noise)
    b = semeq_rt.Processor(known, mode="static", sample_rate=RATE).process(noise)
    assert np.array_equal(a, b)


@pytest.mark.parametrize("word", ["banana", "tuesday"])
def test_a_word_with_no_sonic_sense_is_refused_naming_the_nearest_known_words(bundle, word):
    with pytest.raises(vocabulary.NotASoundError, match=r"too far from every sound word.*nearest known words: \w+"):
        resolve_blend(word, bundle)
    with pytest.raises(ValueError, match="too far"):
        semeq_rt.Processor(word)


def test_phrases_move_the_eq_the_way_they_say(bundle):
    placed = {t: term_point(next(iter(resolve_blend(t, bundle))), bundle)[0]
              for t in ("deep bass", "thin and tinny")}
    assert _tilt_db(bundle, placed["deep bass"]) < -1.0
    assert _tilt_db(bundle, placed["thin and tinny"]) > 1.0


@pytest.mark.parametrize("mode", ["adaptive", "static"])
def test_a_phrase_and_a_blend_with_it_work_in_every_mode(bundle, mode, noise):
    p = semeq_rt.Processor("Vintage  Radio", mode=mode, sample_rate=RATE)
    assert p.term == {"vintage radio": 1.0}
    y = p.process(noise)
    assert np.isfinite(y).all() and not np.allclose(y, noise, atol=1e-3)
    placed = vocabulary.placer(bundle).place("vintage radio")
    assert 0.5 <= placed.confidence <= 1.0 and placed.neighbours[0][0] == "vintage"
    blend = semeq_rt.Processor({"warm": 0.5, "glassy": 0.5}, mode=mode, sample_rate=RATE)
    expected = 0.5 * bundle.terms["warm"].centroid + 0.5 * term_point("glassy", bundle)[0]
    assert np.allclose(blend_latent(blend.term, bundle), expected, atol=1e-6)
    assert np.isfinite(blend.process(noise)).all()
    p.set_term("underwater")
    assert p.term == {"underwater": 1.0}


def test_each_text_is_encoded_once(bundle):
    placer = vocabulary.placer(bundle)
    calls = []
    embed = placer.encoder.embed
    placer.encoder.embed = lambda texts: calls.append(texts) or embed(texts)
    try:
        for _ in range(3):
            resolve_blend("silky", bundle)
            semeq_rt.Processor("silky", mode="static")
    finally:
        placer.encoder.embed = embed
    assert len(calls) <= 1  # 0 when an earlier test already placed it


def test_a_pasted_essay_is_refused_without_echoing_it(bundle):
    with pytest.raises(ValueError, match="at most 60 characters") as err:
        resolve_blend("warm " * 10000, bundle)
    assert len(str(err.value)) < 200


def test_the_cli_processes_and_plots_a_phrase(tmp_path, noise):
    import soundfile as sf

    from semeq_rt.cli import main

    src = tmp_path / "in.wav"
    sf.write(src, noise.T, RATE, subtype="FLOAT")
    assert main(["process", str(src), str(tmp_path / "out.wav"), "--term", "vintage radio", "--mode", "static"]) == 0
    out, _ = sf.read(tmp_path / "out.wav", dtype="float32")
    assert np.isfinite(out).all() and not np.allclose(out.T, noise, atol=1e-3)
    pytest.importorskip("matplotlib")
    assert main(["plot", "underwater", str(tmp_path / "u.png")]) == 0


def test_the_shipped_text_encoder_matches_pytorch():
    pytest.importorskip("sentence_transformers")
    from semeq_export.text_model import MIN_COSINE, PARITY_TEXTS
    from semeq_train.vocabulary.text_reference import reference_embeddings

    placer = vocabulary.placer(get_bundle())
    got = placer.encoder.embed(list(PARITY_TEXTS)).astype(np.float64)
    cosine = np.sum(got * reference_embeddings(PARITY_TEXTS), axis=1)
    assert cosine.min() >= MIN_COSINE, PARITY_TEXTS[int(np.argmin(cosine))]


def test_a_bundle_without_the_text_section_has_a_closed_vocabulary(tmp_path):
    folder = tmp_path / "closed"
    shutil.copytree(DEFAULT_BUNDLE_DIR, folder)
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    del manifest["text"]
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest))
    closed = load_bundle(folder)
    assert resolve_blend("brighter", closed) == {"bright": 1.0}
    with pytest.raises(ValueError, match="unknown term 'glassy'"):
        resolve_blend("glassy", closed)


@pytest.mark.parametrize("breakage, field", [
    (lambda m: m["text"].update(temperature=0), "text.temperature"),
    (lambda m: m["text"].update(template="sound"), "text.template"),
    (lambda m: m["text"]["neighbours"]["words"].append("nowhere"), "text.neighbours.words"),
    (lambda m: m["text"]["neighbours"]["others"][0].update(centroid=[0.0]), "text.neighbours.others[0].centroid"),
    (lambda m: m["text"]["confidence"].update(slope=float("nan")), "text.confidence.slope"),
])
def test_the_text_section_is_checked_at_load(tmp_path, breakage, field):
    folder = tmp_path / "broken"
    shutil.copytree(DEFAULT_BUNDLE_DIR, folder)
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    breakage(manifest)
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=field.replace("[", r"\[").replace("]", r"\]")):
        load_bundle(folder)


def test_a_changed_neighbours_file_fails_its_hash(tmp_path):
    folder = tmp_path / "changed"
    shutil.copytree(DEFAULT_BUNDLE_DIR, folder)
    np.save(folder / "text_neighbours.npy", np.zeros((3, 384), np.float32))
    with pytest.raises(BundleError, match="SHA-256"):
        load_bundle(folder)


def test_phrases_are_placed_where_torch_cannot_be_imported():
    result = run_without_torch("""
        import semeq_rt
        p = semeq_rt.Processor("vintage radio", mode="static")
        assert p.term == {"vintage radio": 1.0}
        print("ok")
    """)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_training_keeps_every_scored_term_known_with_its_point(bundle):
    pytest.importorskip("sentence_transformers")
    from semeq_train.vocabulary.build import build_vocabulary
    from semeq_train.vocabulary.text_reference import reference_embeddings

    built = build_vocabulary(bundle, reference_embeddings)
    entries = {w["name"]: w for w in built["words"]}
    for name in bundle.manifest["term_scorer"]["terms"]:
        assert entries[name]["known"]
        assert np.array_equal(np.float32(entries[name]["centroid"]), bundle.terms[name].centroid)
    assert [w["name"] for w in built["words"] if w["known"]] == terms(bundle)
    cv = built["metrics"]["cross_validation"]["median"]
    # text placement beats both baselines on held-out words (docs/vocabulary.md)
    assert cv["text"]["r"] > cv["mean_curve"]["r"] and cv["text"]["r"] > cv["spelling"]["r"]


def test_without_the_text_encoder_known_words_work_and_other_words_say_how_to_get_it(tmp_path):
    env = dict(os.environ, SEMEQ_MODELS_DIR=str(tmp_path / "none"))
    code = textwrap.dedent("""
        import semeq_rt
        from semeq_rt.semantics import resolve_blend
        assert resolve_blend("brighter") == {"bright": 1.0}
        semeq_rt.Processor("warm", mode="static")
        try:
            resolve_blend("wram")
            raise AssertionError("a typo was accepted")
        except ValueError as e:
            assert "did you mean 'warm'" in str(e)
        try:
            semeq_rt.Processor("vintage radio")
        except RuntimeError as e:
            assert "semeq-export text-encoder" in str(e), e
            print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_a_text_encoder_that_is_not_the_bundles_is_refused(tmp_path, monkeypatch):
    from semeq_rt.text import cached_name

    monkeypatch.setenv("SEMEQ_MODELS_DIR", str(tmp_path))
    fresh = load_bundle()
    shutil.copy(DEFAULT_BUNDLE_DIR / "eq_encoder.onnx", tmp_path / cached_name(fresh.text["encoder"]))
    with pytest.raises(ValueError, match="is not a text encoder semeq can run"):
        resolve_blend("vintage radio", fresh)
