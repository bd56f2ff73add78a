"""User files: the four formats, preparation (labels, normalisation, missing values, length) and bad input."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnscope.data import DataFormatError, load_directory
from rnnscope.data.formats import RawSplit, parse_npz, parse_ts, parse_tsv, parse_txt
from rnnscope.data.prepare import prepare
from rnnscope.rundir.runfacts import preprocessing

# ---------------------------------------------------------------- writers (test-side, deliberately naive)


def _num(v: float) -> str:
    return "NaN" if np.isnan(v) else repr(float(v))


def write_ts(path, series, labels, header=None):
    """series: list of (T_i, C) arrays; NaN written as '?'."""
    c = series[0].shape[1]
    lengths = {len(s) for s in series}
    head = (
        header
        if header is not None
        else [
            "# made by a test",
            "@problemName Toy",
            "@timeStamps false",
            f"@missing {'true' if any(np.isnan(s).any() for s in series) else 'false'}",
            f"@univariate {'true' if c == 1 else 'false'}",
            *([f"@dimensions {c}"] if c > 1 else []),
            f"@equalLength {'true' if len(lengths) == 1 else 'false'}",
            *([f"@seriesLength {lengths.pop()}"] if len(lengths) == 1 else []),
            f"@classLabel true {' '.join(sorted(set(labels)))}",
            "@data",
        ]
    )
    rows = [
        ":".join(",".join("?" if np.isnan(v) else repr(float(v)) for v in s[:, k]) for k in range(c))
        + f":{y}"
        for s, y in zip(series, labels)
    ]
    path.write_text("\n".join(head + rows) + "\n")


def _padded(series):
    t = max(len(s) for s in series)
    out = np.full((len(series), t), np.nan)
    for i, s in enumerate(series):
        out[i, : len(s)] = s[:, 0]
    return out


def write_tsv(path, series, labels):
    rows = zip(labels, _padded(series))
    path.write_text("".join(f"{y}\t" + "\t".join(map(_num, row)) + "\n" for y, row in rows))


def write_txt(path, series, labels, sep=","):
    rows = zip(labels, _padded(series))
    path.write_text("".join(f"{y}{sep}" + sep.join(map(_num, row)) + "\n" for y, row in rows))


def write_npz(path, train, test):
    arrays = {}
    for split, (series, labels) in (("train", train), ("test", test)):
        t = max(len(s) for s in series)
        x = np.full((len(series), t, series[0].shape[1]), np.nan)
        for i, s in enumerate(series):
            x[i, : len(s)] = s
        arrays[f"X_{split}"], arrays[f"y_{split}"] = x, np.array(labels)
    np.savez(path, **arrays)


def write_pair(folder, fmt, train, test, name="Toy"):
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "npz":
        write_npz(folder / f"{name}.npz", train, test)
        return folder
    writer = {"ts": write_ts, "tsv": write_tsv, "txt": write_txt}[fmt]
    writer(folder / f"{name}_TRAIN.{fmt}", *train)
    writer(folder / f"{name}_TEST.{fmt}", *test)
    return folder


def toy(rng, n, lengths=(5, 9), c=1, labels=("3", "10", "2")):
    series = [rng.normal(size=(int(rng.integers(*lengths)), c)).round(3) for _ in range(n)]
    return series, [labels[i % len(labels)] for i in range(n)]


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("normalize", ["none", "series", "channel"])
def test_same_data_in_every_format_loads_identically(tmp_path, normalize):
    rng = np.random.default_rng(0)
    train, test = toy(rng, 9), toy(rng, 6)
    bundles = {
        fmt: load_directory(write_pair(tmp_path / fmt, fmt, train, test), normalize=normalize)
        for fmt in ("ts", "tsv", "txt", "npz")
    }
    ref = bundles["ts"]
    assert ref.class_names == ["2", "3", "10"]  # natural numeric order
    assert ref.train.variable_length and ref.train.seq_len == ref.test.seq_len
    for fmt, b in bundles.items():
        assert b.source["format"] == fmt
        assert b.class_names == ref.class_names
        for a, r in ((b.train, ref.train), (b.test, ref.test)):
            np.testing.assert_array_equal(a.x, r.x)
            np.testing.assert_array_equal(a.y, r.y)
            np.testing.assert_array_equal(a.lengths, r.lengths)


def test_round_trip_values_and_padding(tmp_path):
    rng = np.random.default_rng(1)
    train, test = toy(rng, 6, c=3), toy(rng, 4, c=3)
    for fmt in ("ts", "npz"):
        b = load_directory(write_pair(tmp_path / fmt, fmt, train, test), normalize="none")
        order = {name: i for i, name in enumerate(b.class_names)}
        for i, (s, y) in enumerate(zip(*train)):
            assert b.train.lengths[i] == len(s) and b.train.y[i] == order[y]
            np.testing.assert_array_equal(b.train.x[i, : len(s)], s.astype(np.float32))
            assert not b.train.x[i, len(s) :].any()  # zero past the length
        assert b.train.x.dtype == np.float32 and b.train.y.dtype == np.int64 and b.input_size == 3


def test_txt_whitespace_and_single_file_path(tmp_path):
    rng = np.random.default_rng(2)
    train, test = toy(rng, 4, lengths=(6, 7)), toy(rng, 3, lengths=(6, 7))
    write_txt(tmp_path / "W_TRAIN.txt", *train, sep="  ")
    write_txt(tmp_path / "W_TEST.txt", *test, sep=" ")
    a = load_directory(tmp_path / "W_TRAIN.txt")
    b = load_directory(tmp_path)
    np.testing.assert_array_equal(a.train.x, b.train.x)
    assert a.source["name"] == "W" and a.source["format"] == "txt"


# ---------------------------------------------------------------- labels


def test_label_mapping_numeric_strings_and_saved(tmp_path):
    x = [np.arange(4.0)[:, None] + i for i in range(4)]
    write_tsv(tmp_path / "A_TRAIN.tsv", x, ["1.0", "10", "2", "1"])
    write_tsv(tmp_path / "A_TEST.tsv", x[:2], ["2", "1.0000000e+00"])
    b = load_directory(tmp_path)
    assert b.class_names == ["1", "2", "10"] and b.n_classes == 3
    assert b.train.y.tolist() == [0, 2, 1, 0] and b.test.y.tolist() == [1, 0]
    assert b.source["label_mapping"] == {"1": 0, "2": 1, "10": 2}
    json.dumps(b.source)  # goes into config.json as is
    (tmp_path / "s").mkdir()
    write_ts(tmp_path / "s" / "S_TRAIN.ts", x, ["walk", "run", "b", "run"])
    write_ts(tmp_path / "s" / "S_TEST.ts", x[:1], ["walk"])
    assert load_directory(tmp_path / "s").class_names == ["b", "run", "walk"]


# ---------------------------------------------------------------- normalisation


def _raw(series, labels, path="mem"):
    return RawSplit(list(series), list(labels), [f"line {i + 1}" for i in range(len(series))], path)


def test_channel_normalisation_uses_train_statistics_only():
    rng = np.random.default_rng(3)
    train = [rng.normal([5.0, -2.0], [3.0, 0.5], size=(int(rng.integers(4, 9)), 2)) for _ in range(10)]
    test = [rng.normal(100.0, 50.0, size=(6, 2)) for _ in range(5)]
    labels = ["a", "b"] * 5
    b = prepare(_raw(train, labels), _raw(test, labels[:5]), normalize="channel")
    steps = np.concatenate(train)
    mean, std = steps.mean(0), steps.std(0)
    valid = np.concatenate([b.train.x[i, :n] for i, n in enumerate(b.train.lengths)])
    np.testing.assert_allclose(valid.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(valid.std(0), 1, atol=1e-5)
    np.testing.assert_allclose(b.test.x[0, :6], (test[0] - mean) / std, rtol=1e-5)
    np.testing.assert_allclose(b.source["channel_mean"], mean)
    other = prepare(_raw(train, labels), _raw([t * 7 for t in test], labels[:5]), normalize="channel")
    np.testing.assert_array_equal(other.train.x, b.train.x)  # test data never moves train statistics


def test_series_normalisation_and_constant_series():
    series = [np.array([[1.0], [2.0], [3.0]]), np.array([[4.0], [4.0]]), np.array([[10.0], [30.0]])]
    b = prepare(_raw(series, "abb"), _raw(series, "abb"), normalize="series")
    np.testing.assert_allclose(b.train.x[0, :, 0], [-1.2247449, 0, 1.2247449], rtol=1e-6)
    np.testing.assert_array_equal(b.train.x[1, :, 0], [0, 0, 0])  # constant: centred only; padding stays 0
    np.testing.assert_allclose(b.train.x[2, :2, 0], [-1, 1])


# ---------------------------------------------------------------- missing values, truncation, downsampling


def test_missing_values_interpolated_and_ends_trimmed():
    nan = np.nan
    x = np.array([[nan, nan], [nan, 1.0], [2.0, nan], [nan, 5.0], [6.0, nan], [nan, nan]])  # (6, 2)
    ok = np.array([[0.0, 0.0], [1.0, 1.0]])
    b = prepare(_raw([x, ok], "ab"), _raw([ok], "a"), normalize="none")
    assert b.train.lengths.tolist() == [4, 2]  # leading and trailing all-missing steps cut
    # nearest observed value at the ends of a channel, linear inside
    np.testing.assert_allclose(b.train.x[0], [[2, 1], [2, 3], [4, 5], [6, 5]])
    assert b.source["missing"] == "interpolate" and b.source["missing_filled"] == {"train": 4, "test": 0}
    assert "; 4 missing values filled (interpolate)" in preprocessing({"data_source": b.source, "data": {}})


def test_trailing_nan_padding_is_fine_even_when_missing_values_are_errors(tmp_path):
    series = [np.arange(3.0)[:, None], np.arange(5.0)[:, None]]
    write_tsv(tmp_path / "P_TRAIN.tsv", series, ["1", "2"])
    write_tsv(tmp_path / "P_TEST.tsv", series, ["1", "2"])
    b = load_directory(tmp_path, missing="error")
    assert b.train.lengths.tolist() == [3, 5]


def test_truncate_and_downsample_recorded(tmp_path):
    series = [np.arange(10.0)[:, None], np.arange(7.0)[:, None] + 100]
    b = prepare(_raw(series, "ab"), _raw(series, "ab"), normalize="none", downsample=3, truncate=3)
    np.testing.assert_array_equal(b.train.x[0, :, 0], [0, 3, 6])  # steps 0, 3, 6 (9 cut by truncate)
    np.testing.assert_array_equal(b.train.x[1, :, 0], [100, 103, 106])
    assert b.train.seq_len == 3 and b.source["downsample"] == 3 and b.source["truncate"] == 3
    b = prepare(_raw(series, "ab"), _raw(series, "ab"), normalize="none", downsample=4)
    assert b.train.lengths.tolist() == [3, 2]  # ceil(10/4), ceil(7/4)
    plain = prepare(_raw(series, "ab"), _raw(series, "ab"))
    assert plain.source["truncate"] is None and plain.source["downsample"] is None
    for bad in ({"truncate": 0}, {"downsample": 1.5}, {"normalize": "global"}, {"missing": "zero"}):
        with pytest.raises(ValueError):
            prepare(_raw(series, "ab"), _raw(series, "ab"), **bad)


# ---------------------------------------------------------------- pickled .npz


class _Payload:
    """Unpickling this creates the marker file: proof that a loader did unpickle."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickled_npz_is_refused_and_never_unpickled(tmp_path):
    marker = tmp_path / "unpickled.marker"
    obj = np.empty(2, dtype=object)
    obj[:] = [_Payload(marker), _Payload(marker)]
    path = tmp_path / "evil.npz"
    np.savez(path, X_train=obj, y_train=np.array([0, 1]), X_test=np.zeros((2, 3)), y_test=np.array([0, 1]))
    with zipfile.ZipFile(path) as z, z.open("X_train.npy") as f:  # the file really holds an object array
        np.lib.format.read_magic(f)
        assert np.lib.format.read_array_header_1_0(f)[2] == np.dtype(object)
    with pytest.raises(DataFormatError, match="pickled") as err:
        load_directory(path)
    assert "evil.npz" in str(err.value) and "X_train" in str(err.value)
    assert not marker.exists()


