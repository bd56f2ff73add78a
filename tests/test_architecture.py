"""The layers stay honest (docs/architecture.md): read every module's imports and fail when a layer reaches
up or sideways where it may not, when the packages form a cycle, or when cell internals leak out of models/.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "rnnscope"

# The layer of every top-level module or package of rnnscope, and what each may import (besides itself).
BASE = {"errors", "config", "io", "names", "lazy"}  # leaf modules that anything may use
COMPUTE = {"training", "recording", "gradients", "sweep", "costs", "streaming", "dynamics", "unitreport"}
DATA = {"models", "analysis", "tasks", "data"}
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "lazy": set(),
    "names": {"errors"},
    "config": {"errors", "names"},
    "io": {"errors"},
    "models": BASE,
    "analysis": BASE,  # pure functions on arrays
    "tasks": BASE | {"data"},
    "data": BASE,
    "rundir": BASE | {"recording"},  # only recording.store: the recording's own file format (see below)
    "plots": BASE | {"analysis"},
    "report": BASE | {"rundir", "plots"},
    **{pkg: BASE | DATA | COMPUTE | {"rundir"} for pkg in COMPUTE},
    "stages": BASE | DATA | COMPUTE | {"rundir", "plots", "report"},
    "cli": BASE | {"stages", "rundir", "report", "tasks", "data"},
}
# Single modules a layer may reach beyond its row: the option specs the CLI validates arguments with before
# any model exists (and the recipe's task defaults its --help shows), and the progress display it attaches.
EXTRA_MODULES: dict[str, set[str]] = {
    "cli": {
        "rnnscope.recording",
        "rnnscope.recording.spec",
        "rnnscope.costs.runner",
        "rnnscope.sweep.compare",
        "rnnscope.sweep.context",
        "rnnscope.training.callbacks",
        "rnnscope.training.recipe",
    },
    "rundir": {"rnnscope.recording.store"},
}
LEAVES = {"__init__", "__main__"}  # the package's own entry points may reach anything they re-export


def _modules():
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        top = rel.parts[0].removesuffix(".py")
        yield path, top


def _imports(path: Path) -> list[tuple[int, str, str]]:
    """(line, imported rnnscope top-level name, imported module) for every import of rnnscope."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []

    def visit(node, in_function: bool):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and getattr(child.test, "id", None) == "TYPE_CHECKING":
                continue  # annotations only: nothing is imported at run time
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                names = [a.name for a in child.names]
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                names = [child.module] + [f"{child.module}.{a.name}" for a in child.names]
                names = names[:1] if child.module != "rnnscope" else names[1:]
            else:
                names = []
            for name in names:
                parts = name.split(".")
                if parts[0] == "rnnscope" and len(parts) > 1:
                    top = parts[1]
                    if not ((SRC / top).is_dir() or (SRC / f"{top}.py").is_file()):
                        top = "__init__"  # a name the package re-exports (rnnscope.__version__, train, ...)
                    found.append(
                        (child.lineno, top, ".".join(parts[: len(parts) if top != "__init__" else 1]))
                    )
            visit(child, inner)

    visit(tree, False)
    return found


def test_every_top_level_module_has_a_layer():
    tops = {top for _, top in _modules()} - LEAVES
    assert tops <= set(ALLOWED), f"give these modules a layer in ALLOWED: {sorted(tops - set(ALLOWED))}"


def _extra(top: str, module: str) -> bool:
    """An import of `module` (or a name from it) that EXTRA_MODULES grants to `top`."""
    return any(
        module == m
        or module.startswith(m + ".")
        and module.count(".") == m.count(".") + 1
        and not (SRC / module.removeprefix("rnnscope.").replace(".", "/")).exists()
        and not (SRC / (module.removeprefix("rnnscope.").replace(".", "/") + ".py")).exists()
        for m in EXTRA_MODULES.get(top, ())
    )


def test_no_layer_reaches_where_it_may_not():
    bad = []
    for path, top in _modules():
        if top in LEAVES:
            continue
        for line, target, module in _imports(path):
            allowed = target == top or target in ALLOWED.get(top, set()) or target in LEAVES
            if not (allowed or _extra(top, module)):
                bad.append(f"{path.relative_to(SRC)}:{line} imports rnnscope.{target}")
    assert not bad, "layer violations (docs/architecture.md):\n" + "\n".join(bad)


def test_packages_form_no_cycle():
    graph: dict[str, set[str]] = {}
    for path, top in _modules():
        for _, target, module in _imports(path):
            if target != top and top not in LEAVES and target not in LEAVES and not _extra(top, module):
                graph.setdefault(top, set()).add(target)
    seen, stack = set(), []

    def walk(node):
        if node in stack:
            raise AssertionError("import cycle: " + " -> ".join([*stack[stack.index(node) :], node]))
        if node in seen:
            return
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            walk(nxt)
        stack.pop()
        seen.add(node)

    for node in sorted(graph):
        walk(node)


def test_no_module_level_cycle_inside_a_package():
    """Within a package, modules import each other one way only (no a <-> b)."""
    edges = set()
    for path, _ in _modules():
        mod = ".".join(path.relative_to(SRC).with_suffix("").parts)
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.level == 0
                and (node.module or "").startswith("rnnscope.")
            ):
                edges.add((mod, node.module.removeprefix("rnnscope.")))
    mutual = sorted({tuple(sorted(e)) for e in edges if (e[1], e[0]) in edges and e[0] != e[1]})
    assert not [m for m in mutual if not m[0].endswith("__init__") and not m[1].endswith("__init__")], mutual


@pytest.mark.parametrize("needle", ["torch._VF", "_VF.", "._parameters"])
def test_cell_internals_stay_in_models(needle):
    leaks = [str(p.relative_to(SRC)) for p, top in _modules() if top != "models" and needle in p.read_text()]
    assert not leaks, f"{needle} used outside models/: {leaks}"


def test_analysis_is_pure_arrays():
    """analysis/ works on activity from anywhere: no torch."""
    for path in (SRC / "analysis").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                assert not any(n.split(".")[0] == "torch" for n in names), f"{path.name} imports torch"


def test_compute_packages_never_draw():
    """No compute, data or rundir module imports matplotlib or rnnscope.plots (they compute, never draw)."""
    for path, top in _modules():
        if top not in COMPUTE | DATA | {"rundir"}:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                for name in names:
                    assert name.split(".")[0] != "matplotlib", f"{path.relative_to(SRC)} imports matplotlib"
                    assert not name.startswith("rnnscope.plots"), f"{path.relative_to(SRC)} imports plots"


def test_every_command_refuses_a_bad_argument_before_torch():
    """Each command's parser (and its option specs) loads without torch, scipy or matplotlib: an argument
    error costs no heavy import. Run in a fresh interpreter, where nothing was imported before."""
    code = (
        "import sys\n"
        "from rnnscope.cli import COMMANDS, main\n"
        "for cmd in COMMANDS:\n"
        "    assert main([cmd, '--no-such-option']) == 2, cmd\n"
        "    heavy = [m for m in ('torch', 'scipy', 'matplotlib') if m in sys.modules]\n"
        "    assert not heavy, (cmd, heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
