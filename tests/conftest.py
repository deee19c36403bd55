"""Shared test helpers: small synthetic CSV and IDX files, the real Debian IDX directory."""

from __future__ import annotations

import gzip
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
REAL_IDX_DIR = Path("/usr/share/datasets/fashion-mnist")
HAVE_REAL_IDX = all(
    (REAL_IDX_DIR / f"{stem}.gz").is_file() or (REAL_IDX_DIR / stem).is_file()
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
)
requires_real_idx = pytest.mark.skipif(
    not HAVE_REAL_IDX, reason=f"Debian's dataset-fashion-mnist is not installed ({REAL_IDX_DIR})")


def make_images(per_class: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random but distinct images: X uint8 (10 * per_class, 784), y int64, classes shuffled."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.repeat(np.arange(10), per_class)).astype(np.int64)
    X = rng.integers(0, 256, size=(len(y), 784), dtype=np.uint8)
    return X, y


def csv_text(M: np.ndarray, header: str | None = None) -> str:
    """Integer matrix -> CSV text, optional header line."""
    lines = [",".join(str(int(v)) for v in row) for row in M]
    if header is not None:
        lines.insert(0, header)
    return "\n".join(lines) + "\n"


def header_line(kind: str) -> str:
    """Kaggle-style header: `label,pixel1,...,pixel784` (train) or `pixel1,...` (test)."""
    pixels = ",".join(f"pixel{i}" for i in range(1, 785))
    return "label," + pixels if kind == "train" else pixels


def write_train_csv(path: Path, X: np.ndarray, y: np.ndarray, header: bool = False) -> Path:
    path.write_text(csv_text(np.column_stack([y, X]), header_line("train") if header else None))
    return path


def write_test_csv(path: Path, X: np.ndarray, header: bool = False) -> Path:
    path.write_text(csv_text(X, header_line("test") if header else None))
    return path


def write_idx(path: Path, array: np.ndarray) -> Path:
    """Write a uint8 array of 1 or 3 dimensions in IDX format (gzipped if path ends in .gz)."""
    array = np.asarray(array, dtype=np.uint8)
    magic = 0x0800 | array.ndim
    data = struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape)
    data += array.tobytes()
    if path.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    return path


def write_idx_dir(directory: Path, train_per_class: int = 6, test_per_class: int = 2,
                  seed: int = 0, gz: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Four synthetic IDX files like Debian's; returns the pooled X (n, 784), y (n,)."""
    directory.mkdir(parents=True, exist_ok=True)
    X_tr, y_tr = make_images(train_per_class, seed)
    X_te, y_te = make_images(test_per_class, seed + 1)
    ext = ".gz" if gz else ""
    write_idx(directory / f"train-images-idx3-ubyte{ext}", X_tr.reshape(-1, 28, 28))
    write_idx(directory / f"train-labels-idx1-ubyte{ext}", y_tr)
    write_idx(directory / f"t10k-images-idx3-ubyte{ext}", X_te.reshape(-1, 28, 28))
    write_idx(directory / f"t10k-labels-idx1-ubyte{ext}", y_te)
    return np.concatenate([X_tr, X_te]), np.concatenate([y_tr, y_te])


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None):
    """`python -m fmnist ARGS` in a subprocess; returns the CompletedProcess (text)."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "fmnist", *args], capture_output=True,
                          text=True, env=full_env, cwd=cwd or ROOT, timeout=300)


@pytest.fixture
def small_train(tmp_path):
    """A valid headerless train.csv with 3 examples per class: (path, X, y)."""
    X, y = make_images(3)
    return write_train_csv(tmp_path / "train.csv", X, y), X, y


@pytest.fixture
def small_test(tmp_path):
    """A valid headerless test.csv with 12 rows: (path, X)."""
    X, _ = make_images(1, seed=5)
    X = np.concatenate([X, X[:2]])
    return write_test_csv(tmp_path / "test.csv", X), X


@pytest.fixture(scope="session")
def real_build(tmp_path_factory):
    """The one full build from the real IDX files, through the CLI: (data_dir, CompletedProcess)."""
    if not HAVE_REAL_IDX:
        pytest.skip(f"Debian's dataset-fashion-mnist is not installed ({REAL_IDX_DIR})")
    data_dir = tmp_path_factory.mktemp("real_data")
    proc = run_cli("data", "--data-dir", str(data_dir), "--idx-dir", str(REAL_IDX_DIR))
    return data_dir, proc
