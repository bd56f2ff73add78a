"""The built-in UCR/UEA data sets from the aeon wheel: official sizes, and the published 1NN-ED accuracy."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from rnnscope.data import DataFormatError, list_datasets, load_dataset, load_directory, ucr
from rnnscope.data.formats import read_split

needs_aeon = pytest.mark.skipif(
    importlib.util.find_spec("aeon") is None, reason='the shipped data sets need: pip install "rnnscope[ucr]"'
)

# name: (n_train, n_test, length min, length max, channels, classes); UCR/UEA archive figures
# (../shared/reference/published.md).
OFFICIAL = {
    "GunPoint": (50, 150, 150, 150, 1, 2),
    "ItalyPowerDemand": (67, 1029, 24, 24, 1, 2),
    "ArrowHead": (36, 175, 251, 251, 1, 3),
    "OSULeaf": (200, 242, 427, 427, 1, 6),
    "ACSF1": (100, 100, 1460, 1460, 1, 10),
    "PickupGestureWiimoteZ": (50, 50, 29, 361, 1, 10),
    "BasicMotions": (40, 40, 100, 100, 6, 4),
    "JapaneseVowels": (270, 370, 7, 29, 12, 9),
}


@needs_aeon
def test_list_datasets_matches_the_archive():
    rows = {r["name"]: r for r in list_datasets()}
    assert list(rows) == list(OFFICIAL)
    for name, expected in OFFICIAL.items():
        r = rows[name]
        got = (r["n_train"], r["n_test"], r["length_min"], r["length_max"], r["channels"], r["classes"])
        assert got == expected, name


@needs_aeon
@pytest.mark.parametrize("name", list(OFFICIAL))
def test_each_dataset_loads_with_official_sizes(name):
    n_train, n_test, t_min, t_max, channels, classes = OFFICIAL[name]
    b = load_dataset(name)
    assert (len(b.train), len(b.test), b.input_size, b.n_classes) == (n_train, n_test, channels, classes)
    lengths = np.concatenate([b.train.lengths, b.test.lengths])
    assert (lengths.min(), lengths.max()) == (t_min, t_max)
    assert b.train.seq_len == b.test.seq_len == t_max
    assert np.isfinite(b.train.x).all() and np.isfinite(b.test.x).all()
    assert set(np.unique(b.train.y)) == set(range(classes))
    assert b.source["name"] == name and b.source["normalize"] == "channel"
    json.dumps(b.source)


@needs_aeon
def test_variable_length_padding_is_zero():
    b = load_dataset("PickupGestureWiimoteZ", normalize="series")
    assert b.train.variable_length
    for split in (b.train, b.test):
        past_end = np.arange(split.seq_len)[None, :] >= split.lengths[:, None]  # (N, T)
        assert not split.x[past_end].any()
    jv = load_dataset("JapaneseVowels")
    assert jv.train.lengths.min() >= 7 and jv.test.lengths.max() == 29


def _one_nn_euclidean(b) -> float:
    a, q = b.train.x.reshape(len(b.train), -1), b.test.x.reshape(len(b.test), -1)
    a, q = a.astype(np.float64), q.astype(np.float64)
    d = (q**2).sum(1)[:, None] - 2 * q @ a.T + (a**2).sum(1)[None, :]  # (N_test, N_train)
    return float((b.train.y[d.argmin(1)] == b.test.y).mean())


@needs_aeon
@pytest.mark.parametrize("name, published", [("GunPoint", 0.913), ("ItalyPowerDemand", 0.955)])
def test_one_nn_euclidean_reproduces_the_published_accuracy(name, published):
    # UCR archive 2018 DataSummary.csv, 1NN-ED column: reading the official split right reproduces it.
    assert round(_one_nn_euclidean(load_dataset(name, normalize="none")), 3) == published
    assert round(_one_nn_euclidean(load_dataset(name, normalize="channel")), 3) == published


@needs_aeon
def test_shipped_tsv_equals_shipped_ts_and_directory_loading():
    folder = ucr._data_root() / "GunPoint"  # holds GunPoint_TRAIN.ts, _TEST.ts and a lone GunPoint_TRAIN.tsv
    ts, tsv = read_split(folder / "GunPoint_TRAIN.ts"), read_split(folder / "GunPoint_TRAIN.tsv")
    assert ts.labels == tsv.labels
    assert all(np.array_equal(a, b) for a, b in zip(ts.series, tsv.series))
    from_dir, built_in = load_directory(folder), load_dataset("gunpoint")  # names are case-insensitive
    np.testing.assert_array_equal(from_dir.train.x, built_in.train.x)
    assert from_dir.source["format"] == "ts"
    with pytest.raises(DataFormatError, match="missing TEST"):
        load_directory(folder / "GunPoint_TRAIN.tsv")


@needs_aeon
def test_long_series_can_be_shortened():
    b = load_dataset("ACSF1", downsample=4, truncate=300)
    assert b.train.seq_len == 300 and b.source["downsample"] == 4 and b.source["truncate"] == 300
    assert load_dataset("ACSF1", downsample=4).train.seq_len == 365


def test_unknown_name_lists_the_choices():
    with pytest.raises(ValueError, match="GunPoint.*JapaneseVowels"):
        load_dataset("NoSuchSet")


def test_missing_aeon_says_how_to_install(monkeypatch):
    monkeypatch.setattr(ucr, "_AEON_PACKAGE", "aeon_is_not_installed_here")
    with pytest.raises(ImportError, match=r'pip install "rnnscope\[ucr\]"'):
        load_dataset("GunPoint")
    with pytest.raises(ImportError, match="rnnscope"):
        list_datasets()
