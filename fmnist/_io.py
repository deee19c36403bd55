"""Small file helpers: every file the project writes is written atomically."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", **open_kwargs) -> Iterator:
    """Open a temporary file beside `path`; rename it over `path` only if the block succeeds.

    An interrupted or failing write leaves no partial file behind (and an old `path`, if any,
    untouched), because the rename is the last step and is atomic on one filesystem.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        with os.fdopen(fd, mode, **open_kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_predictions(path: str | os.PathLike, y_pred: np.ndarray) -> Path:
    """Write class predictions in the exercise's format: one integer per line, nothing else."""
    y_pred = np.asarray(y_pred)
    if y_pred.ndim != 1:
        raise ValueError(f"predictions must be 1-D, got shape {y_pred.shape}")
    if y_pred.size and (y_pred.min() < 0 or y_pred.max() > 9):
        raise ValueError("predictions must be class indices 0..9")
    with atomic_write(path, "w", newline="\n") as f:
        f.write("".join(f"{int(c)}\n" for c in y_pred))
    return Path(path)


def read_predictions(path: str | os.PathLike) -> np.ndarray:
    """Read a predictions file written by `write_predictions`, shape (n,)."""
    return np.loadtxt(path, dtype=np.int64, ndmin=1)
