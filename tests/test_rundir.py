"""rnnscope.rundir: the layout of a run directory, typed summaries that keep their JSON, validation."""

import json

import pytest

from rnnscope.errors import BadRunDirectory
from rnnscope.io import RunFileError, write_json
from rnnscope.rundir import (
    AnalysisSummary,
    BenchSummary,
    ContextSummary,
    GradientSummary,
    PipelineLog,
    RunPaths,
    StageResult,
    SweepPaths,
    check_sweep_dir,
    profile_by_step,
    read_gradient_summary,
    read_pipeline_log,
    read_profile,
    read_table,
    write_sweep_file,
)

ROW = {
    "layer": 1,
    "quantity": "grad_h",
    "decay_factor": 0.5,
    "r2": 0.99,
    "half_life": 1.0,
    "fit_points": 9,
    "effective_context": 7,
    "context_censored": False,
}
GRADIENTS = {
    "kind": "rnn",
    "layers": 2,
    "split": "test",
    "batch": 4,
    "probe_index": [3, 1, 0, 2],
    "seq_len": 10,
    "epsilon": 0.001,
    "loss": 1.2,
    "loss_init": 1.4,
    "definitions": {"loss": "L"},
    "per_layer": [{**ROW, "layer": 0, "effective_context": None, "context_censored": True}, ROW],
    "per_layer_init": [{**ROW, "decay_factor": 0.25}],
    "behavioural": None,
    "through_training_epochs": [0, 5],
}
LAYER = {
    "activity": "hidden.l0",
    "units": 3,
    "role_counts": {"integrator": 2, "silent": 1},
    "pca_explained_variance_ratio": [0.7, 0.2, 0.1],
    "participation_ratio": 1.8,
    "examples": {"integrator": [0, 2], "silent": [1]},
}
ANALYSIS = {
    "role_counts": {"0": LAYER["role_counts"]},
    "pca_explained_variance_ratio": {"0": [0.7, 0.2, 0.1]},
    "participation_ratio": {"0": 1.8},
    "layers": {"0": LAYER},
    "role_counts_total": {"integrator": 2, "silent": 1},
    "sequences_analyzed": 32,
    "sequences_recorded": 40,
    "steps": 20,
    "model": {"kind": "rnn"},
    "source": {"split": "test"},
    "class_names": ["a", "b"],
    "evidence": None,
    "impulse_probed": False,
    "thresholds": {"tau_long": 10.0},
    "dynamics": None,  # no model probed: the model criteria are absent
    "split": "test",
    "impulse": None,
}


def test_run_paths_name_every_file_of_the_layout(tmp_path):
    p = RunPaths(tmp_path)
    names = [
        p.config,
        p.status,
        p.history,
        p.metrics,
        p.model,
        p.pipeline,
        p.report,
        p.training_curves.png,
        p.recording_manifest,
        p.analysis.units_csv,
        p.analysis.summary,
        p.analysis.arrays,
        p.analysis.figure("heatmap").svg,
        p.gradients.profile_csv,
        p.gradients.snapshots,
        p.gradients.figure("flow").png,
        p.companion.gradients.summary,
    ]
    assert [n.relative_to(tmp_path).as_posix() for n in names] == [
        "config.json",
        "status.json",
        "history.jsonl",
        "metrics.json",
        "model.safetensors",
        "pipeline.json",
        "report.html",
        "training_curves.png",
        "recording/manifest.json",
        "analysis/units.csv",
        "analysis/summary.json",
        "analysis/arrays.safetensors",
        "analysis/unit_heatmap.svg",
        "gradients/profile.csv",
        "gradients/through_training.safetensors",
        "gradients/profile.png",
        "companion/gradients/summary.json",
    ]
    s = SweepPaths(tmp_path)
    assert [
        n.name
        for n in (
            s.sweep_file,
            s.results_csv,
            s.context_json,
            s.cost_csv,
            s.bench_summary,
            s.accuracy_figure("distance").png,
            s.run("rnn-s0").model,
        )
    ] == [
        "sweep.json",
        "results.csv",
        "context.json",
        "cost.csv",
        "summary.json",
        "accuracy_vs_distance.png",
        "model.safetensors",
    ]


@pytest.mark.parametrize("cls, obj", [(GradientSummary, GRADIENTS), (AnalysisSummary, ANALYSIS)])
def test_summaries_write_back_exactly_the_json_they_read(cls, obj):
    out = cls.from_json(json.loads(json.dumps(obj))).to_json()
    assert json.dumps(out) == json.dumps(obj)  # same keys, same order, same values


def test_analysis_summary_of_a_bare_recording_has_no_split():
    bare = {k: v for k, v in ANALYSIS.items() if k not in ("split", "impulse")}
    assert list(AnalysisSummary.from_json(bare).to_json()) == list(bare)


