"""Imported runs: a model trained elsewhere (an nn.LSTM trained here, in the test) imported from `.pt` and
`.safetensors` state dicts with a prefix, or from Python; every command then reads the directory.

Ground truth: the imported run's accuracies equal the module's own on the same data; the rebuilt model's
logits equal the module's. Bad input (wrong keys or shapes, a readout of the wrong size, a pickled object in
a `.pt`) is one line, exit 2, and nothing written.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torch import nn

import rnnscope
from conftest import run_cli
from rnnscope.cli import main
from rnnscope.errors import BadArgument, BadRunDirectory
from rnnscope.rundir import RunPaths, read_import_summary
from rnnscope.tasks import get_task

DATA = {"n_train": 160, "n_test": 96, "seed": 3}
TASK = "evidence"


class Net(nn.Module):
    """A user's model as a training script writes it: the core under `rnn.`, the readout under `fc.`."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(3, 10, 2, batch_first=True)
        self.fc = nn.Linear(10, 3)

    def forward(self, x):
        return self.fc(self.rnn(x)[0][:, -1])


def _own_accuracy(net, split) -> float:
    with torch.no_grad():
        return float((net(torch.as_tensor(split.x)).argmax(-1).numpy() == split.y).mean())


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """An nn.LSTM trained for a few steps here, saved as .pt and .safetensors state dicts."""
    torch.manual_seed(0)
    net = Net()
    data = get_task(TASK).make(DATA["n_train"], DATA["n_test"], DATA["seed"])
    opt = torch.optim.Adam(net.parameters(), 3e-2)
    x, y = torch.as_tensor(data.train.x), torch.as_tensor(data.train.y)
    for _ in range(20):
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    net.eval()
    root = tmp_path_factory.mktemp("weights")
    torch.save(net.state_dict(), root / "net.pt")
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(root / "net.safetensors"))
    own = {s: _own_accuracy(net, getattr(data, s)) for s in ("train", "test")}
    return {"net": net, "data": data, "root": root, "own": own}


@pytest.fixture
def state():
    """The state dict of an untrained Net (enough where only key names and shapes matter)."""
    torch.manual_seed(0)
    return dict(Net().state_dict())


def _import_args(weights: Path, out: Path, *extra: str) -> list[str]:
    return [
        "import",
        str(weights),
        "--kind",
        "lstm",
        "--task",
        TASK,
        "--n-train",
        str(DATA["n_train"]),
        "--n-test",
        str(DATA["n_test"]),
        "--seed",
        str(DATA["seed"]),
        "--prefix",
        "rnn.",
        "--out",
        str(out),
        *extra,
    ]


@pytest.fixture(scope="module")
def imported(trained, tmp_path_factory):
    out = tmp_path_factory.mktemp("imported") / "run"
    assert main(_import_args(trained["root"] / "net.pt", out)) == 0
    return out


@pytest.mark.slow
@pytest.mark.parametrize("suffix", ["pt", "safetensors"])
def test_import_measures_the_modules_own_accuracies(trained, tmp_path, capsys, suffix):
    weights = trained["root"] / f"net.{suffix}"
    out = tmp_path / "run"
    code, stdout, err = run_cli(_import_args(weights, out), capsys)
    assert code == 0, err
    summary = read_import_summary(out)
    assert summary.accuracies == pytest.approx(trained["own"], abs=1e-12)
    assert 0.45 < trained["own"]["test"] < 1.0  # above chance (1/3): the training did something
    assert summary.source["trained"] == "elsewhere"
    assert summary.source["sha256"] == rnnscope.io.sha256(weights)
    assert summary.sizes == {"n_train": 160, "n_test": 96, "seq_len": 60, "input_size": 3, "n_classes": 3}
    assert f"test {100 * trained['own']['test']:.1f} %" in stdout
    assert not RunPaths(out).history.exists() and not RunPaths(out).config.exists()
    run = rnnscope.load_run(out)
    assert run.history == [] and run.metrics["test_acc"] == trained["own"]["test"]
    x = torch.as_tensor(trained["data"].test.x[:16])
    with torch.no_grad():
        assert torch.allclose(run.model(x), trained["net"](x), atol=1e-6)


