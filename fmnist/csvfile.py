"""Reading the exercise's CSV files: what the path is, what the bytes are, parsing, validation
and the parsed-array cache. `fmnist.data.load_train` / `load_test` are the public face.

Every problem a user can cause raises `DataError` naming the file, and the 1-based line and
column where there is one. The cache (`.cache/` beside the file) is keyed by the file's size,
modification time and inode, carries a checksum of its contents in its name, and is
re-validated on every read; anything wrong with it only means parsing the CSV again.
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import io
import os
import re
import stat
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from fmnist._io import atomic_write
from fmnist.csvcheck import count_message, describe_row, line_problem, n_columns
from fmnist.schema import CLASS_NAMES, N_CLASSES, DataError

# The course's train.csv is about 125 MB (at most 4 bytes per value: 56,000 x 785 x 4 = 176 MB).
MAX_CSV_BYTES = 1 << 30
_CACHE_VERSION = 2
_INT_TEXT = re.compile(r"[+-]?[0-9]+", re.ASCII)
_ALLOWED_BYTES = b"0123456789+-, \t\r\n"
_BLANK = b" \t\r\n"
_BLOCK_LINES = 1000


# ---------------------------------------------------------------- the path


def inspect_input(path: Path) -> os.stat_result | None:
    """stat of the regular file at `path`, or None if nothing is there at all.

    Raises DataError for what cannot be a CSV file: a dangling symbolic link (named with its
    target), a link loop, a folder, a device or FIFO, an unreadable folder on the way, or a
    file far larger than any Fashion-MNIST CSV (checked before reading a byte).
    """
    try:
        lst = os.lstat(path)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise DataError(f"{path}: {_first_file_above(path)} is a file, not a folder; point "
                        "--data-dir/FMNIST_DATA_DIR at the folder holding the CSV files") from None
    except OSError as err:
        raise DataError(f"{path}: cannot be examined ({_reason(err)}); {_access_advice(path)}"
                        ) from None
    if stat.S_ISLNK(lst.st_mode):
        target = _readlink(path)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise DataError(f"{path} is a symbolic link to {target}, which does not exist (a "
                            "drive or share not mounted?); mount it or copy the file there, or "
                            "delete the link to use other data") from None
        except OSError as err:
            if err.errno == errno.ELOOP:
                raise DataError(f"{path} is a symbolic link loop (it points to {target}, which "
                                "leads back to itself); replace it with the real file") from None
            raise DataError(f"{path} is a symbolic link to {target}, which cannot be examined "
                            f"({_reason(err)}); {_access_advice(path)}") from None
    else:
        st = lst
    if stat.S_ISDIR(st.st_mode):
        raise DataError(f"{path} is a folder, not a CSV file; put the {path.name} file itself "
                        "there (and remove the folder)")
    if not stat.S_ISREG(st.st_mode):
        raise DataError(f"{path} is not a regular file (a device, FIFO or socket); put the "
                        f"{path.name} file itself there")
    if st.st_size > MAX_CSV_BYTES:
        raise DataError(f"{path}: {st.st_size / 1e9:.1f} GB, far more than any Fashion-MNIST CSV "
                        f"(the course's train.csv is about 0.13 GB, the limit is "
                        f"{MAX_CSV_BYTES / 1e9:.1f} GB); check that this is the right file")
    return st


def _readlink(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "?"


def _first_file_above(path: Path) -> Path:
    for parent in path.parents:
        if parent.is_file():
            return parent
    return path.parent


def _reason(err: OSError) -> str:
    return err.strerror or str(err)


def _access_advice(path: Path) -> str:
    return f"check the permissions of {path} and its folders (ls -l) or use a copy you can read"


def read_input(path: Path) -> bytes:
    """The bytes of a file `inspect_input` accepted; OS errors become DataError."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except PermissionError:
        raise DataError(f"{path}: permission denied when reading it; make it readable "
                        f"(chmod u+r {path}) or copy it somewhere you can read") from None
    except MemoryError:
        raise DataError(f"{path}: not enough memory to read it; close other programs or "
                        "check that this is the right file") from None
    except OSError as err:
        raise DataError(f"{path}: could not be read ({_reason(err)}); check the disk or "
                        "copy the file again") from None


