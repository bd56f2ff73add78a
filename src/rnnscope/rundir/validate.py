"""Checking the shape of a JSON object read from a file, with one message that names the file."""

from __future__ import annotations

from pathlib import Path

from rnnscope.io import RunFileError

NUMBER = (int, float)


class Fields:
    """Typed access to a JSON object `obj` read from `path` ("what" names it in messages).

    Every accessor raises RunFileError "... does not have the expected layout (...)" when the key is
    absent (unless a default is given) or holds the wrong type; bool is never accepted as a number."""

    def __init__(self, obj, what: str, path: Path | str | None):
        self.what, self.path = what, path
        if not isinstance(obj, dict):
            self.fail(f"expected a JSON object, got {type(obj).__name__}")
        self.obj = obj

    def fail(self, why: str):
        where = f"{self.what} {self.path}" if self.path is not None else self.what
        raise RunFileError(
            f"{where} does not have the expected layout ({why}); run the command that wrote it again"
        )

    def get(self, key: str, types, default=...):
        if key not in self.obj:
            if default is ...:
                self.fail(f"no {key}")
            return default
        value = self.obj[key]
        types = types if isinstance(types, tuple) else (types,)
        if value is None and type(None) in types:
            return None
        if isinstance(value, bool) and bool not in types:
            self.fail(f"{key} is {value!r}")
        if not isinstance(value, tuple(t for t in types if t is not type(None))):
            self.fail(f"{key} is {type(value).__name__}, not {' or '.join(t.__name__ for t in types)}")
        return value

    def sub(self, key: str, default=...) -> Fields | None:
        """The object under `key` as Fields (None when absent or null and a default is given)."""
        value = self.get(key, (dict, type(None)), default)
        return None if value is None else Fields(value, f"{self.what} ({key})", self.path)

    def rows(self, key: str, default=...) -> list[Fields]:
        """A list of objects under `key`."""
        value = self.get(key, (list, type(None)), default)
        out = []
        for i, item in enumerate(value or []):
            if not isinstance(item, dict):
                self.fail(f"{key}[{i}] is {type(item).__name__}, not an object")
            out.append(Fields(item, f"{self.what} ({key}[{i}])", self.path))
        return out

    def mapping(self, key: str, types, default=...) -> dict:
        """A JSON object under `key` whose values all have `types`."""
        value = self.get(key, dict, default)
        types = types if isinstance(types, tuple) else (types,)
        for k, v in (value or {}).items():
            if (isinstance(v, bool) and bool not in types) or not isinstance(v, types):
                self.fail(f"{key}[{k!r}] is {v!r}")
        return value

    def numbers(self, key: str, default=...) -> list:
        value = self.get(key, list, default)
        for v in value or []:
            if isinstance(v, bool) or not isinstance(v, NUMBER):
                self.fail(f"{key} holds {v!r}, not a number")
        return value