@pytest.mark.slow
def test_every_command_reads_an_imported_run(imported, trained, tmp_path, capsys):
    for command in ("record", "analyze", "gradients", "report"):
        code, _, err = run_cli([command, str(imported)], capsys)
        assert code == 0, (command, err)
    paths = RunPaths(imported)
    assert paths.recording_manifest.exists() and paths.analysis.units_csv.exists()
    assert paths.gradients.summary.exists()
    units = paths.analysis.units_csv.read_text().splitlines()
    assert len(units) == 1 + 2 * 10 and units[0].startswith("layer,unit,role")
    grad = json.loads(paths.gradients.summary.read_text())
    assert grad["kind"] == "lstm" and grad["loss"] < grad["loss_init"]
    html = paths.report.read_text()
    assert "trained elsewhere" in html and read_import_summary(imported).source["sha256"] in html
    assert "160 training / 96 test sequences of 60 steps" in html
    assert f"{100 * trained['own']['test']:.1f} %" in html
    assert "no training curves" in html and "training_curves" not in html
    rows = tmp_path / "rows.csv"
    x = trained["data"].test.x[0]
    rows.write_text("\n".join(",".join(f"{v:.6f}" for v in step) for step in x) + "\n")
    code, stdout, err = run_cli(["stream", str(imported), "--input", str(rows)], capsys)
    assert code == 0, err
    last = stdout.strip().splitlines()[-1].split(",")
    with torch.no_grad():
        probs = trained["net"](torch.as_tensor(x[None])).softmax(-1)[0].numpy()
    assert np.allclose([float(v) for v in last[-3:]], probs, atol=1e-4)


