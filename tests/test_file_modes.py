"""Files and directories rnnscope writes get the modes a plain `open()` / `mkdir()` would give them (the
user's umask), not the 0600 / 0700 of the temporary names they are built under (docs/reliability.md)."""

import os
import stat
from pathlib import Path

import pytest

from conftest import tiny_train_args
from rnnscope.cli import main
from rnnscope.errors import BadArgument
from rnnscope.io import atomic_write_bytes, make_output_dir, publish_dir, temp_dir, umask

TINY = tiny_train_args(epochs=2)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def with_umask():
    """Call with a mask to set it for the rest of the test; the old one comes back afterwards."""
    old = os.umask(0o022)
    os.umask(old)
    yield os.umask
    os.umask(old)


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002], ids=oct)
def test_umask_is_read_without_changing_it(with_umask, mask):
    with_umask(mask)
    assert umask() == mask
    assert umask() == mask  # reading it twice changes nothing


@pytest.mark.parametrize(
    "mask, file_mode, dir_mode",
    [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700)],
    ids=["umask-022", "umask-077"],
)
def test_a_training_run_has_the_modes_of_the_umask(tmp_path, with_umask, mask, file_mode, dir_mode):
    out = tmp_path / "run"
    with_umask(mask)
    assert main(["train", "--out", str(out), *TINY]) == 0
    paths = [out, *out.rglob("*")]
    files = {str(p.relative_to(out)): oct(_mode(p)) for p in paths if p.is_file()}
    dirs = {str(p.relative_to(out)): oct(_mode(p)) for p in paths if p.is_dir()}
    assert {"config.json", "model.safetensors", "status.json", "history.jsonl"} <= set(files)
    assert any(d.startswith("checkpoints/") for d in dirs), dirs
    assert set(files.values()) == {oct(file_mode)}, files
    assert set(dirs.values()) == {oct(dir_mode)}, dirs


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o027], ids=oct)
def test_atomic_writes_and_published_directories_follow_the_umask(tmp_path, with_umask, mask):
    with_umask(mask)
    atomic_write_bytes(tmp_path / "new.txt", b"x")
    (tmp_path / "plain.txt").write_bytes(b"x")
    assert _mode(tmp_path / "new.txt") == _mode(tmp_path / "plain.txt") == 0o666 & ~mask
    atomic_write_bytes(tmp_path / "new.txt", b"again")  # a replaced file too
    assert _mode(tmp_path / "new.txt") == 0o666 & ~mask
    built = temp_dir(tmp_path, ".built-")
    (tmp_path / "plain").mkdir()
    assert _mode(built) == _mode(tmp_path / "plain") == 0o777 & ~mask
    os.chmod(built, 0o700)
    publish_dir(built)
    assert _mode(built) == 0o777 & ~mask
    assert _mode(make_output_dir(tmp_path / "a" / "b")) == 0o777 & ~mask


def test_an_output_directory_that_cannot_be_made_is_a_bad_argument(tmp_path):
    (tmp_path / "file").write_text("keep me")
    with pytest.raises(BadArgument, match="exists and is not a directory"):
        make_output_dir(tmp_path / "file")
    with pytest.raises(BadArgument, match="is not writable"):
        make_output_dir(tmp_path / "file" / "under")
    with pytest.raises(BadArgument, match="/proc/rnnscope-out is not writable"):
        make_output_dir("/proc/rnnscope-out")
    assert (tmp_path / "file").read_text() == "keep me"
