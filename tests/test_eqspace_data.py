"""EQ-space data: loaders on the real files, vocabulary, splits, and the shared curve representation."""
from collections import Counter

import numpy as np
import pytest

from semeq_rt import eqdef
from semeq_train.data_paths import data_file, sha256_file
from semeq_train.eqspace import curves as eqcurves
from semeq_train.eqspace.data import (AUDEALIZE_FILE, SAFE_FILE, SOCIALFX_FILE, EXCLUDED, SPLITS, build_corpus,
                                      load_audealize, load_safe, load_socialfx)
from semeq_rt.words import normalise


@pytest.fixture(scope="module")
def corpus():
    return build_corpus()


def test_safe_loader_reads_the_distributed_file():
    raw = load_safe(data_file(SAFE_FILE), deduplicate=False)
    assert len(raw.text) == 1700
    assert len(np.unique(raw.user)) == 148
    counts = Counter(t.strip().lower() for t in raw.text)
    assert (counts["warm"], counts["bright"], counts["test"]) == (532, 504, 181)
    assert np.all(raw.params >= eqdef.PARAM_LOW) and np.all(raw.params <= eqdef.PARAM_HIGH)
    deduplicated = load_safe(data_file(SAFE_FILE))
    assert 1600 < len(deduplicated.text) < 1700


def test_safe_peaks_are_sorted_without_changing_the_response():
    raw = load_safe(data_file(SAFE_FILE), deduplicate=False)
    freqs = raw.params[:, [3, 6, 9]]
    assert np.all(np.diff(freqs, axis=1) >= 0)
    import csv
    with open(data_file(SAFE_FILE), newline="") as f:
        original = np.array([[float(v) for v in row[5:18]] for row in csv.reader(f)])
    original = np.clip(original, eqdef.PARAM_LOW, eqdef.PARAM_HIGH)
    assert np.any(np.diff(original[:, [3, 6, 9]], axis=1) < 0)  # the file's peaks are not ordered
    np.testing.assert_allclose(eqcurves.safe_curves(raw.params), eqcurves.safe_curves(original), atol=1e-9)


def test_socialfx_loader_handles_the_extra_language_field():
    everything = load_socialfx(data_file(SOCIALFX_FILE), language=None, deduplicate=False)
    assert everything.weights.shape == (1595, 40)
    assert Counter(everything.language) == {"English": 918, "Español": 677}
    english = load_socialfx(data_file(SOCIALFX_FILE), deduplicate=False)
    assert Counter(t.strip().lower() for t in english.text)["warm"] == 64


def test_socialfx_contributions_average_to_the_audealize_aggregates():
    """Cross-check: the per-word means of the contributions are Audealize's per-word curves."""
    audealize = load_audealize(data_file(AUDEALIZE_FILE))
    sfx = load_socialfx(data_file(SOCIALFX_FILE), deduplicate=False)
    words = np.array([t.strip().lower() for t in sfx.text])
    for word in ("warm", "cold", "soft"):
        r = np.corrcoef(sfx.weights[words == word].mean(0), audealize[word]["settings"])[0, 1]
        assert r > 0.99, word


@pytest.mark.parametrize("text, term", [
    ("Warm", "warm"), (" warmth ", "warm"), ("Brighter", "bright"), ("brght", "bright"), ("clarity", "clear"),
    ("air", "airy"), ("test", None), ("test1", None), ("default", None), ("re27", None), ("drum 1", None),
    ("guitar", None), ("warm and present", None), ("toppy, thick", None),
])
def test_vocabulary_normalisation(text, term):
    assert normalise(text) == term


def test_kept_terms(corpus):
    assert len(corpus.terms) >= 30
    for name in corpus.terms:
        assert sum(corpus.term_counts[name].values()) >= 5
        assert name == normalise(name)
    assert {"warm", "bright"} <= set(corpus.terms)


def test_safe_split_is_grouped_by_user_and_near_its_shares(corpus):
    safe = corpus.source == 0
    users = [set(corpus.group[safe & (corpus.split == i)]) for i in range(len(SPLITS))]
    assert not (users[0] & users[1] or users[0] & users[2] or users[1] & users[2])
    shares = np.bincount(corpus.split[safe], minlength=3) / safe.sum()
    np.testing.assert_allclose(shares, [0.7, 0.1, 0.2], atol=0.03)
    warm, bright = corpus.terms.index("warm"), corpus.terms.index("bright")
    test = safe & (corpus.split == 2)
    assert (corpus.term[test] == warm).sum() >= 30 and (corpus.term[test] == bright).sum() >= 30