def test_sentences_come_from_the_summaries():
    g = GradientSummary.from_json(GRADIENTS)
    # every layer named; layer 0's context never fell below epsilon (undefined here)
    both = (
        "layer 0: decay factor 0.500 per step, no effective context; "
        "layer 1: decay factor 0.500 per step, effective context 7 steps"
    )
    assert g.top_line() == both and g.carrier_line() == both
    flat = GradientSummary.from_json(
        {
            **GRADIENTS,
            "per_layer": [
                {
                    **ROW,
                    "layer": 0,
                    "decay_factor": 1.001,
                    "r2": 0.0006,
                    "effective_context": 9,
                    "context_censored": True,
                },
                ROW,
            ],
        }
    )  # a flat layer 0: a fit of 1.001 with R^2 0.0006 is no decay, and the headline says so
    assert flat.top_line().startswith(
        "layer 0: no exponential decay (fit R² 0.001 < 0.5), effective context >= 9 steps; layer 1: decay"
    )
    assert flat.cli_lines()[2].split() == ["0", "grad_h", "no", "decay", "0.001", ">=9"]
    assert g.cli_lines()[2].split() == ["0", "grad_h", "0.5000", "1.0", "0.990", "-"]
    assert [(r.layer, i.decay_factor if i else None) for r, i in g.pairs()] == [(0, None), (1, 0.25)]
    a = AnalysisSummary.from_json(ANALYSIS)
    assert a.role_line() == "2 integrator, 1 silent"
    assert a.cli_lines("test")[0] == "32 test sequences x 20 steps; evidence: None"
    log = PipelineLog(
        [StageResult("train", "done", 1.5, "ok"), StageResult("analyze", "failed", 0.1, "boom")], 48
    )
    assert log.stage_reason("analyze") == "The pipeline's analyze stage was failed: boom."
    assert log.stage_reason("train") is None
    assert PipelineLog.from_json(json.loads(json.dumps(log.to_json()))) == log
    with pytest.raises(RunFileError, match="status 'maybe'"):
        PipelineLog.from_json({"stages": [{"name": "train", "status": "maybe"}]})


@pytest.mark.parametrize(
    "damage, needle",
    [
        (lambda g: g.pop("kind"), "no kind"),
        (lambda g: g.update(per_layer=[1, 2]), "per_layer[0] is int"),
        (lambda g: g["per_layer"][0].update(decay_factor="fast"), "decay_factor is str"),
        (lambda g: g["per_layer"][0].update(layer=True), "layer is True"),
    ],
)
def test_a_malformed_summary_names_its_file(tmp_path, damage, needle):
    bad = json.loads(json.dumps(GRADIENTS))
    damage(bad)
    path = tmp_path / "summary.json"
    write_json(path, bad)
    with pytest.raises(RunFileError) as err:
        read_gradient_summary(path)
    assert needle in str(err.value) and str(path) in str(err.value) and "expected layout" in str(err.value)
    assert isinstance(err.value, BadRunDirectory)


def test_missing_files_read_as_none_and_corrupt_ones_raise(tmp_path):
    assert read_gradient_summary(tmp_path / "summary.json") is None
    assert read_pipeline_log(tmp_path / "pipeline.json") is None
    assert read_table(tmp_path / "x.csv", "table") is None
    (tmp_path / "profile.csv").write_text(
        "step,layer,quantity,mean,std\n0,0,grad_h,1.0,\n1,0,grad_h,0.5,0.1\n"
    )
    by_step = profile_by_step(read_profile(tmp_path / "profile.csv"))
    assert list(by_step) == [("grad_h", 0)] and by_step["grad_h", 0][0].tolist() == [1.0, 0.5]
    (tmp_path / "profile.csv").write_text("step,layer,quantity,mean\nx,0,grad_h,1.0\n")
    with pytest.raises(RunFileError, match="profile.csv is corrupt"):
        profile_by_step(read_profile(tmp_path / "profile.csv"))
    (tmp_path / "profile.csv").write_text("step,layer,mean\n0,0,1.0\n")
    with pytest.raises(RunFileError, match="no column quantity"):
        read_profile(tmp_path / "profile.csv")


def test_bench_and_context_summaries():
    bench = BenchSummary(
        {}, [], {"train_step_seconds": {"rnn": {"slope": 1.0}}, "inference_seconds": {}}, [], []
    )
    assert bench.slopes(["train_step_seconds", "inference_seconds"]) == (
        ["model", "slope of train_step_seconds"],
        [["rnn", 1.0]],
    )
    assert bench.slope_lines() == ["slope of train_step_seconds: rnn 1.00"]
    with pytest.raises(RunFileError, match="slope"):
        BenchSummary.from_json({"fits": {"state_bytes": {"rnn": {}}}})
    model = {
        "effective_context": 50,
        "censored": True,
        "short_distance": 5,
        "short_chance_corrected": 1.0,
        "threshold_chance_corrected": 0.9,
        "per_seed": {"0": 50, "1": None},
        "median_seed_context": None,
        "median_seed_censored": False,
        "mean_test_acc": {"5": 1.0},
        "mean_chance_corrected": {"5": 1.0},
    }
    ctx = ContextSummary.from_json(
        {
            "task": "recall",
            "definition": "d",
            "threshold": 0.9,
            "chance": 0.25,
            "distances": [5, 50],
            "models": {"gru": model},
        }
    )
    assert ctx.cli_lines()[2].split() == ["gru", ">=", "50", "-", "50,", "-"]


def test_a_sweep_directory_holds_one_configuration(tmp_path):
    out = tmp_path / "sweep"
    assert check_sweep_dir(out, "compare", {"a": 1}) is False
    write_sweep_file(out, "compare", {"a": 1})
    assert check_sweep_dir(out, "compare", {"a": 1}) is True
    with pytest.raises(ValueError, match="another configuration"):
        check_sweep_dir(out, "compare", {"a": 2})
    with pytest.raises(ValueError, match="not `context`"):
        check_sweep_dir(out, "context", {"a": 1})
