"""Fashion-MNIST data: reading the exercise's CSV files (a bad row is a DataError naming the
file and line), the train/validation split, normalisation, and writing predictions.
Images are `uint8` (n, 784) (28 x 28, row-major); labels `int64` (n,)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

N_PIXELS = 784
N_CLASSES = 10
IMAGE_SHAPE = (28, 28)
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

_INT = re.compile(r"[+-]?[0-9]+", re.ASCII)
_DIGITS_AND_COMMAS = b"0123456789+-, \t\r\n"
ROW = {"train": "a label 0..9 then 784 pixel values 0..255, separated by commas",
       "test": "784 pixel values 0..255 separated by commas, no label"}


class DataError(ValueError):
    """A problem with an input the user can fix; the message says where and what to do."""


def default_data_dir() -> Path:
    """Where train.csv and test.csv live: env FMNIST_DATA_DIR, else ./data."""
    return Path(os.environ.get("FMNIST_DATA_DIR") or "data")


def load_train(path: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read train.csv (a label 0..9 then 784 pixels per row, header optional):
    X uint8 (n, 784), y int64 (n,)."""
    M = _load(path, "train")
    missing = [f"{c} ({CLASS_NAMES[c]})" for c in range(N_CLASSES) if c not in M[:, 0]]
    if missing:
        raise DataError(f"{path or 'train.csv'}: no training example of class "
                        f"{', '.join(missing)}; every class needs examples, so use the full "
                        "train.csv")
    return np.ascontiguousarray(M[:, 1:]), M[:, 0].astype(np.int64)


def load_test(path: str | os.PathLike | None = None) -> np.ndarray:
    """Read test.csv (784 pixels per row, no label, header optional): X uint8 (n, 784)."""
    return _load(path, "test")


def _load(path: str | os.PathLike | None, kind: str) -> np.ndarray:
    """The checked uint8 matrix (n, 785) or (n, 784); cached while the file is unchanged."""
    path = Path(path) if path is not None else default_data_dir() / f"{kind}.csv"
    if not path.is_file() or path.stat().st_size > 1 << 30:  # the course's train.csv: 0.13 GB
        raise DataError(f"{path}: file not found (or not a file, or over 1 GB); run `make data` "
                        f"to build or diagnose it, or copy the course's {path.name} there")
    st = path.stat()  # a cache is for one version of the file: its size, time and inode
    key = f"{path.name}.{kind}.{st.st_size}-{st.st_mtime_ns}-{st.st_ino}"
    for cache in (path.parent / ".cache").glob(key + "-*.npy"):
        with contextlib.suppress(Exception):  # a damaged cache only means parsing again
            M = np.load(cache, allow_pickle=False)
            if cache.stem.endswith(array_sha256(M)) and M.shape[1] == N_PIXELS + (kind == "train"):
                return M
    try:
        M = parse_csv(path, path.read_bytes(), kind)
    except OSError as err:
        raise DataError(f"{path}: could not be read ({err.strerror}); check its permissions, "
                        "or copy the file again") from None
    with contextlib.suppress(OSError):  # a read-only data folder only costs speed
        with atomic_write(path.parent / ".cache" / f"{key}-{array_sha256(M)}.npy", "wb") as f:
            np.save(f, M, allow_pickle=False)
    return M


def parse_csv(path: Path, raw: bytes, kind: str) -> np.ndarray:
    """The uint8 matrix of a file's bytes; DataError names its first bad line."""
    raw = raw.removeprefix(b"\xef\xbb\xbf").replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    lines = [line.strip(b" \t") for line in raw.split(b"\n")]  # LF, CRLF or CR line ends
    start = next((i for i, line in enumerate(lines) if line), len(lines))
    if start < len(lines) and is_header(lines[start].decode("utf-8", "replace")):
        n, start = len(lines[start].split(b",")), start + 1
        if n != N_PIXELS + (kind == "train"):
            raise DataError(f"{path}, line {start}: header with {_count_problem(kind, n)}")
    if not any(lines[start:]):
        raise DataError(f"{path}: no data rows (the file is empty, or only a header); it should "
                        f"hold one image per line ({ROW[kind]})")
    M = _parse_block(lines[start:], kind)  # the whole file at once; only a bad one goes on
    if M is not None:
        return M
    for b in range(start, len(lines), 1000):  # the first bad line, a block at a time
        block = lines[b:b + 1000]
        if _parse_block(block, kind) is None:
            for lineno, line in enumerate(block, b + 1):
                if problem := row_problem(line, kind):
                    raise DataError(f"{path}, line {lineno}: {problem}")
    raise DataError(f"{path}: could not be read as {ROW[kind]}; check the file")


