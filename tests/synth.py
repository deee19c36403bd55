"""Synthetic data for the tests, in one place: images, learnable toy data, CSV and IDX files.

Nothing here touches the real dataset; every generator is seeded, so a test sees the same
arrays on every run.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np


def make_images(per_class: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random but distinct images: X uint8 (10 * per_class, 784), y int64, classes shuffled."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.repeat(np.arange(10), per_class)).astype(np.int64)
    X = rng.integers(0, 256, size=(len(y), 784), dtype=np.uint8)
    return X, y


def toy_data(n: int = 600, seed: int = 0, noise: float = 60) -> tuple[np.ndarray, np.ndarray]:
    """Learnable fake images: one random prototype per class plus pixel noise, uint8 (n, 784),
    labels int64 (n,) cycling through the classes in a shuffled order."""
    rng = np.random.default_rng(seed)
    protos = rng.integers(0, 256, (10, 784))
    y = np.arange(n) % 10
    rng.shuffle(y)
    X = np.clip(protos[y] + rng.normal(0, noise, (n, 784)), 0, 255).astype(np.uint8)
    return X, y.astype(np.int64)


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


def write_data_dir(folder: Path, n_train: int = 400, n_test: int = 137, seed: int = 1,
                   noise: float = 60) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """folder/train.csv and folder/test.csv (the exercise's format, no header) of learnable
    toy images; returns X (n_train, 784), y, X_test (n_test, 784)."""
    X, y = toy_data(n_train + n_test, seed=seed, noise=noise)
    Path(folder).mkdir(parents=True, exist_ok=True)
    write_train_csv(Path(folder) / "train.csv", X[:n_train], y[:n_train])
    write_test_csv(Path(folder) / "test.csv", X[n_train:])
    return X[:n_train], y[:n_train], X[n_train:]


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