# ---------------------------------------------------------------- bad input: one line naming file and line

GOOD = "1\t0.5\t0.25\t1.5\n2\t1.0\t2.0\t3.0\n"
TS_HEAD = "@problemName T\n@univariate true\n@classLabel true 1 2\n@data\n"
TS_OK = TS_HEAD + "0.5,0.25,1.5:1\n1.0,2.0,3.0:2\n"
ARR = np.zeros((2, 3))


def _npz(**over):
    arrays = {"X_train": ARR, "y_train": np.array([1, 2]), "X_test": ARR, "y_test": np.array([1, 2])}
    arrays.update(over)
    buf = io.BytesIO()
    np.savez(buf, **{k: v for k, v in arrays.items() if v is not None})
    return buf.getvalue()


BAD = [  # (case, {file: content}, load_directory kwargs, file named in the message, phrase, line)
    ("missing TEST", {"D_TRAIN.tsv": GOOD}, {}, "D_TEST.tsv", "missing TEST", None),
    ("empty file", {"D_TRAIN.tsv": "", "D_TEST.tsv": GOOD}, {}, "D_TRAIN.tsv", "empty", None),
    ("empty .ts", {"D_TRAIN.ts": TS_OK, "D_TEST.ts": TS_HEAD}, {}, "D_TEST.ts", "empty", None),
    ("ragged .tsv", {"D_TRAIN.tsv": GOOD + "1\t3.0\n", "D_TEST.tsv": GOOD}, {}, "D_TRAIN.tsv", "ragged", 3),
    ("ragged .txt", {"D_TRAIN.txt": "1,2,3\n2,3\n", "D_TEST.txt": "1,2,3\n"}, {}, "D_TRAIN.txt", "ragged", 2),
    (
        "non-numeric .tsv",
        {"D_TRAIN.tsv": GOOD, "D_TEST.tsv": "1\t0.5\tabc\t1\n"},
        {},
        "D_TEST.tsv",
        "non-numeric",
        1,
    ),
    (
        "non-numeric .ts",
        {"D_TRAIN.ts": TS_OK.replace("0.25", "x1"), "D_TEST.ts": TS_OK},
        {},
        "D_TRAIN.ts",
        "non-numeric",
        5,
    ),
    (
        "no label column .tsv",
        {"D_TRAIN.tsv": "0.5\t0.25\t1.5\n-1.25\t1.0\t2.0\n", "D_TEST.tsv": GOOD},
        {},
        "D_TRAIN.tsv",
        "label column",
        1,
    ),
    (
        "no label .ts",
        {"D_TRAIN.ts": TS_OK + "1.0,2.0,3.0\n", "D_TEST.ts": TS_OK},
        {},
        "D_TRAIN.ts",
        "label",
        7,
    ),
    ("no label .npz", {"d.npz": _npz(y_train=None)}, {}, "d.npz", "missing label array", None),
    (
        "one class",
        {"D_TRAIN.tsv": GOOD.replace("2\t", "1\t"), "D_TEST.tsv": GOOD},
        {},
        "D_TRAIN.tsv",
        "one class",
        None,
    ),
    (
        "unseen test class",
        {"D_TRAIN.tsv": GOOD, "D_TEST.tsv": GOOD + "7\t1\t2\t3\n"},
        {},
        "D_TEST.tsv",
        "does not occur",
        3,
    ),
    (
        "channels differ .ts",
        {"D_TRAIN.ts": TS_OK, "D_TEST.ts": "@classLabel true 1 2\n@data\n1,2:3,4:1\n"},
        {},
        "D_TEST.ts",
        "channel",
        None,
    ),
    ("channels differ .npz", {"d.npz": _npz(X_test=np.zeros((2, 3, 2)))}, {}, "d.npz", "channel", None),
    (
        "ts @dimensions",
        {"D_TRAIN.ts": TS_OK.replace("@univariate true", "@dimensions 2"), "D_TEST.ts": TS_OK},
        {},
        "D_TRAIN.ts",
        "header says 2",
        5,
    ),
    (
        "ts @univariate",
        {"D_TRAIN.ts": TS_OK + "1,2:3,4:1\n", "D_TEST.ts": TS_OK},
        {},
        "D_TRAIN.ts",
        "header says 1",
        7,
    ),
    (
        "ts @seriesLength",
        {"D_TRAIN.ts": TS_OK.replace("@data", "@seriesLength 4\n@data"), "D_TEST.ts": TS_OK},
        {},
        "D_TRAIN.ts",
        "@seriesLength 4",
        6,
    ),
    (
        "ts @equalLength",
        {"D_TRAIN.ts": TS_OK.replace("@data", "@equalLength true\n@data") + "1,2:2\n", "D_TEST.ts": TS_OK},
        {},
        "D_TRAIN.ts",
        "@equalLength",
        8,
    ),
    (
        "ts @classLabel",
        {"D_TRAIN.ts": TS_OK + "1,2,3:9\n", "D_TEST.ts": TS_OK},
        {},
        "D_TRAIN.ts",
        "not listed in @classLabel",
        7,
    ),
    (
        "ts @missing",
        {
            "D_TRAIN.ts": TS_OK.replace("@data", "@missing false\n@data").replace("0.25", "?"),
            "D_TEST.ts": TS_OK,
        },
        {},
        "D_TRAIN.ts",
        "@missing false",
        6,
    ),
    (
        "ts @timeStamps",
        {"D_TRAIN.ts": "@timeStamps true\n" + TS_OK, "D_TEST.ts": TS_OK},
        {},
        "D_TRAIN.ts",
        "not supported",
        1,
    ),
    ("ts no @data", {"D_TRAIN.ts": "@problemName T\n", "D_TEST.ts": TS_OK}, {}, "D_TRAIN.ts", "@data", None),
    (
        "NaN not allowed",
        {"D_TRAIN.tsv": GOOD + "2\t1\tNaN\t3\n", "D_TEST.tsv": GOOD},
        {"missing": "error"},
        "D_TRAIN.tsv",
        "missing value at step 2",
        3,
    ),
    ("inf .tsv", {"D_TRAIN.tsv": GOOD, "D_TEST.tsv": "1\t0.5\t-inf\t1\n"}, {}, "D_TEST.tsv", "infinite", 1),
    (
        "inf .npz",
        {"d.npz": _npz(X_train=np.array([[0, 1, np.inf], [1, 2, 3]]))},
        {},
        "d.npz",
        "infinite",
        None,
    ),
    (
        "all missing",
        {"D_TRAIN.tsv": GOOD + "1\tNaN\tNaN\tNaN\n", "D_TEST.tsv": GOOD},
        {},
        "D_TRAIN.tsv",
        "no values",
        3,
    ),
    ("npz not a zip", {"d.npz": b"hello"}, {}, "d.npz", "not a .npz", None),
    ("npz empty", {"d.npz": b""}, {}, "d.npz", "empty", None),
    ("npz regression y", {"d.npz": _npz(y_train=np.array([0.5, 1.5]))}, {}, "d.npz", "not an integer", None),
    (
        "two data sets",
        {"A_TRAIN.tsv": GOOD, "A_TEST.tsv": GOOD, "B_TRAIN.tsv": GOOD, "B_TEST.tsv": GOOD},
        {},
        "case",
        "several",
        None,
    ),
    ("nothing there", {"notes.md": "hi"}, {}, "case", "no <Name>_TRAIN", None),
]


