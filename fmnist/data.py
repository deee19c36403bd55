"""Fashion-MNIST data: class names, loading the exercise's CSV files, the train/validation split,
normalisation and one-hot encoding.

Raw images are `uint8` arrays of shape (n, 784) (28 x 28, row-major); labels are `int64` (n,).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from fmnist.csvfile import load_matrix
from fmnist.schema import CLASS_NAMES, IMAGE_SHAPE, N_CLASSES, N_PIXELS, DataError

__all__ = ["CLASS_NAMES", "IMAGE_SHAPE", "N_CLASSES", "N_PIXELS", "DataError", "Standardizer",
           "check_X", "check_y", "default_data_dir", "load_test", "load_train", "one_hot",
           "train_val_split"]


def default_data_dir() -> Path:
    """Where train.csv and test.csv live: env FMNIST_DATA_DIR, else ./data."""
    return Path(os.environ.get("FMNIST_DATA_DIR") or "data")


def load_train(path: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read the exercise's train.csv (label, then 784 pixels per row; header optional).

    Returns X uint8 (n, 784) and y int64 (n,). Raises DataError naming the file, the line and
    what to do on any problem (see `fmnist.csvfile`); parsed arrays are cached under `.cache/`
    beside the file.
    """
    path = Path(path) if path is not None else default_data_dir() / "train.csv"
    M = load_matrix(path, "train")
    return np.ascontiguousarray(M[:, 1:]), M[:, 0].astype(np.int64)


def load_test(path: str | os.PathLike | None = None) -> np.ndarray:
    """Read the exercise's test.csv (784 pixels per row, no labels; header optional).

    Returns X uint8 (n, 784); errors and caching as in `load_train`.
    """
    path = Path(path) if path is not None else default_data_dir() / "test.csv"
    return load_matrix(path, "test")


def train_val_split(X: np.ndarray, y: np.ndarray, val_fraction: float = 0.1,
                    random_state: int = 0):
    """Stratified, seeded split into a training part and a validation part.

    Each class contributes `round(val_fraction * count)` examples to validation, so both parts
    keep the class proportions. Returns `X_train, X_val, y_train, y_val` (rows shuffled).
    Raises DataError when `val_fraction` is not strictly between 0 and 1, or when a class has too
    few rows to give both parts at least one.
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
    if not 0.0 < val_fraction < 1.0:  # also refuses NaN
        raise DataError(f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction}; "
                        "0.1 keeps 10% of each class for validation")
    rng = np.random.default_rng(random_state)
    val_idx = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        n_val = int(round(val_fraction * len(idx)))
        if not 0 < n_val < len(idx):
            name = f" ({CLASS_NAMES[c]})" if 0 <= c < len(CLASS_NAMES) else ""
            need = int(np.ceil(max(0.5 / val_fraction, 0.5 / (1 - val_fraction)))) + 1
            raise DataError(f"class {c}{name} has only {len(idx)} rows: a validation fraction of "
                            f"{val_fraction} leaves {len(idx) - n_val} for training and {n_val} "
                            f"for validation, and both need some; use the full train.csv (or at "
                            f"least {need} rows of every class)")
        rng.shuffle(idx)
        val_idx.append(idx[:n_val])
    val_idx = np.concatenate(val_idx)
    is_val = np.zeros(len(y), dtype=bool)
    is_val[val_idx] = True
    train_idx = rng.permutation(np.flatnonzero(~is_val))
    val_idx = rng.permutation(val_idx)
    return X[train_idx], X[val_idx], y[train_idx], y[val_idx]


class Standardizer:
    """Scale raw pixels to zero mean and unit variance with ONE mean and ONE std for all pixels.

    Fitted on the training part only. A single pair of statistics (rather than one per pixel)
    keeps images images: border pixels that are almost always 0 are not blown up by a tiny std,
    and shifting or flipping an image commutes with normalising it, which augmentation needs.
    """

    def __init__(self):
        self.mean_: float | None = None
        self.std_: float | None = None

    def fit(self, X: np.ndarray) -> Standardizer:
        """X: raw pixels (n, 784), values 0..255."""
        X = np.asarray(X, dtype=np.float64) / 255.0
        self.mean_ = float(X.mean())
        self.std_ = float(X.std()) or 1.0
        return self

    def transform(self, X: np.ndarray, dtype=np.float32) -> np.ndarray:
        """Raw pixels (n, 784) -> normalised float32 (n, 784)."""
        if self.mean_ is None:
            raise RuntimeError("Standardizer is not fitted; call fit(X_train) first")
        scale = np.asarray(1.0 / (255.0 * self.std_), dtype=dtype)
        shift = np.asarray(self.mean_ / self.std_, dtype=dtype)
        return np.asarray(X, dtype=dtype) * scale - shift

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        return self.fit(X).transform(X)

    def to_dict(self) -> dict:
        return {"mean": self.mean_, "std": self.std_}

    @classmethod
    def from_dict(cls, d: dict) -> Standardizer:
        s = cls()
        s.mean_, s.std_ = float(d["mean"]), float(d["std"])
        return s


def one_hot(y: np.ndarray, n_classes: int = N_CLASSES, dtype=np.float32) -> np.ndarray:
    """Integer labels (n,) -> one-hot matrix (n, n_classes)."""
    y = np.asarray(y)
    Y = np.zeros((len(y), n_classes), dtype=dtype)
    Y[np.arange(len(y)), y] = 1
    return Y


# --------------------------------------------------------------------------- array checks
# The models' public methods take raw pixels and labels as arrays; these check them.


def check_X(X, name: str = "X") -> np.ndarray:
    """Raw pixels: a 2-D array (n, 784) of integers 0..255 (any numeric dtype); returned as an
    array. Fractional values mean the pixels were already scaled (e.g. X / 255), which a model
    fitted on raw pixels would silently misread, so they are refused."""
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != N_PIXELS:
        raise ValueError(f"{name} must have shape (n, {N_PIXELS}) (raw pixels), got {X.shape}")
    if X.dtype.kind not in "uif":
        raise ValueError(f"{name} must hold numbers (raw pixels 0..255), got dtype {X.dtype}")
    if len(X) == 0:
        raise ValueError(f"{name} is empty")
    if X.dtype != np.uint8:
        lo, hi = X.min(), X.max()
        if not (np.isfinite(lo) and np.isfinite(hi)) or lo < 0 or hi > 255:
            raise ValueError(f"{name} must hold raw pixels in 0..255, found values in "
                             f"[{lo}, {hi}]")
        if X.dtype.kind == "f" and not np.array_equal(X, np.round(X)):
            raise ValueError(f"{name} holds fractional values (in [{lo:g}, {hi:g}]): it looks "
                             "already scaled (X / 255?); pass the raw pixels, integers 0..255 "
                             "(the model normalises them itself)")
    return X


def check_y(y, n: int, name: str = "y") -> np.ndarray:
    """Integer class labels (n,) in 0..9; returned as int64."""
    y = np.asarray(y)
    if y.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) to match X, got {y.shape}")
    if y.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integer class labels 0..9, got dtype {y.dtype}")
    if y.min() < 0 or y.max() >= N_CLASSES:
        raise ValueError(f"{name} must hold class labels 0..{N_CLASSES - 1}, found values in "
                         f"[{y.min()}, {y.max()}]")
    return y.astype(np.int64, copy=False)


def data_origin(data_dir) -> str:
    """'built' when train.csv and test.csv are the files the project built, else 'supplied'
    (temporary: the tools branch recognises built data by content)."""
    from fmnist.provenance import data_provenance

    return data_provenance(data_dir)["source"]