def test_cross_validation_folds_cover_every_user_once():
    tested = []
    for k in range(5):
        c = build_corpus(cv_fold=(k, 5))
        safe = c.source == 0
        fold_users = set(c.group[safe & (c.split == 2)])
        assert not fold_users & set(c.group[safe & (c.split != 2)])
        tested.append(fold_users)
    assert sum(len(u) for u in tested) == len(set().union(*tested)) == 148


def test_selection_folds_leave_the_standard_test_users_out(corpus):
    standard_test = set(corpus.group[(corpus.source == 0) & (corpus.split == 2)])
    tested = []
    for k in range(5):
        c = build_corpus(cv_fold=(k, 5), exclude_test_users=True)
        safe = c.source == 0
        assert set(c.group[safe & (c.split == EXCLUDED)]) == standard_test
        assert not standard_test & set(c.group[safe & (c.split != EXCLUDED)])
        fold_users = set(c.group[safe & (c.split == 2)])
        assert not fold_users & set(c.group[safe & (c.split != 2)])
        tested.append(fold_users)
    assert len(set().union(*tested)) == sum(len(u) for u in tested) == 148 - len(standard_test)


def test_socialfx_split_holds_out_every_kept_term(corpus):
    sfx = corpus.source == 1
    for k, name in enumerate(corpus.terms):
        if corpus.term_counts[name]["socialfx"] >= 5:
            assert ((corpus.term == k) & sfx & (corpus.split == 2)).any(), name


def test_graphic_eq_curves_are_sums_of_eqdef_peaks():
    gains = np.random.default_rng(0).normal(0, 3, (2, 40))
    expected = [eqdef.bands_response_db([("peak", f, g, eqcurves.AUDEALIZE_Q)
                                         for f, g in zip(eqcurves.AUDEALIZE_CENTRES, row)],
                                        eqdef.FREQ_GRID, eqdef.REFERENCE_SAMPLE_RATE) for row in gains]
    np.testing.assert_allclose(eqcurves.graphic_eq_curves(gains), expected, atol=1e-9)


def test_socialfx_db_scale_is_the_best_match_to_safe(corpus):
    words = ("warm", "bright")
    safe_means, sfx_means = [], []
    sfx = load_socialfx(data_file(SOCIALFX_FILE))
    sfx_words = np.array([normalise(t) or "" for t in sfx.text])
    sfx_train = corpus.split[corpus.source == 1] == 0  # corpus rows follow the loader's order
    for w in words:
        k = corpus.terms.index(w)
        safe_means.append(corpus.curves[(corpus.source == 0) & (corpus.term == k) & (corpus.split == 0)].mean(0))
        sfx_means.append(sfx.weights[sfx_train & (sfx_words == w)].mean(0))

    def error(scale):
        rendered = eqcurves.remove_level(eqcurves.graphic_eq_curves(scale * np.array(sfx_means)))
        return ((rendered - eqcurves.remove_level(np.array(safe_means, dtype=np.float64))) ** 2).sum()

    s = corpus.socialfx_db_scale
    assert 0.3 < s < 10
    assert error(s) < error(0.8 * s) and error(s) < error(1.25 * s)


def test_corpus_records_the_hash_of_each_file(corpus):
    assert corpus.data_sha256 == {SAFE_FILE: sha256_file(data_file(SAFE_FILE)),
                                  SOCIALFX_FILE: sha256_file(data_file(SOCIALFX_FILE))}


def test_missing_data_directory_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="SEMEQ_DATA"):
        build_corpus(tmp_path / "nowhere")


def test_wrong_file_formats_are_clear_errors(tmp_path):
    with_header = tmp_path / "safe_with_header.csv"
    with_header.write_text("id,descriptor,user\n1,warm,u1\n")
    with pytest.raises(ValueError, match="expected 25 columns"):
        load_safe(with_header)
    repaired = tmp_path / "socialfx_43_fields.csv"
    header = ",".join(["descriptor", "audio_id", "ratings_consistency"] + [f"b{i}" for i in range(40)])
    repaired.write_text(header + "\n" + ",".join(["warm", "8", "0.5"] + ["0"] * 40) + "\n")
    with pytest.raises(ValueError, match="44-field rows"):
        load_socialfx(repaired)
