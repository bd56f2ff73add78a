import csv
import io
import sys

import numpy as np
import pytest
import torch

import rnnscope
from rnnscope.cli import main


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("streamrun") / "run"
    rnnscope.train(
        out=out, hidden=8, epochs=1, n_train=64, n_test=32, task="evidence", task_params={"seq_len": 10}
    )
    return out


@pytest.fixture(scope="module")
def model(run_dir):
    return rnnscope.load_run(run_dir).model


def _expected(model, x):
    with torch.no_grad():
        out, _ = model.core(torch.as_tensor(x, dtype=torch.float32)[None])
        return model.head(out[0]).softmax(-1).numpy()


def _stream(monkeypatch, capsys, run_dir, text, *args):
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    code = main(["stream", str(run_dir), *args])
    out, err = capsys.readouterr()
    return code, list(csv.reader(io.StringIO(out))), [line for line in err.splitlines() if line]


def _csv(rows, ids=None):
    return "\n".join(
        ",".join(([ids[i]] if ids else []) + [f"{v:.6g}" for v in r]) for i, r in enumerate(rows)
    )


def _by_stream(rows):
    got = {}
    for r in rows[1:]:
        got.setdefault(r[0], []).append(r)
    return got


def test_blank_lines_separate_streams_and_answers_equal_the_full_forward(monkeypatch, capsys, run_dir, model):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(6, 3)).astype(np.float32), rng.normal(size=(4, 3)).astype(np.float32)
    code, rows, err = _stream(monkeypatch, capsys, run_dir, _csv(a) + "\n\n\n" + _csv(b) + "\n")
    assert code == 0 and err == []
    assert rows[0] == ["stream", "step", "prediction", "p_0", "p_1", "p_2"]
    got = _by_stream(rows)
    assert sorted(got) == ["0", "1"]
    for name, x in (("0", a), ("1", b)):
        probs = np.array([[float(v) for v in r[3:]] for r in got[name]])
        assert [int(r[1]) for r in got[name]] == list(range(1, len(x) + 1))
        np.testing.assert_allclose(
            probs, _expected(model, np.float32([[float(f"{v:.6g}") for v in r] for r in x])), atol=2e-6
        )
        assert [r[2] for r in got[name]] == [str(i) for i in probs.argmax(1)]


def test_id_column_interleaves_streams_and_an_id_only_row_ends_one(monkeypatch, capsys, run_dir, model):
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    lines = ["name,x,y,z"]
    for t in range(5):
        lines += [f"a,{a[t, 0]},{a[t, 1]},{a[t, 2]}", "", f"b,{b[t, 0]},{b[t, 1]},{b[t, 2]}"]
    lines += ["a", f"a,{b[0, 0]},{b[0, 1]},{b[0, 2]}"]  # a ends; a new stream "a" starts from scratch
    code, rows, err = _stream(monkeypatch, capsys, run_dir, "\n".join(lines), "--id-column", "name")
    assert code == 0 and err == []
    assert [r[0] for r in rows[1:11]] == ["a", "b"] * 5
    got = _by_stream(rows)
    np.testing.assert_allclose(np.float64([r[3:] for r in got["a"][:5]]), _expected(model, a), atol=2e-6)
    np.testing.assert_allclose(np.float64([r[3:] for r in got["b"]]), _expected(model, b), atol=2e-6)
    assert got["a"][5][1] == "1"
    np.testing.assert_allclose(np.float64(got["a"][5][3:]), _expected(model, b[:1])[0], atol=2e-6)


def test_block_size_does_not_change_the_answers(monkeypatch, capsys, run_dir, tmp_path):
    rng = np.random.default_rng(2)
    text = "\n".join(f"{i % 3},{r[0]},{r[1]},{r[2]}" for i, r in enumerate(rng.normal(size=(40, 3))))
    path = tmp_path / "rows.csv"
    path.write_text(text)
    outs = []
    for block in ("1", "7", "1000"):
        code = main(["stream", str(run_dir), "--input", str(path), "--id-column", "0", "--block", block])
        assert code == 0
        outs.append(capsys.readouterr().out)
    tables = [list(csv.reader(io.StringIO(o))) for o in outs]
    assert len(tables[0]) == 41
    for t in tables[1:]:  # same streams, steps, predictions; probabilities up to float rounding
        assert [r[:3] for r in t] == [r[:3] for r in tables[0]]
        np.testing.assert_allclose(
            np.float64([r[3:] for r in t[1:]]), np.float64([r[3:] for r in tables[0][1:]]), atol=2e-6
        )


def test_bad_rows_are_reported_skipped_and_lose_no_state(monkeypatch, capsys, run_dir):
    rng = np.random.default_rng(3)
    good = [f"{s},{r[0]:.4f},{r[1]:.4f},{r[2]:.4f}" for s, r in zip("abab" * 3, rng.normal(size=(12, 3)))]
    bad = good[:3] + ["a,1,2", "b,1,x,3", "a,nan,0,0", "b,1,2,3,4"] + good[3:]
    _, clean, _ = _stream(monkeypatch, capsys, run_dir, "\n".join(good), "--id-column", "0")
    code, rows, err = _stream(monkeypatch, capsys, run_dir, "\n".join(bad), "--id-column", "0")
    assert code == 2
    assert rows == clean  # the bad rows changed nobody's state
    assert err == [
        "rnnscope stream: error: line 4 (stream 'a'): expected 4 columns, got 3 — row skipped",
        "rnnscope stream: error: line 5 (stream 'b'): column 3 ('x') is not a number — row skipped",
        "rnnscope stream: error: line 6 (stream 'a'): column 2 ('nan') is not finite — row skipped",
        "rnnscope stream: error: line 7 (stream 'b'): expected 4 columns, got 5 — row skipped",
    ]


def test_stop_on_error_answers_the_rows_before_it(monkeypatch, capsys, run_dir):
    text = "0.1,0.2,0.3\n0.3,0.2,0.1\n1,2\n0.5,0.5,0.5\n"
    code, rows, err = _stream(monkeypatch, capsys, run_dir, text, "--stop-on-error")
    assert code == 2 and len(rows) == 3
    assert err == ["rnnscope stream: error: line 3 (stream '0'): expected 3 columns, got 2 — stopped"]


def test_a_header_without_the_flag_is_named(monkeypatch, capsys, run_dir):
    code, rows, err = _stream(monkeypatch, capsys, run_dir, "x,y,z\n1,2,3\n")
    assert code == 2 and len(rows) == 2
    assert "line 1 (stream '0'): column 1 ('x') is not a number (use --header" in err[0]
    code, rows, err = _stream(monkeypatch, capsys, run_dir, "x,y,z\n1,2,3\n", "--header")
    assert code == 0 and len(rows) == 2 and err == []


def test_bad_arguments_exit_2_with_one_line_and_no_output(monkeypatch, capsys, run_dir, tmp_path):
    code, rows, err = _stream(monkeypatch, capsys, run_dir, "id,x,y,z\na,1,2,3\n", "--id-column", "nope")
    assert code == 2 and rows == [] and len(err) == 1
    assert "the header has no column 'nope'; columns: id, x, y, z" in err[0]
    code, rows, err = _stream(monkeypatch, capsys, tmp_path / "missing", "1,2,3\n")
    assert code == 2 and rows == [] and len(err) == 1 and "is not a directory" in err[0]
    assert main(["stream", str(run_dir), "--input", str(tmp_path / "none.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "none.csv" in err[0]