class _Payload:
    """Unpickling this creates the marker file: proof that a file ran code."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pt_holding_an_object_is_refused_and_never_run(state, tmp_path, capsys):
    marker = tmp_path / "marker"
    control = pickle.dumps(_Payload(tmp_path / "control"))
    pickle.loads(control)  # the control: unpickling this payload does create its marker
    assert (tmp_path / "control").exists()
    state["rnn.weight_ih_l0"] = _Payload(marker)
    weights = tmp_path / "evil.pt"
    torch.save(state, weights)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, _, err = run_cli(_import_args(weights, tmp_path / "run"), capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "objects beyond tensors" in err and "Traceback" not in err
    assert not marker.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def _bad(tmp_path, name, state) -> Path:
    path = tmp_path / f"{name}.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    return path


@pytest.mark.parametrize(
    "case, words",
    [
        ("no prefix", "keys found: fc.bias (3,), fc.weight (3, 10), rnn.bias_hh_l0"),
        ("wrong kind", "not (3 x H, H) for a gru"),
        ("readout size", "reads 7 features but the top layer's hidden size is 10"),
        ("missing layer key", "missing rnn.weight_hh_l1"),
        ("no readout", "no readout head.weight"),
    ],
)
def test_weights_that_do_not_fit_are_one_line_and_nothing_written(state, tmp_path, capsys, case, words):
    argv = []
    if case == "no prefix":
        argv = ["--prefix", ""]
    elif case == "wrong kind":
        argv = ["--kind", "gru"]
    elif case == "readout size":
        state["fc.weight"] = torch.zeros(3, 7)
    elif case == "missing layer key":
        del state["rnn.weight_hh_l1"]
    else:
        argv = ["--readout-prefix", "head."]
    weights = _bad(tmp_path, "w", state)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, _, err = run_cli(_import_args(weights, tmp_path / "run") + argv, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert words in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_import_model_from_python_with_arrays_relu_rnn_without_bias(tmp_path):
    torch.manual_seed(1)
    core, head = nn.RNN(2, 6, 2, nonlinearity="relu", bias=False, batch_first=False), nn.Linear(6, 2)
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((n, 12, 2)).astype(np.float32) for n in (40, 24)]
    ys = [(x[:, :, 0].sum(1) > 0).astype(np.int64) for x in xs]
    out = tmp_path / "mine"
    summary = rnnscope.import_model(core, (xs[0], ys[0], xs[1], ys[1]), out, readout=head)
    assert summary.model["nonlinearity"] == "relu" and summary.model["bias"] is False
    assert RunPaths(out).imported_data.exists()
    with torch.no_grad():
        own = [
            (head(core(torch.as_tensor(x).transpose(0, 1))[0][-1]).argmax(-1).numpy() == y).mean()
            for x, y in zip(xs, ys)
        ]
    assert [summary.accuracies["train"], summary.accuracies["test"]] == pytest.approx(own, abs=1e-12)
    run = rnnscope.load_run(out)
    assert run.model.kind == "rnn_relu" and len(run.data.test) == 24
    assert np.array_equal(run.data.train.x, xs[0])


def test_bad_python_input_is_a_typed_error_and_nothing_written(tmp_path):
    core = nn.GRU(3, 8)
    with pytest.raises(BadArgument, match="reads 5 features but the top layer's hidden size is 8"):
        rnnscope.import_model(core, TASK, tmp_path / "a", readout=nn.Linear(5, 3))
    with pytest.raises(BadArgument, match="needs a model with a readout"):
        rnnscope.import_model(core, TASK, tmp_path / "b")
    with pytest.raises(BadArgument, match="the model reads 3 input channels but the data have 2"):
        x = np.zeros((4, 10, 2), np.float32)
        rnnscope.import_model(
            core, (x, np.zeros(4, int), x, np.zeros(4, int)), tmp_path / "c", readout=nn.Linear(8, 1)
        )
    with pytest.raises(TypeError, match="import_model needs"):
        rnnscope.import_model("not a model", TASK, tmp_path / "d")
    assert list(tmp_path.iterdir()) == []


class Leaky(nn.Module):
    """A continuous-time cell h' = (1 - a) h + a tanh(W h + U x): the user's own code."""

    def __init__(self, c: int, h: int, a: float = 0.2):
        super().__init__()
        self.input_size, self.hidden_size, self.a = c, h, a
        self.W, self.U = nn.Linear(h, h), nn.Linear(c, h, bias=False)

    def forward(self, x, h):
        return (1 - self.a) * h + self.a * torch.tanh(self.W(h) + self.U(x))


@pytest.mark.slow
def test_a_custom_cell_is_recorded_and_analysed_at_import_and_reattached(tmp_path, capsys):
    torch.manual_seed(2)
    model = rnnscope.wrap(Leaky(3, 12), nn.Linear(12, 2))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = np.random.default_rng(0)
    x, xt = (
        rng.standard_normal((48, 40, 3)).astype(np.float32),
        rng.standard_normal((40, 40, 3)).astype(np.float32),
    )
    y, yt = (x[:, :, 0].sum(1) > 0).astype(int), (xt[:, :, 0].sum(1) > 0).astype(int)
    out = tmp_path / "custom"
    summary = rnnscope.import_model(model, (x, y, xt, yt), out)
    paths = RunPaths(out)
    assert summary.model["kind"] == "custom" and summary.model["module"] == "Leaky + Linear"
    assert paths.recording_manifest.exists() and paths.analysis.units_csv.exists()
    with pytest.raises(BadRunDirectory, match="cannot rebuild from a file"):
        rnnscope.load_run(out)
    code, _, err = run_cli(["record", str(out)], capsys)
    assert code == 2 and "model=your_module" in err
    run = rnnscope.load_run(out, model=model)
    with torch.no_grad():
        assert torch.equal(run.model(torch.as_tensor(xt)), model(torch.as_tensor(xt)))
    assert run.model is not model and all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    with pytest.raises(BadArgument, match="does not fit"):
        rnnscope.load_run(out, model=rnnscope.wrap(Leaky(3, 7), nn.Linear(7, 2)))
    code, _, err = run_cli(["report", str(out)], capsys)
    assert code == 0, err
    assert "code, which no command loads from a file" in paths.report.read_text()


def test_a_damaged_imported_model_is_named(tmp_path):
    torch.manual_seed(0)
    x = np.random.default_rng(0).standard_normal((8, 6, 3)).astype(np.float32)
    y = np.arange(8) % 3
    out = tmp_path / "run"
    rnnscope.import_model(nn.GRU(3, 4), (x, y, x, y), out, readout=nn.Linear(4, 3))
    data = RunPaths(out).model.read_bytes()
    RunPaths(out).model.write_bytes(data[:-8] + bytes(8))
    with pytest.raises(BadRunDirectory, match="model.safetensors is corrupt"):
        rnnscope.load_run(out)
