"""The worked examples of docs/own-models.md, run end to end; every number on that page is printed here.

    PYTHONPATH=src python docs/examples/own_models.py [WORKDIR]      (about a minute on 2 CPU cores)

1. an nn.LSTM trained in a script -> rnnscope.import_model -> analyze, gradients, report
2. the same weights as a .pt checkpoint -> `rnnscope import` -> `rnnscope analyze`
3. a custom leaky cell -> import_model with arrays -> load_run(DIR, model=...)
4. spikes in an NWB file (written here from planted rates) -> `rnnscope activity`
"""

from __future__ import annotations

import datetime
import sys
import tempfile
from pathlib import Path

import numpy as np
import pynwb
import torch
from torch import nn

import rnnscope
from rnnscope.cli import main
from rnnscope.report import build_report
from rnnscope.stages.analyze import analyze_run
from rnnscope.stages.gradients import gradient_report
from rnnscope.tasks import get_task


def files(root: Path) -> str:
    return ", ".join(sorted(p.name + ("/" if p.is_dir() else "") for p in root.iterdir()))


class MyLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(input_size=3, hidden_size=32, num_layers=2, batch_first=True)
        self.fc = nn.Linear(32, 3)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1])


class Leaky(nn.Module):
    def __init__(self, input_size, hidden_size, leak):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.register_buffer("a", leak)
        self.W = nn.Parameter(0.05 * torch.randn(hidden_size, hidden_size))
        self.U = nn.Parameter(torch.randn(hidden_size, input_size) / input_size**0.5)

    def forward(self, x_t, h):
        return (1 - self.a) * h + self.a * torch.tanh(h @ self.W.T + x_t @ self.U.T)


def lstm_example(work: Path) -> MyLSTM:
    print("== 1. an nn.LSTM from a training script")
    torch.manual_seed(0)
    net = MyLSTM()
    data = get_task("evidence").make(600, 400, 0)
    x, y = torch.as_tensor(data.train.x), torch.as_tensor(data.train.y)
    opt = torch.optim.Adam(net.parameters(), 1e-2)
    for _ in range(60):
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    with torch.no_grad():
        own = (net(torch.as_tensor(data.test.x)).argmax(-1).numpy() == data.test.y).mean()
    print(f"the script's own test accuracy: {own:.4f}")
    out = work / "mine"
    summary = rnnscope.import_model(rnnscope.wrap(net.rnn, net.fc), "evidence", out, n_train=600, n_test=400)
    print("\n".join(summary.cli_lines(out)))
    print("files:", files(out))
    report = analyze_run(out)
    print("\n".join(report.summary.cli_lines("test")))
    print("\n".join(gradient_report(out).cli_lines()[:3]))
    build_report(out)
    print("files:", files(out))
    return net


def checkpoint_example(work: Path, net: MyLSTM) -> None:
    print("== 2. a .pt checkpoint from the CLI")
    torch.save(net.state_dict(), work / "ckpt.pt")
    out = work / "ckpt"
    argv = ["import", str(work / "ckpt.pt"), "--kind", "lstm", "--task", "evidence", "--n-train", "600"]
    argv += ["--n-test", "400", "--prefix", "rnn.", "--out", str(out)]
    print("$ rnnscope", " ".join(argv).replace(str(work) + "/", ""))
    main(argv)
    print("files:", files(out))


def custom_example(work: Path) -> None:
    print("== 3. a custom cell")
    torch.manual_seed(0)
    cell, head = Leaky(3, 8, torch.linspace(0.05, 0.5, 8)), nn.Linear(8, 2)
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((n, 100, 3)).astype(np.float32) for n in (200, 100)]
    ys = [(x[:, -20:, 0].sum(1) > 0).astype(np.int64) for x in xs]
    model = rnnscope.wrap(cell, head)
    opt = torch.optim.Adam(head.parameters(), 5e-2)
    for _ in range(100):
        opt.zero_grad()
        nn.functional.cross_entropy(model(torch.as_tensor(xs[0])), torch.as_tensor(ys[0])).backward()
        opt.step()
    out = work / "leaky"
    summary = rnnscope.import_model(model, (xs[0], ys[0], xs[1], ys[1]), out)
    print("\n".join(summary.cli_lines(out)))
    print("files:", files(out))
    run = rnnscope.load_run(out, model=model)
    print("reattached:", type(run.model).__name__, run.metrics)
    units = (out / "analysis" / "units.csv").read_text().splitlines()
    print("tau:", [round(float(r.split(",")[3]), 1) for r in units[1:]])


def nwb_example(work: Path) -> None:
    print("== 4. a recording in NWB")
    rng = np.random.default_rng(0)
    trials, dur = 64, 2.0
    f = pynwb.NWBFile(
        session_description="planted rates",
        identifier="example",
        session_start_time=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
    )
    f.add_trial_column(name="cond", description="class")
    f.add_trial_column(name="stim_time", description="stimulus onset (s)")
    starts, stim = np.arange(trials) * 2.5, rng.uniform(0.2, 1.6, trials)
    for i in range(trials):
        f.add_trial(
            start_time=starts[i], stop_time=starts[i] + dur, cond="lr"[i % 2], stim_time=starts[i] + stim[i]
        )
    t = np.arange(0, dur, 0.001)
    slopes = rng.uniform(-1, 1, trials)

    def spikes(rate):
        return np.concatenate(
            [starts[i] + t[rng.random(len(t)) < rate(i).clip(0) * 0.001] for i in range(trials)]
        )

    for _ in range(4):
        f.add_unit(spike_times=spikes(lambda i: 200 + 180 * slopes[i] * t))
    for _ in range(4):
        ph = rng.uniform(0, 2 * np.pi, trials)
        f.add_unit(spike_times=spikes(lambda i, p=ph: 40 + 35 * np.sin(2 * np.pi * 4 * t + p[i])))
    for _ in range(4):
        f.add_unit(
            spike_times=spikes(lambda i: 5 + 200 * np.where(t >= stim[i], np.exp(-(t - stim[i]) / 0.04), 0))
        )
    with pynwb.NWBHDF5IO(str(work / "session.nwb"), "w") as io:
        io.write(f)
    for extra in ([], ["--events", "stim_time"]):
        out = work / ("session" + ("-events" if extra else ""))
        argv = ["activity", str(work / "session.nwb"), "--bin-ms", "20", "--label-column", "cond", *extra]
        print("$ rnnscope", " ".join([*argv, "--out", str(out)]).replace(str(work) + "/", ""))
        main([*argv, "--out", str(out)])
        units = (out / "analysis" / "units.csv").read_text().splitlines()
        print("roles:", [r.split(",")[2] for r in units[1:]])
    print("files:", files(out), "| analysis/:", files(out / "analysis"))


if __name__ == "__main__":
    work = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="own-models-"))
    torch.set_num_threads(1)
    net = lstm_example(work)
    checkpoint_example(work, net)
    custom_example(work)
    nwb_example(work)