def is_header(line: str) -> bool:
    """Names of columns: words only (`label,pixel1,...`) or a run of numbers (`0,1,...,783`)."""
    numbers = [int(c) for c in line.split(",")[:2 * N_PIXELS] if _INT.fullmatch(c.strip())]
    if not numbers:
        return any(ch.isalpha() for ch in line)
    return len(numbers) >= 300 and bool(np.all(np.diff(numbers) == 1))


def _parse_block(lines: list[bytes], kind: str) -> np.ndarray | None:
    """pandas' C parser straight into uint8 (it refuses values outside 0..255), or None if any
    row is bad or there is none. Only digits and commas pass: pandas reads `1e2` as 100."""
    body, commas = b"\n".join(lines), N_PIXELS - (kind == "test")
    if body.translate(None, _DIGITS_AND_COMMAS) or not body.strip() or any(
            line.count(b",") != commas for line in lines if line):  # pandas is slow on those
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            M = pd.read_csv(io.BytesIO(body), header=None, dtype=np.uint8,
                            na_filter=False).to_numpy()
    except (ValueError, OverflowError, pd.errors.ParserError):
        return None
    if M.shape[1] != N_PIXELS + (kind == "train") or (kind == "train" and M[:, 0].max() > 9):
        return None
    return M


def row_problem(line: bytes, kind: str) -> str | None:
    """What is wrong with one data line, or None if it is fine (or blank)."""
    if not line.strip(b" \t\r"):
        return None  # a blank line
    if line.count(b",") != N_PIXELS - (kind == "test"):
        return _count_problem(kind, line.count(b",") + 1)
    cells = [c.strip(b" \t\r").decode("utf-8", "replace") for c in line.split(b",")]
    for j, cell in enumerate(cells):
        is_label = kind == "train" and j == 0
        column = f"column {j + 1} (pixel {j + (kind == 'test')})"
        column = "column 1 (the label)" if is_label else column
        value = int(cell) if _INT.fullmatch(cell) else None
        if not cell:
            return f"{column} is empty; every row needs {ROW[kind]}"
        if is_label:
            if value is None or not 0 <= value <= 9:
                return (f"label {cell[:20]!r} is not an integer 0..9 (one of the classes "
                        f"{', '.join(CLASS_NAMES)}); fix or delete the line")
        elif value is None:
            return f"{column} is {cell[:20]!r}, not an integer; pixels must be integers 0..255"
        elif not 0 <= value <= 255:
            return f"{column} is {cell}, outside 0..255; pixels must be integers 0..255"
    return None


def _count_problem(kind: str, n: int) -> str:
    hint = {("test", 785): "the label column seems to be included (delete it)",
            ("train", 784): "the label column seems to be missing"}.get((kind, n))
    return (f"{n} value{'' if n == 1 else 's'}, expected {N_PIXELS + (kind == 'train')} "
            f"({ROW[kind]}); {hint or 'fix the line or check that it is comma-separated'}")


def array_sha256(M: np.ndarray) -> str:
    """SHA-256 of a parsed matrix's shape and values: the same for every spelling of it as CSV
    (header or not, CRLF, spaces), unlike a checksum of the file's bytes."""
    M = np.ascontiguousarray(M, dtype=np.uint8)
    return hashlib.sha256(f"{M.shape}".encode() + M.tobytes()).hexdigest()


