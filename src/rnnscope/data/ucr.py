"""Real data sets: the UCR/UEA files shipped inside the `aeon` wheel, and the user's own files.

The aeon 1.6.0 wheel holds `aeon/datasets/data/<Name>/<Name>_TRAIN.ts` and `_TEST.ts` with the official
splits. They are located with `importlib.util.find_spec`, which imports nothing, so aeon's heavy
dependencies (numba, pandas, scikit-learn) are never needed: `pip install --no-deps aeon==1.6.0` suffices.

Every loader returns a DataBundle: x (N, T, C) float32 zero-padded, y (N,) int64, lengths (N,) int64.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path

from rnnscope.data.csvfiles import parse_csv
from rnnscope.data.dataset import DataBundle
from rnnscope.data.formats import _read_text, fail, read_npz, read_split, summarize_ts
from rnnscope.data.prepare import prepare
from rnnscope.errors import MissingExtra
from rnnscope.names import canonical

_AEON_PACKAGE = "aeon"  # a module attribute so tests can pretend aeon is absent
_INSTALL_HINT = (
    'pip install "rnnscope[ucr]" (or, without aeon\'s dependencies: pip install --no-deps aeon==1.6.0)'
)

# The classification data sets in the aeon 1.6.0 wheel, with what they are (a plain-dict registry).
DATASETS = {
    "GunPoint": "hand motion, gun draw vs point (univariate, 150 steps)",
    "ItalyPowerDemand": "daily power demand, winter vs summer (univariate, 24 steps)",
    "ArrowHead": "arrowhead outlines as angle series (univariate, 251 steps)",
    "OSULeaf": "leaf outlines (univariate, 427 steps; aeon drops it in 1.7)",
    "ACSF1": "appliance power signatures (univariate, 1460 steps)",
    "PickupGestureWiimoteZ": "Wiimote gestures, z axis (univariate, variable length)",
    "BasicMotions": "smart-watch accelerometer and gyroscope (6 channels, 100 steps)",
    "JapaneseVowels": "speaker from LPC cepstra (12 channels, variable length)",
}
_EXTENSIONS = (".ts", ".tsv", ".txt", ".csv")  # preference order when one name exists in several formats


def _data_root() -> Path:
    """aeon's dataset folder, found without importing aeon."""
    spec = importlib.util.find_spec(_AEON_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtra(
            "the built-in UCR/UEA data sets come from the aeon wheel, which is not "
            f"installed: {_INSTALL_HINT}"
        )
    for location in spec.submodule_search_locations:
        root = Path(location) / "datasets" / "data"
        if root.is_dir():
            return root
    raise MissingExtra(f"aeon is installed but holds no datasets/data folder; reinstall it: {_INSTALL_HINT}")


def _aeon_version() -> str | None:
    try:
        return importlib.metadata.version(_AEON_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return None


def _resolve(name: str) -> str:
    return canonical(name, tuple(DATASETS), "dataset")


def _files(name: str) -> tuple[Path, Path]:
    folder = _data_root() / name
    train, test = folder / f"{name}_TRAIN.ts", folder / f"{name}_TEST.ts"
    for path in (train, test):
        if not path.is_file():
            raise MissingExtra(
                f"{path} is missing from the installed aeon {_aeon_version()}; {_INSTALL_HINT}"
            )
    return train, test


def list_datasets() -> list[dict]:
    """The built-in data sets, read cheaply from the file headers and line structure (nothing cached).

    Each dict: name, description, n_train, n_test, length_min, length_max, channels, classes.
    """
    rows = []
    for name, description in DATASETS.items():
        train, test = (summarize_ts(p) for p in _files(name))
        rows.append(
            {
                "name": name,
                "description": description,
                "n_train": train["n"],
                "n_test": test["n"],
                "length_min": min(train["length_min"], test["length_min"]),
                "length_max": max(train["length_max"], test["length_max"]),
                "channels": max(train["channels"] + test["channels"]),
                "classes": len(set(train["labels"]) | set(test["labels"])),
            }
        )
    return rows


def load_dataset(
    name: str,
    *,
    normalize: str = "channel",
    missing: str = "interpolate",
    truncate: int | None = None,
    downsample: int | str | None = None,
    downsample_by: str = "every",
    downsample_max_steps: int | None = None,
) -> DataBundle:
    """A built-in data set with its official train/test split (names: DATASETS, case-insensitive).

    normalize: "none" | "series" | "channel"; missing: "interpolate" | "error"; truncate, downsample,
    downsample_by, downsample_max_steps: see prepare.prepare. Raises BadArgument (a ValueError) for an
    unknown name, MissingExtra (an ImportError) when aeon is not installed.
    """
    name = _resolve(name)
    train_path, test_path = _files(name)
    source = {
        "kind": "ucr",
        "name": name,
        "format": "ts",
        "aeon_version": _aeon_version(),
        "files": {
            "train": f"aeon:datasets/data/{name}/{train_path.name}",
            "test": f"aeon:datasets/data/{name}/{test_path.name}",
        },
    }
    return prepare(
        read_split(train_path),
        read_split(test_path),
        normalize=normalize,
        missing=missing,
        truncate=truncate,
        downsample=downsample,
        downsample_by=downsample_by,
        source=source,
        downsample_max_steps=downsample_max_steps,
    )


def _split_name(path: Path) -> tuple[str, str] | None:
    """'<Name>_TRAIN.<ext>' -> (Name, ext) for the supported text formats, else None."""
    ext = path.suffix.lower()
    if ext in _EXTENSIONS and path.stem.upper().endswith("_TRAIN"):
        return path.stem[: -len("_TRAIN")], path.suffix
    return None


def _find_files(path: Path) -> tuple[Path, Path] | Path:
    """--data PATH -> (train, test) text files, or one .npz. Raises DataFormatError when ambiguous/missing."""
    if not path.exists():
        raise fail(path, "", "no such file or directory")
    if path.is_file():
        if path.suffix.lower() == ".npz":
            return path
        named = _split_name(path)
        if named is None:
            raise fail(path, "", "expected a directory, a .npz file or a <Name>_TRAIN.ts/.tsv/.txt/.csv file")
        pairs = {named: path}
        folder = path.parent
    else:
        folder = path
        pairs = {n: p for p in sorted(folder.iterdir()) if p.is_file() and (n := _split_name(p))}
    complete = {}
    for (name, ext), train in pairs.items():
        test = next((p for p in folder.iterdir() if p.name.upper() == f"{name}_TEST{ext}".upper()), None)
        if test is not None:
            complete.setdefault(name, []).append((train, test))
    if len(complete) > 1:
        names = ", ".join(sorted(complete))
        raise fail(path, "", f"holds several data sets ({names}); point --data at one file")
    if complete:
        (choices,) = complete.values()
        return min(choices, key=lambda pair: _EXTENSIONS.index(pair[0].suffix.lower()))
    if pairs:
        (name, ext), train = next(iter(pairs.items()))
        raise fail(folder / f"{name}_TEST{ext}", "", f"missing TEST file (found {train.name})")
    npz = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".npz")
    if len(npz) == 1:
        return npz[0]
    if npz:
        raise fail(path, "", f"holds {len(npz)} .npz files; point --data at one of them")
    raise fail(path, "", "no <Name>_TRAIN/<Name>_TEST files (.ts, .tsv, .txt, .csv) and no .npz file")


def _read(path: Path, label_column) -> object:
    """One text split: .csv by rnnscope.data.csvfiles (label column, header detection), else read_split."""
    if path.suffix.lower() == ".csv":
        return parse_csv(_read_text(path), str(path), label_column)
    return read_split(path)


def load_directory(
    path: str | Path,
    *,
    normalize: str = "channel",
    missing: str = "interpolate",
    truncate: int | None = None,
    downsample: int | str | None = None,
    downsample_by: str = "every",
    label_column: int | str | None = None,
    downsample_max_steps: int | None = None,
) -> DataBundle:
    """The user's own data for `--data PATH`.

    PATH: a directory holding <Name>_TRAIN.<ext> and <Name>_TEST.<ext> (ext: ts, tsv, txt), a <Name>_TRAIN
    file itself, a .npz with X_train, y_train, X_test, y_test, or a directory holding exactly one .npz.
    label_column: .csv files only: the label's 0-based column or header name (default: the first column).
    normalize, truncate, downsample, downsample_by, downsample_max_steps: see prepare.prepare.
    Raises DataFormatError (one line naming the file and line) for anything it cannot use.
    """
    try:
        found = _find_files(Path(path))
    except OSError as e:  # e.g. a directory the user may not list
        raise fail(path, "", f"cannot read ({e.strerror or e})") from None
    if isinstance(found, Path):
        train, test = read_npz(found)
        source = {"kind": "files", "name": found.stem, "format": "npz", "path": str(found.resolve())}
    else:
        if label_column is not None and found[0].suffix.lower() != ".csv":
            raise fail(found[0], "", "a label column can be chosen for .csv files only (others: the first)")
        train, test = _read(found[0], label_column), _read(found[1], label_column)
        source = {
            "kind": "files",
            "name": found[0].stem[: -len("_TRAIN")],
            "format": found[0].suffix.lower()[1:],
            "path": str(Path(path).resolve()),
            "files": {"train": str(found[0].resolve()), "test": str(found[1].resolve())},
        }
    return prepare(
        train,
        test,
        normalize=normalize,
        missing=missing,
        truncate=truncate,
        downsample=downsample,
        downsample_by=downsample_by,
        source=source,
        downsample_max_steps=downsample_max_steps,
    )
