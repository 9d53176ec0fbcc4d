"""Files in the state dir, written so that a reader, or another stack started in the same checkout,
never sees half of one: each write goes through a temporary file of its own, then a rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def _temporary_copy(path: Path, data: bytes, mode: int) -> Path:
    """`data` in a new, uniquely named file next to `path` (same file system: the rename is atomic)."""
    with tempfile.NamedTemporaryFile(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    ) as tmp:
        try:
            os.fchmod(tmp.fileno(), mode)
            tmp.write(data)
        except BaseException:
            tmp.close()
            os.unlink(tmp.name)
            raise
    return Path(tmp.name)


def write_atomically(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace `path` with `data` in one step: readers see the old file or the new one, whole."""
    tmp = _temporary_copy(path, data, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def create_exclusively(path: Path, data: bytes, mode: int = 0o644) -> bool:
    """Create `path` with `data` unless it exists; whole, and the first of racing writers wins.

    Returns whether this call created it."""
    tmp = _temporary_copy(path, data, mode)
    try:
        os.link(tmp, path)  # fails if the path exists, unlike a rename
    except FileExistsError:
        return False
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return True