def train_val_split(X: np.ndarray, y: np.ndarray, val_fraction: float = 0.1,
                    random_state: int = 0):
    """Stratified, seeded split: each class gives round(val_fraction * count) rows to validation.
    Returns X_train, X_val, y_train, y_val, rows shuffled."""
    X, y = np.asarray(X), np.asarray(y)
    if not 0.0 < val_fraction < 1.0:  # also refuses NaN
        raise DataError(f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction}; "
                        "0.1 keeps 10% of each class for validation")
    rng = np.random.default_rng(random_state)
    is_val = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_val = round(val_fraction * len(idx))
        if not 0 < n_val < len(idx):
            raise DataError(f"class {c} ({CLASS_NAMES[c]}) has only {len(idx)} rows: a validation "
                            f"fraction of {val_fraction} leaves {len(idx) - n_val} for training "
                            f"and {n_val} for validation; use the full train.csv")
        is_val[idx[:n_val]] = True
    train_idx = rng.permutation(np.flatnonzero(~is_val))
    val_idx = rng.permutation(np.flatnonzero(is_val))
    return X[train_idx], X[val_idx], y[train_idx], y[val_idx]


class Standardizer:
    """ONE mean and ONE std for all pixels, fitted on the training part: unlike per-pixel ones,
    they do not blow up near-constant border pixels, and flipping commutes with them."""

    def fit(self, X: np.ndarray) -> Standardizer:
        X = np.asarray(X, dtype=np.float64) / 255.0  # (n, 784) raw pixels -> [0, 1]
        self.mean_ = float(X.mean())
        self.std_ = float(X.std()) or 1.0
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Raw pixels (n, 784) -> (X / 255 - mean) / std, float32 (n, 784)."""
        if not hasattr(self, "mean_"):
            raise RuntimeError("Standardizer is not fitted; call fit(X_train) first")
        return ((np.asarray(X, np.float32) / 255 - self.mean_) / self.std_).astype(np.float32)

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
    """Integer labels (n,) -> one-hot matrix Y (n, n_classes)."""
    return np.eye(n_classes, dtype=dtype)[y]


def check_X(X, name: str = "X") -> np.ndarray:
    """Raw pixels (n, 784), numbers 0..255; fractions (pixels already scaled?) are refused."""
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != N_PIXELS or X.dtype.kind not in "uif" or not len(X):
        raise ValueError(f"{name} must have shape (n, {N_PIXELS}) with n > 0, and must hold "
                         f"numbers (raw pixels 0..255); got {X.shape}, dtype {X.dtype}")
    if X.dtype != np.uint8:
        lo, hi = X.min(), X.max()
        if not 0 <= lo <= hi <= 255:  # NaN fails too
            raise ValueError(f"{name} must hold raw pixels in 0..255, found [{lo}, {hi}]")
        if X.dtype.kind == "f" and not np.array_equal(X, np.round(X)):
            raise ValueError(f"{name} holds fractional values (in [{lo:g}, {hi:g}]): it looks "
                             "already scaled (X / 255?); pass the raw pixels, integers 0..255")
    return X


def check_y(y, n: int, name: str = "y") -> np.ndarray:
    """Integer class labels (n,) in 0..9; returned as int64."""
    y = np.asarray(y)
    if y.shape != (n,) or y.dtype.kind not in "iu" or not 0 <= y.min() <= y.max() <= 9:
        raise ValueError(f"{name} must have shape ({n},) to match X and hold integer class "
                         f"labels 0..9, got shape {y.shape}, dtype {y.dtype}")
    return y.astype(np.int64, copy=False)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", **open_kwargs):
    """A temporary file, renamed over `path` only when the block succeeds: never half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; outputs are readable like any file
        with os.fdopen(fd, mode, **open_kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_predictions(path: str | os.PathLike, y_pred: np.ndarray) -> Path:
    """Write class predictions in the exercise's format: one integer per line, nothing else."""
    y_pred = np.asarray(y_pred)
    if y_pred.ndim != 1 or (y_pred.size and (y_pred.min() < 0 or y_pred.max() > 9)):
        raise ValueError(f"predictions must be class indices 0..9 of shape (n,), got {y_pred}")
    with atomic_write(path, "w", newline="\n") as f:
        f.write("".join(f"{int(c)}\n" for c in y_pred))
    return Path(path)
