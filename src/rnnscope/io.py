"""Safe files: atomic writes, JSON with a format version, tensors in safetensors, SHA-256 manifests.

Every file is written to a temporary name in the same directory, fsynced, then renamed over the
target, so a reader sees the old file or the new one, never half of one; it gets the mode a plain
`open()` would give it (0o666 less the umask), not mkstemp's 0600. A directory built under a temporary
name (`temp_dir`) likewise gets `mkdir`'s mode (0o777 less the umask) before it is renamed into place.
Nothing here unpickles.
Every JSON metadata file carries `format_version` and every tensor file may carry it in its safetensors
metadata; readers refuse a newer version with a message that says to upgrade. A JSON file written with
checksum=True also carries `content_sha256`, the SHA-256 of its own content, which `read_json` verifies
(JSON, like safetensors, cannot detect a flipped bit by itself). See docs/reliability.md.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np

from rnnscope.errors import BadArgument, BadRunDirectory

FORMAT_VERSION = 1  # bump when a file layout changes; readers refuse newer versions


class RunFileError(BadRunDirectory):
    """A file of a run directory is missing, corrupt, or from a newer format. The message names it."""


class NewerFormatError(RunFileError):
    """A file written by a newer rnnscope (format_version above FORMAT_VERSION): upgrade, do not repair."""


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def umask() -> int:
    """The process's umask, read without changing it where the system says it (Linux: /proc/self/status);
    elsewhere set and restored at once (a file another thread creates in that instant could get mode
    0o777 & ~0o022)."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def publish_dir(path: str | Path) -> None:
    """Give a directory made by `tempfile.mkdtemp` (mode 0700) the mode `mkdir` would have given it
    (0o777 & ~umask); call it before renaming the directory into place. Its contents keep their modes."""
    os.chmod(path, 0o777 & ~umask())


def temp_dir(parent: str | Path, prefix: str) -> Path:
    """A new, uniquely named directory in `parent` with `mkdir`'s mode, to fill and rename into place."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    publish_dir(path)
    return path


_ENVIRONMENT = (errno.ENOSPC, errno.EDQUOT, errno.EIO)  # the device's fault, not the path's


def make_output_dir(path: str | Path, what: str = "output path") -> Path:
    """Create the directory a user named for output (parents too; an existing one is fine). BadArgument,
    naming it, when it is a file, lies under a file, or cannot be created there (permissions, a read-only
    or pseudo file system: choose another); a full or failing device stays an OSError (the environment)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise BadArgument(f"{what} {path} exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        if err.errno in _ENVIRONMENT:
            raise
        raise BadArgument(f"{what} {path} is not writable ({err.strerror or err})") from None
    return path


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` atomically (temp file in the same directory, fsync, rename), with the mode
    `open()` creates a new file with: 0o666 & ~umask (mkstemp's 0600 would hide it from the user's group)."""
    path = Path(path)
    mode = 0o666 & ~umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as err:  # a full disk or a vanished directory: say which file could not be written
        Path(tmp).unlink(missing_ok=True)
        raise type(err)(err.errno, f"cannot write {path} ({err.strerror or err})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _clean(obj):
    """JSON has no NaN/inf: write them as null would lose them, so write strings "NaN"/"Infinity"."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return "NaN" if math.isnan(obj) else ("Infinity" if obj > 0 else "-Infinity")
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        return _clean(obj.item())
    return obj


def dumps(obj) -> str:
    """JSON text; non-finite floats become "NaN"/"Infinity" strings (never dropped)."""
    return json.dumps(_clean(obj), indent=2, allow_nan=False)


_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _restore(obj):
    if isinstance(obj, str):
        return _NONFINITE.get(obj, obj)
    if isinstance(obj, dict):
        return {k: _restore(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_restore(v) for v in obj]
    return obj


def loads(text: str):
    """Inverse of `dumps`: "NaN"/"Infinity"/"-Infinity" strings become floats again."""
    return _restore(json.loads(text))


CHECKSUM_KEY = "content_sha256"


def content_hash(obj: dict) -> str:
    """SHA-256 of a JSON object's content (keys sorted, without CHECKSUM_KEY): the same before and after
    a dumps/loads round trip."""
    body = {k: v for k, v in obj.items() if k != CHECKSUM_KEY}
    return hashlib.sha256(json.dumps(_clean(body), sort_keys=True, allow_nan=False).encode()).hexdigest()


def write_json(path: str | Path, obj: dict, versioned: bool = True, checksum: bool = False) -> None:
    """Write a JSON object atomically, format_version first (versioned), its own SHA-256 last (checksum)."""
    if versioned:
        obj = {"format_version": FORMAT_VERSION, **obj}
    if checksum:
        obj = {**obj, CHECKSUM_KEY: content_hash(obj)}
    atomic_write_bytes(path, (dumps(obj) + "\n").encode())


def read_json(path: str | Path, what: str = "file", versioned: bool = True) -> dict:
    """Read a JSON metadata file, with a clear RunFileError when missing, corrupt, or too new."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise RunFileError(f"{what} {path} is missing") from None
    except UnicodeDecodeError:
        raise RunFileError(f"{what} {path} is corrupt (not UTF-8 text, so not a JSON file)") from None
    except OSError as err:
        reason = err.strerror or err.__class__.__name__
        raise RunFileError(f"{what} {path} cannot be read ({reason})") from None
    try:
        obj = loads(text)
    except json.JSONDecodeError as err:
        raise RunFileError(f"{what} {path} is corrupt (invalid JSON at line {err.lineno})") from None
    if not isinstance(obj, dict):
        raise RunFileError(f"{what} {path} is corrupt (expected a JSON object)")
    if CHECKSUM_KEY in obj and obj[CHECKSUM_KEY] != content_hash(obj):
        raise RunFileError(f"{what} {path} is corrupt (its content does not match its SHA-256)")
    if versioned:
        check_version(obj, path, what)
    return obj


def check_version(obj: dict, path, what: str) -> None:
    v = obj.get("format_version")
    if not isinstance(v, int):
        raise RunFileError(f"{what} {path} has no format_version; it was not written by rnnscope")
    if v > FORMAT_VERSION:
        raise NewerFormatError(
            f"{what} {path} has format version {v}, newer than this rnnscope reads "
            f"({FORMAT_VERSION}); upgrade rnnscope"
        )


def save_tensors(path: str | Path, tensors: dict, metadata: dict | None = None) -> None:
    """safetensors file, written atomically. tensors: name -> torch.Tensor; metadata: str -> str."""
    # torch is imported on first use only (CLI start-up)
    from safetensors.torch import save  # noqa: PLC0415

    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    atomic_write_bytes(path, save(tensors, metadata=metadata))


def load_tensors(path: str | Path, what: str = "tensor file") -> dict:
    """Load a safetensors file (never executes code); RunFileError when missing, corrupt, or from a newer
    format (a `format_version` in its metadata above FORMAT_VERSION)."""
    # torch is imported on first use only (CLI start-up)
    from safetensors import SafetensorError, safe_open  # noqa: PLC0415

    path = Path(path)
    if not path.exists():
        raise RunFileError(f"{what} {path} is missing")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        first = str(err).splitlines()[0] if str(err) else err.__class__.__name__
        raise RunFileError(f"{what} {path} is corrupt or not a safetensors file ({first})") from None
    if "format_version" in meta:
        try:
            version = int(meta["format_version"])
        except ValueError:
            bad = meta["format_version"]
            raise RunFileError(f"{what} {path} is corrupt (format_version {bad!r})") from None
        check_version({"format_version": version}, path, what)
    return tensors


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
