"""`rnnscope tasks` and `rnnscope datasets`: what there is to train on."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("tasks", help="list the built-in tasks, one line each")
    p.set_defaults(func=cmd_tasks)
    p = sub.add_parser("datasets", help="list the built-in UCR/UEA data sets (needs the ucr extra)")
    p.set_defaults(func=cmd_datasets)


def cmd_tasks(args) -> int:
    from rnnscope.config import DEFAULT_TASK
    from rnnscope.tasks import TASKS

    width = max(len(n) for n in TASKS)
    for name, cls in TASKS.items():
        task = cls()
        mark = "*" if name == DEFAULT_TASK else " "
        print(
            f"{mark} {name:<{width}}  C={task.input_size:<2} K={task.n_classes:<2} T={task.seq_len:<4} "
            f"{cls.summary}"
        )
    print("(* default)")
    return 0


def cmd_datasets(args) -> int:
    from rnnscope.data import list_datasets

    rows = list_datasets()
    print(f"{'name':<24} {'train':>6} {'test':>6} {'length':>10} {'channels':>8} {'classes':>7}")
    for r in rows:
        length = (
            str(r["length_min"])
            if r["length_min"] == r["length_max"]
            else f"{r['length_min']}-{r['length_max']}"
        )
        print(
            f"{r['name']:<24} {r['n_train']:>6} {r['n_test']:>6} {length:>10} {r['channels']:>8} "
            f"{r['classes']:>7}"
        )
    return 0