@pytest.mark.parametrize("case, files, kwargs, named, phrase, line", BAD, ids=[b[0] for b in BAD])
def test_bad_input_table(tmp_path, case, files, kwargs, named, phrase, line):
    folder = tmp_path / "case"
    folder.mkdir()
    for name, content in files.items():
        (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(DataFormatError) as err:
        load_directory(folder, **kwargs)
    msg = str(err.value)
    assert "\n" not in msg and named in msg and phrase in msg, msg
    if line is not None:
        assert f"line {line}:" in msg, msg
    assert isinstance(err.value, ValueError)


# ---------------------------------------------------------------- fuzzing: DataFormatError or a valid result

_TS_LINES = st.sampled_from(
    [
        "@problemName F",
        "@univariate true",
        "@univariate false",
        "@dimensions 2",
        "@equalLength true",
        "@seriesLength 3",
        "@missing false",
        "@missing true",
        "@classLabel true a b",
        "@classLabel false",
        "@timeStamps false",
        "# c",
        "",
        "@",
        "@data",
    ]
)
_TOKEN = st.one_of(st.floats(-1e3, 1e3).map(repr), st.sampled_from(["?", "nan", "inf", "", "x", " 1 "]))
_DIM = st.lists(_TOKEN, min_size=1, max_size=4).map(",".join)
_SERIES_LINE = st.builds(
    lambda dims, label: ":".join(dims + [label]),
    st.lists(_DIM, min_size=1, max_size=3),
    st.sampled_from(["a", "b", "a", "b", "c", "", "1,2"]),
)
_DATA_LINE = st.one_of(_SERIES_LINE, _SERIES_LINE, st.text(alphabet="0123456789.,:-?eaEbn \t", max_size=30))


def _check(parse, text, name):
    try:
        raw = parse(text, name)
    except DataFormatError:
        return
    assert raw.series and len(raw.series) == len(raw.labels) == len(raw.where)
    assert all(s.ndim == 2 and s.shape[1] == raw.n_channels for s in raw.series)
    try:
        b = prepare(raw, raw, normalize="series")
    except DataFormatError:
        return
    assert np.isfinite(b.train.x).all()


_FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FUZZ
@given(st.lists(_TS_LINES, max_size=8), st.lists(_DATA_LINE, max_size=6))
def test_fuzz_ts_structured(header, data):
    _check(parse_ts, "\n".join(header + ["@data"] + data), "fuzz.ts")


@_FUZZ
@given(st.binary(max_size=300))
def test_fuzz_all_text_parsers_on_bytes(data):
    text = data.decode("utf-8", errors="replace")
    for parse in (parse_ts, parse_tsv, parse_txt):
        _check(parse, text, "fuzz")


@_FUZZ
@given(st.lists(st.text(alphabet="0123456789.-\teEaN, ", max_size=20), min_size=1, max_size=6))
def test_fuzz_row_formats(lines):
    for parse in (parse_tsv, parse_txt):
        _check(parse, "\n".join(lines), "fuzz")


_ARRAYS = st.one_of(
    st.builds(lambda s: np.frombuffer(s, dtype=np.uint8), st.binary(max_size=12)),
    st.builds(lambda v, n: np.full((n, 2), v), st.floats(allow_nan=True), st.integers(0, 3)),
    st.builds(lambda v: np.array(v), st.lists(st.text(max_size=3), max_size=3)),
    st.builds(lambda v: np.array(v, dtype=np.complex64), st.lists(st.floats(-9, 9), max_size=3)),
)


@_FUZZ
@given(
    st.dictionaries(st.sampled_from(["X_train", "y_train", "X_test", "y_test", "z"]), _ARRAYS),
    st.binary(max_size=40),
)
def test_fuzz_npz(arrays, junk):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    for blob in (buf.getvalue(), junk, b"PK\x03\x04" + junk, buf.getvalue()[: len(junk) + 30]):
        try:
            train, test = parse_npz(io.BytesIO(blob), "fuzz.npz")
            prepare(train, test)
        except DataFormatError:
            pass
