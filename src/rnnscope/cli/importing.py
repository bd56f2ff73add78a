"""`rnnscope import WEIGHTS --kind K (--task T | --dataset NAME | --data PATH) --out DIR`: a model trained
elsewhere, from its state dict, as an imported run directory that every command reads."""

from __future__ import annotations

from rnnscope.cli import CLIError, dataset_name, existing_path, positive_int, readable_file, task_name


def add_parser(sub) -> None:
    from rnnscope.config import DataConfig

    d = DataConfig()
    p = sub.add_parser(
        "import",
        help="a model trained elsewhere (a PyTorch state dict) as a run directory every command reads",
        description="WEIGHTS is a state dict with PyTorch's own key names (weight_ih_l0, weight_hh_l0, "
        "bias_ih_l0, bias_hh_l0, ... per layer) under an optional --prefix, as a module that holds the "
        "nn.RNN/LSTM/GRU as an attribute saves it; sizes and layers are read off the shapes; the readout is "
        "<readout-prefix>weight / bias. Formats: .safetensors, and .pt / .pth read with "
        "torch.load(weights_only=True): tensors only, never other objects. The accuracies on each split "
        "are measured now; nothing is trained and no training history is written.",
    )
    p.add_argument("weights", metavar="WEIGHTS", type=readable_file, help=".safetensors, .pt or .pth")
    p.add_argument("--kind", required=True, choices=["rnn", "lstm", "gru"], help="the recurrent core")
    src = p.add_argument_group("data (give exactly one)")
    src.add_argument("--task", type=task_name, help="built-in task, any case (see `rnnscope tasks`)")
    src.add_argument("--dataset", type=dataset_name, help="built-in UCR/UEA data set, any case")
    src.add_argument(
        "--data", type=existing_path, metavar="PATH", help="your own files: <Name>_TRAIN/_TEST or an .npz"
    )
    src.add_argument("--n-train", type=positive_int, default=d.n_train, help="task: training sequences")
    src.add_argument("--n-test", type=positive_int, default=d.n_test, help="task: test sequences")
    src.add_argument("--seed", type=int, default=0, help="task: the seed its sequences are drawn with")
    p.add_argument("--out", required=True, metavar="DIR", help="the imported run directory to write")
    p.add_argument("--prefix", default="", help="what precedes the core's keys, e.g. rnn. (default: none)")
    p.add_argument(
        "--readout-prefix", default="fc.", help="what precedes the readout's weight and bias (default fc.)"
    )
    p.add_argument("--nonlinearity", choices=["tanh", "relu"], default="tanh", help="rnn only")
    p.add_argument("--overwrite", action="store_true", help="replace an imported run at --out")
    p.set_defaults(func=cmd_import, check=check_import)


def check_import(args) -> None:
    given = [f"--{o}" for o in ("task", "dataset", "data") if getattr(args, o) is not None]
    if len(given) != 1:
        raise CLIError(f"give exactly one of --task, --dataset, --data (got {', '.join(given) or 'none'})")
    if args.nonlinearity == "relu" and args.kind != "rnn":
        raise CLIError(f"--nonlinearity relu is for --kind rnn only, not {args.kind}")


def cmd_import(args) -> int:
    from pathlib import Path

    from rnnscope.stages.imported import import_weights

    summary = import_weights(
        args.weights,
        args.kind,
        args.out,
        task=args.task,
        dataset=args.dataset,
        data=args.data,
        prefix=args.prefix,
        readout_prefix=args.readout_prefix,
        nonlinearity=args.nonlinearity,
        overwrite=args.overwrite,
        n_train=args.n_train,
        n_test=args.n_test,
        seed=args.seed,
    )
    print("\n".join(summary.cli_lines(Path(args.out))))
    return 0
