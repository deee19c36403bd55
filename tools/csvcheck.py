"""The forensic diagnosis of a data CSV file `make data` runs before fmnist reads it: what the
path is (a dangling link, a link loop, a folder, a device, a file far too large), what the bytes
are (gzip, zip, bzip2, xz, zstd, UTF-16, binary), and characters that look like digits but are
not (a no-break space, full-width or Arabic-Indic digits, control characters, Latin-1 bytes).

    check_csv(path, kind) -> np.ndarray   # the matrix fmnist.data reads, or DataError

Each problem is one DataError line naming the file (and the line and column where there is one)
and what to do; the row checks themselves (values, counts, labels) are `fmnist.data`'s.
"""

from __future__ import annotations

import codecs
import errno
import os
import re
import stat
import unicodedata
from pathlib import Path

import numpy as np

from fmnist.data import DataError, is_header, load_test, load_train

# The course's train.csv is about 125 MB (at most 4 bytes per value: 56,000 x 785 x 4 = 176 MB).
MAX_CSV_BYTES = 1 << 30
_NOT_PRINTABLE_ASCII = re.compile(rb"[^\x20-\x7e\t\r\n]")


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


def sniff(path: Path, raw: bytes) -> None:
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


# ---------------------------------------------------------------- characters that are not digits


def column_name(kind: str, j: int) -> str:
    """Human name of 0-based column j."""
    if kind == "train":
        return "column 1 (the label)" if j == 0 else f"column {j + 1} (pixel {j})"
    return f"column {j + 1} (pixel {j + 1})"


def character_name(line: bytes, pos: int) -> str:
    """Human name of the (possibly multi-byte UTF-8) character starting at byte `pos`."""
    for size in range(1, 5):
        try:
            ch = line[pos : pos + size].decode("utf-8")
        except UnicodeDecodeError:
            continue
        name = unicodedata.name(ch, "a control character" if ord(ch) < 32 else "unnamed")
        shown = repr(ch) if ch.isprintable() else f"{ord(ch):#04x}"
        return f"the character {shown} (U+{ord(ch):04X} {name})"
    return f"the byte 0x{line[pos]:02x}, which is not UTF-8 text"


def odd_character(path: Path, raw: bytes, kind: str) -> DataError | None:
    """The first character outside printable ASCII after the header line, named with its line
    and column: Python would read some of them as digits (full-width, Arabic-Indic), others
    hide between digits (no-break space, vertical tab, Latin-1 bytes)."""
    raw = raw[len(codecs.BOM_UTF8):] if raw.startswith(codecs.BOM_UTF8) else raw
    pos = 0
    while pos < len(raw):  # skip blank lines, and the header if there is one
        end = raw.find(b"\n", pos) + 1 or len(raw)
        if raw[pos:end].strip():
            pos = end if is_header(raw[pos:end].decode("utf-8", "replace")) else pos
            break
        pos = end
    bad = _NOT_PRINTABLE_ASCII.search(raw, pos)
    if bad is None:
        return None
    start = raw.rfind(b"\n", 0, bad.start()) + 1
    line = raw[start: raw.find(b"\n", bad.start()) + 1 or len(raw)]
    at, lineno = bad.start() - start, raw.count(b"\n", 0, start) + 1
    return DataError(f"{path}, line {lineno}: {column_name(kind, line[:at].count(b','))} "
                     f"contains {character_name(line, at)}; values must be written with the "
                     "plain digits 0-9 and separated by commas (save the file again as plain CSV)")


# ---------------------------------------------------------------- the whole check


def check_csv(path: str | os.PathLike, kind: str) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Diagnose `path` (a "train" or "test" CSV file) and load it with fmnist: X for test,
    (X, y) for train. Raises DataError, one line, for anything wrong."""
    path = Path(path)
    if inspect_input(path) is None:
        raise DataError(f"{path}: file not found; run `make data` to build it, or copy the "
                        f"course's {path.name} there")
    raw = read_input(path)
    sniff(path, raw)
    problem = odd_character(path, raw, kind)
    if problem is not None:
        raise problem
    return load_train(path) if kind == "train" else load_test(path)
