"""Fashion-MNIST data: class names, loading the exercise's CSV files, the train/validation split,
normalisation and one-hot encoding.

Raw images are `uint8` arrays of shape (n, 784) (28 x 28, row-major); labels are `int64` (n,).
"""

from __future__ import annotations

import codecs
import io
import os
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from fmnist._io import atomic_write

N_PIXELS = 784
N_CLASSES = 10
IMAGE_SHAPE = (28, 28)
CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)


class DataError(ValueError):
    """A problem with an input file that the user can fix; the message says where and what to do."""


_CACHE_VERSION = 1
_INT = re.compile(r"[+-]?\d+")
_ALLOWED_BYTES = b"0123456789+-, \t\r\n"
_BLOCK_LINES = 1000


def default_data_dir() -> Path:
    """Where train.csv and test.csv live: env FMNIST_DATA_DIR, else ./data."""
    return Path(os.environ.get("FMNIST_DATA_DIR") or "data")


def load_train(path: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read the exercise's train.csv (label, then 784 pixels per row; header optional).

    Returns X uint8 (n, 784) and y int64 (n,). Raises DataError naming the file, the line and
    what to do on any problem; parsed arrays are cached under `.cache/` beside the file.
    """
    path = Path(path) if path is not None else default_data_dir() / "train.csv"
    M = _load(path, "train")
    return np.ascontiguousarray(M[:, 1:]), M[:, 0].astype(np.int64)


def load_test(path: str | os.PathLike | None = None) -> np.ndarray:
    """Read the exercise's test.csv (784 pixels per row, no labels; header optional).

    Returns X uint8 (n, 784); errors and caching as in `load_train`.
    """
    path = Path(path) if path is not None else default_data_dir() / "test.csv"
    return _load(path, "test")


def _n_columns(kind: str) -> int:
    return N_PIXELS + 1 if kind == "train" else N_PIXELS


def _cache_prefix(path: Path, kind: str) -> str:
    return f"{path.name}.{kind}.v{_CACHE_VERSION}."


def _cache_path(path: Path, kind: str) -> Path:
    """Cache file for `path`, keyed by its size, modification time and inode."""
    st = path.stat()
    key = f"{st.st_size}-{st.st_mtime_ns}-{st.st_ino}"
    return path.parent / ".cache" / f"{_cache_prefix(path, kind)}{key}.npy"


def _read_cache(cache: Path, kind: str) -> np.ndarray | None:
    try:
        M = np.load(cache, allow_pickle=False)
    except (OSError, ValueError):
        return None
    if M.dtype != np.uint8 or M.ndim != 2 or M.shape[1] != _n_columns(kind) or not len(M):
        return None
    return M


def _write_cache(cache: Path, prefix: str, M: np.ndarray) -> None:
    """Store the parsed matrix; drop older caches of the same file (names starting with
    `prefix`). A read-only data directory only costs speed, so failures are reported on
    stderr and ignored."""
    try:
        for old in cache.parent.glob(prefix + "*.npy"):
            old.unlink(missing_ok=True)
        with atomic_write(cache, "wb") as f:
            np.save(f, M, allow_pickle=False)
    except OSError as err:
        print(f"note: could not cache {cache.name} ({err}); loading stays slower",
              file=sys.stderr)


def _load(path: Path, kind: str) -> np.ndarray:
    """Validated uint8 matrix (n, 785) for train (label first) or (n, 784) for test."""
    if not path.is_file():
        other = "a label then 784 pixels" if kind == "train" else "784 pixels"
        raise DataError(f"{path}: file not found; run `python -m fmnist data` to build it, or "
                        f"copy the course's {path.name} ({other} per row) there")
    cache = _cache_path(path, kind)
    M = _read_cache(cache, kind)
    if M is None:
        M = _parse(path, kind)
        _check_classes(path, kind, M)
        _write_cache(cache, _cache_prefix(path, kind), M)
    return M


def _first_line(raw: bytes) -> tuple[int, str | None, int]:
    """0-based index, text and end offset of the first non-blank line (text None if none)."""
    pos, index = 0, 0
    while pos < len(raw):
        end = raw.find(b"\n", pos)
        end = len(raw) if end < 0 else end + 1
        text = raw[pos:end].strip()
        if text:
            return index, text.decode("utf-8", errors="replace"), end
        pos, index = end, index + 1
    return index, None, len(raw)


def _is_header(line: str) -> bool:
    """A header row names the columns: words and no numbers (`label,pixel1,...`), or words
    around the column numbers (`label,0,1,...,783`, as pandas writes them). A run of 300
    consecutive numbers cannot be an image row, whose pixels stop at 255."""
    cells = [cell.strip() for cell in line.split(",")]
    numbers = [int(cell) for cell in cells if _INT.fullmatch(cell)]
    if not numbers:
        return any(ch.isalpha() for ch in line)
    return len(numbers) >= 300 and bool(np.all(np.diff(numbers) == 1))


def _parse(path: Path, kind: str) -> np.ndarray:
    """Parse and validate a whole file; any problem raises DataError naming its first bad line."""
    raw = path.read_bytes()
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    first, line, header_end = _first_line(raw)
    if line is None:
        raise DataError(f"{path}: the file is empty; it should hold one image per line "
                        f"({_describe_row(kind)})")
    header_index = first if _is_header(line) else None
    body = raw[header_end:] if header_index is not None else raw
    if header_index is not None and not body.strip():
        raise DataError(f"{path}: line {first + 1} is a header but no data follows; the file "
                        f"should hold one image per line ({_describe_row(kind)})")
    M = _parse_block(body, kind)
    if M is None or (header_index is not None and len(line.split(",")) != _n_columns(kind)):
        raise _problem(path, kind, raw, header_index)
    return M


def _parse_block(body: bytes, kind: str) -> np.ndarray | None:
    """Fast path for headerless CSV bytes: pandas' C parser straight into uint8 (it refuses
    values outside 0..255), or None if anything is wrong.

    pandas would accept `3.0` or `1e2` as integers, so the bytes are first checked to hold
    only digits, signs, commas and whitespace.
    """
    if body.translate(None, _ALLOWED_BYTES):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            df = pd.read_csv(io.BytesIO(body), header=None, dtype=np.uint8, engine="c",
                             na_filter=False, skip_blank_lines=True)
    except (ValueError, OverflowError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return None
    M = df.to_numpy()
    if M.shape[1] != _n_columns(kind) or (kind == "train" and M[:, 0].max() >= N_CLASSES):
        return None
    return np.ascontiguousarray(M)


def _describe_row(kind: str) -> str:
    if kind == "train":
        return "a label 0..9 then 784 pixel values 0..255, separated by commas"
    return "784 pixel values 0..255 separated by commas, no label"


def _column_name(kind: str, j: int) -> str:
    """Human name of 0-based column j."""
    if kind == "train":
        return "column 1 (the label)" if j == 0 else f"column {j + 1} (pixel {j})"
    return f"column {j + 1} (pixel {j + 1})"


def _problem(path: Path, kind: str, raw: bytes, header_index: int | None) -> DataError:
    """Second pass, only for a bad file: the DataError for its first bad line.

    Blocks of lines go through the fast parser; only a block that fails is checked line by
    line in Python, so even a problem on the last line is found in seconds.
    """
    lines = raw.split(b"\n")
    start = 0
    if header_index is not None:
        n = len(lines[header_index].split(b","))
        if n != _n_columns(kind):
            return DataError(f"{path}, line {header_index + 1}: header with "
                             + _count_message(kind, n))
        start = header_index + 1
    for block_start in range(start, len(lines), _BLOCK_LINES):
        block = lines[block_start : block_start + _BLOCK_LINES]
        if _parse_block(b"\n".join(block), kind) is not None:
            continue
        for lineno, line in enumerate(block, start=block_start + 1):
            error = _line_problem(f"{path}, line {lineno}",
                                  line.decode("utf-8", errors="replace"), kind)
            if error is not None:
                return error
    return DataError(f"{path}: could not be read as {_describe_row(kind)}; check the file")


def _line_problem(where: str, line: str, kind: str) -> DataError | None:
    """What is wrong with one data line, or None if it is fine (or blank)."""
    line = line.strip()
    if not line:
        return None
    cells = [c.strip() for c in line.split(",")]
    if len(cells) != _n_columns(kind):
        return DataError(where + ": " + _count_message(kind, len(cells)))
    for j, cell in enumerate(cells):
        if not cell:
            return DataError(f"{where}: {_column_name(kind, j)} is empty; every row needs "
                             f"{_describe_row(kind)}")
        is_int = _INT.fullmatch(cell) is not None
        if kind == "train" and j == 0:
            if not is_int or not 0 <= int(cell) < N_CLASSES:
                return DataError(f"{where}: label {cell!r} is not an integer 0..9 (one of the "
                                 f"classes {', '.join(CLASS_NAMES)}); fix or delete the line")
        elif not is_int:
            return DataError(f"{where}: {_column_name(kind, j)} is {cell!r}, not an integer; "
                             "pixels must be integers 0..255")
        elif not 0 <= int(cell) <= 255:
            return DataError(f"{where}: {_column_name(kind, j)} is {cell}, outside 0..255; "
                             "pixels must be integers 0..255")
    return None


def _count_message(kind: str, n: int) -> str:
    if kind == "test" and n == N_PIXELS + 1:
        return (f"{n} values where test.csv has 784: the file seems to include a label "
                "column; the test file must hold only the 784 pixels (delete the first column)")
    if kind == "train" and n == N_PIXELS:
        return (f"{n} values where train.csv has 785: the label column seems to be missing; "
                "each row must be a label 0..9 followed by 784 pixels")
    return (f"{n} value{'' if n == 1 else 's'}, expected {_n_columns(kind)} "
            f"({_describe_row(kind)}); fix the line or check that the file is comma-separated")


def _check_classes(path: Path, kind: str, M: np.ndarray) -> None:
    if kind != "train":
        return
    counts = np.bincount(M[:, 0], minlength=N_CLASSES)
    missing = [f"{c} ({CLASS_NAMES[c]})" for c in range(N_CLASSES) if counts[c] == 0]
    if missing:
        raise DataError(f"{path}: no training example of class {', '.join(missing)}; every "
                        "class needs examples, so use the full train.csv")


def train_val_split(X: np.ndarray, y: np.ndarray, val_fraction: float = 0.1,
                    random_state: int = 0):
    """Stratified, seeded split into a training part and a validation part.

    Each class contributes `round(val_fraction * count)` examples to validation, so both parts
    keep the class proportions. Returns `X_train, X_val, y_train, y_val` (rows shuffled).
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    rng = np.random.default_rng(random_state)
    val_idx = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        val_idx.append(idx[: int(round(val_fraction * len(idx)))])
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