# ---------------------------------------------------------------- what the bytes are

_MAGIC = [
    (b"\x1f\x8b", "a gzip-compressed file", "decompress it first (gunzip -c {p} > plain.csv)"),
    (b"PK\x03\x04", "a zip archive", "extract the CSV file from it"),
    (b"BZh", "a bzip2-compressed file", "decompress it first (bunzip2)"),
    (b"\xfd7zXZ\x00", "an xz-compressed file", "decompress it first (unxz)"),
    (b"\x28\xb5\x2f\xfd", "a zstd-compressed file", "decompress it first (unzstd)"),
]


def _sniff(path: Path, raw: bytes) -> None:
    """DataError for files that are not CSV text at all, saying what they are."""
    for magic, what, todo in _MAGIC:
        if raw.startswith(magic):
            raise DataError(f"{path}: this is {what}, not CSV text; {todo.format(p=path)}")
    head = raw[:4096]
    utf16 = raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or (
        len(head) >= 16 and head[1::2].count(0) > len(head) // 4
        or head[0::2].count(0) > len(head) // 4)
    if utf16:
        raise DataError(f"{path}: this is UTF-16 text (what some programs call 'Unicode "
                        "text'), not plain CSV; save it again as 'CSV UTF-8' or ASCII")
    if b"\0" in head:
        raise DataError(f"{path}: holds binary data (NUL bytes), not CSV text; check that "
                        "this is the right file")


# ---------------------------------------------------------------- parsing


def first_line(raw: bytes) -> tuple[int, str | None, int]:
    """0-based index, text and end offset of the first non-blank line (text None if none)."""
    pos, index = 0, 0
    while pos < len(raw):
        end = raw.find(b"\n", pos)
        end = len(raw) if end < 0 else end + 1
        text = raw[pos:end].strip(_BLANK)
        if text:
            return index, text.decode("utf-8", errors="replace"), end
        pos, index = end, index + 1
    return index, None, len(raw)


def is_header(line: str) -> bool:
    """A header row names the columns: words and no numbers (`label,pixel1,...`), or words
    around the column numbers (`label,0,1,...,783`, as pandas writes them). A run of 300
    consecutive numbers cannot be an image row, whose pixels stop at 255."""
    cells = [cell.strip() for cell in line.split(",")]
    numbers = [int(cell) for cell in cells if _INT_TEXT.fullmatch(cell)]
    if not numbers:
        return any(ch.isalpha() for ch in line)
    return len(numbers) >= 300 and bool(np.all(np.diff(numbers) == 1))


def strip_bom(raw: bytes) -> bytes:
    return raw[len(codecs.BOM_UTF8):] if raw.startswith(codecs.BOM_UTF8) else raw


def parse(path: Path, kind: str, raw: bytes | None = None) -> np.ndarray:
    """Parse and validate a whole file; any problem raises DataError naming its first bad line."""
    raw = strip_bom(read_input(path) if raw is None else raw)
    _sniff(path, raw)
    first, line, header_end = first_line(raw)
    if line is None:
        raise DataError(f"{path}: the file is empty; it should hold one image per line "
                        f"({describe_row(kind)})")
    header_index = first if is_header(line) else None
    body = raw[header_end:] if header_index is not None else raw
    if header_index is not None and not body.strip(_BLANK):
        raise DataError(f"{path}: line {first + 1} is a header but no data follows; the file "
                        f"should hold one image per line ({describe_row(kind)})")
    M = _parse_block(body, kind)
    if M is None or (header_index is not None and len(line.split(",")) != n_columns(kind)):
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
    if M.shape[1] != n_columns(kind) or (kind == "train" and M[:, 0].max() >= N_CLASSES):
        return None
    return np.ascontiguousarray(M)


def _problem(path: Path, kind: str, raw: bytes, header_index: int | None) -> DataError:
    """Second pass, only for a bad file: the DataError for its first bad line.

    Blocks of lines go through the fast parser; only a block that fails is checked line by
    line in Python, so even a problem on the last line is found in seconds.
    """
    lines = raw.split(b"\n")
    start = 0
    if header_index is not None:
        n = len(lines[header_index].split(b","))
        if n != n_columns(kind):
            return DataError(f"{path}, line {header_index + 1}: header with "
                             + count_message(kind, n))
        start = header_index + 1
    for block_start in range(start, len(lines), _BLOCK_LINES):
        block = lines[block_start : block_start + _BLOCK_LINES]
        if _parse_block(b"\n".join(block), kind) is not None:
            continue
        for lineno, line in enumerate(block, start=block_start + 1):
            error = line_problem(f"{path}, line {lineno}", line, kind)
            if error is not None:
                return error
    return DataError(f"{path}: could not be read as {describe_row(kind)}; check the file")


def check_classes(path: Path, kind: str, M: np.ndarray) -> None:
    if kind != "train":
        return
    counts = np.bincount(M[:, 0], minlength=N_CLASSES)
    missing = [f"{c} ({CLASS_NAMES[c]})" for c in range(N_CLASSES) if counts[c] == 0]
    if missing:
        raise DataError(f"{path}: no training example of class {', '.join(missing)}; every "
                        "class needs examples, so use the full train.csv")


# ---------------------------------------------------------------- the cache


def file_key(st: os.stat_result) -> str:
    """What identifies one version of a file without reading it: size, mtime and inode."""
    return f"{st.st_size}-{st.st_mtime_ns}-{st.st_ino}"


def _cache_prefix(path: Path, kind: str) -> str:
    return f"{path.name}.{kind}.v{_CACHE_VERSION}."


def array_digest(M: np.ndarray) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{M.dtype.str}{M.shape}".encode())
    h.update(np.ascontiguousarray(M).data)
    return h.hexdigest()


def _valid_matrix(M: np.ndarray, kind: str) -> bool:
    return (M.dtype == np.uint8 and M.ndim == 2 and M.shape[1] == n_columns(kind)
            and len(M) > 0 and (kind != "train" or int(M[:, 0].max()) < N_CLASSES))


def _read_cache(path: Path, kind: str, key: str) -> np.ndarray | None:
    """The cached matrix of this version of `path`, if one exists and checks out: its contents
    match the checksum in its name and its values are valid. A cache that fails is deleted."""
    folder = path.parent / ".cache"
    try:
        candidates = sorted(folder.glob(f"{_cache_prefix(path, kind)}{key}.*.npy"))
    except OSError:
        return None
    for cache in candidates:
        digest = cache.name[: -len(".npy")].rsplit(".", 1)[-1]
        try:
            M = np.load(cache, allow_pickle=False)
            if isinstance(M, np.ndarray) and _valid_matrix(M, kind) and array_digest(M) == digest:
                return M
        except Exception:  # noqa: BLE001 - any damage to a cache file only means parsing again
            pass
        try:
            cache.unlink()
        except OSError:
            pass
    return None


def _write_cache(path: Path, kind: str, key: str, M: np.ndarray) -> None:
    """Store the parsed matrix; drop older caches of the same file. A read-only data folder
    only costs speed, so failures are reported on stderr and ignored."""
    folder = path.parent / ".cache"
    prefix = _cache_prefix(path, kind)
    cache = folder / f"{prefix}{key}.{array_digest(M)}.npy"
    try:
        for old in folder.glob(f"{path.name}.{kind}.v*.npy"):
            old.unlink(missing_ok=True)
        with atomic_write(cache, "wb") as f:
            np.save(f, M, allow_pickle=False)
    except OSError as err:
        print(f"note: could not cache {path.name} in {folder} ({_reason(err)}); loading stays "
              "slower", file=sys.stderr)


def load_matrix(path: Path, kind: str) -> np.ndarray:
    """Validated uint8 matrix (n, 785) for train (label first) or (n, 784) for test."""
    st = inspect_input(path)
    if st is None:
        other = "a label then 784 pixels" if kind == "train" else "784 pixels"
        raise DataError(f"{path}: file not found; run `python -m fmnist data` to build it, or "
                        f"copy the course's {path.name} ({other} per row) there")
    key = file_key(st)
    M = _read_cache(path, kind, key)
    if M is None:
        M = parse(path, kind)
        check_classes(path, kind, M)
        _write_cache(path, kind, key, M)
    else:
        check_classes(path, kind, M)
    return M
