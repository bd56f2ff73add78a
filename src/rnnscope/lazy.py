"""Packages whose public names load on first use (PEP 562), so that importing a package — or one light
module inside it — does not import torch, scipy or matplotlib before they are needed.

    __getattr__, __dir__ = lazy_names(globals(), {"name": "module.path", ...})
"""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_names(namespace: dict, names: dict[str, str]) -> tuple[Callable, Callable]:
    """The module-level `__getattr__` and `__dir__` of a package (its `globals()` as namespace) whose
    names {name: module} are imported from their modules on first access and then kept."""

    def __getattr__(name: str):
        if name in names:
            value = getattr(importlib.import_module(names[name]), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(namespace.get("__all__", ())) | set(names))

    return __getattr__, __dir__
