"""The gated companion of `rnnscope run`: which model gets one, that it never changes the main run, that it
is measured and shown in the report, and that its failure costs neither the main run nor the report."""

import json

import pytest

from conftest import run_cli
from rnnscope.config import DataConfig, ModelConfig, TrainConfig
from rnnscope.io import read_json
from rnnscope.report import build_report
from rnnscope.stages import pipeline
from rnnscope.stages.companion import Companion, companion_kind
from rnnscope.sweep import InlineExecutor
from rnnscope.training.api import load_run
from test_pipeline import TINY


@pytest.mark.parametrize(
    "main,requested,expected",
    [
        ("rnn", "auto", "lstm"),
        ("lstm", "auto", None),
        ("gru", "auto", None),
        ("transformer", "auto", None),
        ("rnn", "gru", "gru"),
        ("transformer", "lstm", "lstm"),
        ("rnn", "none", None),
        ("lstm", "none", None),
    ],
)
def test_companion_kind(main, requested, expected):
    assert companion_kind(main, requested) == expected


@pytest.mark.parametrize(
    "main,requested,message",
    [
        ("rnn", "cnn", "unknown companion 'cnn'; choose from auto, none, lstm, gru"),
        ("rnn", "rnn", "unknown companion 'rnn'"),
        ("lstm", "lstm", "must differ from the main model (lstm)"),
    ],
)
def test_companion_kind_refuses(main, requested, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        companion_kind(main, requested)


DATA = DataConfig(task="mixture", task_params={"seq_len": 20}, n_train=96, n_test=48)
TRAIN = TrainConfig(epochs=2, seed=3)


def _pipeline(out, companion="auto", executor=InlineExecutor, model=ModelConfig(hidden=8)):
    return pipeline.run_pipeline(
        DATA, model, TRAIN, out, sequences=48, companion=companion, companion_executor=executor
    )


@pytest.fixture
def fast(monkeypatch):
    """Skip unit analysis and gradients of the main run (tests of the companion stage alone)."""
    monkeypatch.setattr(pipeline, "_library", lambda module, name: None)


def _history(run_dir):
    rows = [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if "seconds" not in k} for r in rows]


def test_companion_is_matched_measured_and_reported(tmp_path):
    # the default executor: a real spawned worker process, as `rnnscope run` uses it
    result = _pipeline(tmp_path / "run", executor=None)
    out = tmp_path / "run"
    stage = {s.name: s for s in result.stages}["companion"]
    assert stage.status == "done" and stage.note.startswith("lstm (")
    mate = load_run(out / "companion")
    main = load_run(out)
    assert mate.model_cfg.kind == "lstm" and mate.model_cfg.layers == main.model_cfg.layers
    assert mate.data_cfg == main.data_cfg and mate.train_cfg == main.train_cfg
    # the closest LSTM width to the tanh RNN's 284 parameters (no width is within 10 % here)
    assert mate.metrics["params"] == 324
    summary = read_json(out / "companion" / "gradients" / "summary.json")
    assert {r["quantity"] for r in summary["per_layer"]} >= {"grad_h", "grad_c"}
    html = (out / "report.html").read_text()
    highways = html[html.index('<section id="highways"') :]
    highways = highways[: highways.index("</section>")]
    assert (
        'data-figure="companion_highways"' in highways and 'data-figure="companion_gradient_flow"' in highways
    )
    assert (
        "The gated companion: an LSTM of 2 layers" in highways
        and "the gated companion below has a second one" in highways
    )
    # the companion never changes the main run: the same run without one has the same history and weights
    alone = _pipeline(tmp_path / "alone", companion="none")
    assert {s.name: s.status for s in alone.stages}["companion"] == "skipped"
    assert not (tmp_path / "alone" / "companion").exists()
    assert _history(out) == _history(tmp_path / "alone")
    assert (out / "model.safetensors").read_bytes() == (tmp_path / "alone" / "model.safetensors").read_bytes()
    html = (tmp_path / "alone" / "report.html").read_text()
    assert "companion_highways" not in html and "trains a gated companion to compare" in html


class _Broken:
    def submit(self, job):
        raise OSError("no processes left")

    def shutdown(self, cancel=False):
        pass


def test_a_companion_that_cannot_start_fails_its_stage_only(tmp_path, fast, capsys):
    result = _pipeline(tmp_path / "run", executor=_Broken)
    stages = {s.name: s for s in result.stages}
    assert stages["train"].status == "done" and stages["report"].status == "done"
    assert stages["companion"].status == "failed" and "no processes left" in stages["companion"].note
    assert result.report.exists() and not result.ok


def test_a_failed_companion_run_is_reported(tmp_path, fast, monkeypatch):
    def failing(job):
        return {"status": "failed_nonfinite", "message": "loss became NaN at epoch 1"}

    class Executor(InlineExecutor):
        def submit(self, job):
            from concurrent.futures import Future

            f = Future()
            f.set_result(failing(job))
            return f

    result = _pipeline(tmp_path / "run", executor=Executor)
    stage = {s.name: s for s in result.stages}["companion"]
    assert stage.status == "failed" and "failed_nonfinite: loss became NaN at epoch 1" in stage.note
    html = build_report(tmp_path / "run").read_text()
    assert "companion_highways" not in html


def test_gated_main_models_get_no_companion(tmp_path, fast):
    result = _pipeline(tmp_path / "run", model=ModelConfig(kind="gru", hidden=8))
    stage = {s.name: s for s in result.stages}["companion"]
    assert stage.status == "skipped" and stage.note == "the gru model is its own comparison"


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["--companion", "cnn"], "unknown companion 'cnn'"),
        (["--model", "lstm", "--companion", "lstm"], "must differ"),
    ],
)
def test_bad_companion_exits_2_and_writes_nothing(tmp_path, capsys, argv, needle):
    out = tmp_path / "run"
    code, _, err = run_cli(["run", "--out", str(out), *TINY, *argv], capsys)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_companion_plan_needs_nothing_from_disk(tmp_path):
    assert Companion.plan("none", tmp_path, DATA, ModelConfig(), TRAIN) is None
    mate = Companion.plan("gru", tmp_path, DATA, ModelConfig(), TRAIN)
    assert mate.kind == "gru" and not any(tmp_path.iterdir())
