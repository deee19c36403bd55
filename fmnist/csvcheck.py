"""Saying what is wrong with one line of a CSV file that failed to parse: the column, the
character or value at fault, and what to do (`fmnist.csvfile` calls `line_problem` only for a
block of lines its fast parser refused).
"""

from __future__ import annotations

import re
import unicodedata

from fmnist.schema import CLASS_NAMES, N_CLASSES, N_PIXELS, DataError

_INT = re.compile(rb"[+-]?[0-9]+")
_NOT_PRINTABLE_ASCII = re.compile(rb"[^\x20-\x7e\t\r\n]")
_BLANK = b" \t\r\n"


def n_columns(kind: str) -> int:
    return N_PIXELS + 1 if kind == "train" else N_PIXELS


def describe_row(kind: str) -> str:
    if kind == "train":
        return "a label 0..9 then 784 pixel values 0..255, separated by commas"
    return "784 pixel values 0..255 separated by commas, no label"


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


def line_problem(where: str, line: bytes, kind: str) -> DataError | None:
    """What is wrong with one data line (bytes), or None if it is fine (or blank)."""
    line = line.strip(_BLANK)
    if not line:
        return None
    cells = line.split(b",")
    if len(cells) != n_columns(kind):
        return DataError(where + ": " + count_message(kind, len(cells)))
    bad = _NOT_PRINTABLE_ASCII.search(line)
    if bad is not None:
        j = line[: bad.start()].count(b",")
        return DataError(f"{where}: {column_name(kind, j)} contains "
                         f"{character_name(line, bad.start())}; values must be written with "
                         "the plain digits 0-9 and separated by commas (save the file again as "
                         "plain CSV)")
    for j, raw_cell in enumerate(cells):
        cell_bytes = raw_cell.strip(_BLANK)
        cell = cell_bytes.decode("ascii")
        if not cell_bytes:
            return DataError(f"{where}: {column_name(kind, j)} is empty; every row needs "
                             f"{describe_row(kind)}")
        is_int = _INT.fullmatch(cell_bytes) is not None
        if kind == "train" and j == 0:
            if not is_int or not 0 <= int(cell) < N_CLASSES:
                return DataError(f"{where}: label {cell!r} is not an integer 0..9 (one of the "
                                 f"classes {', '.join(CLASS_NAMES)}); fix or delete the line")
        elif not is_int:
            return DataError(f"{where}: {column_name(kind, j)} is {cell!r}, not an integer; "
                             "pixels must be integers 0..255")
        elif not 0 <= int(cell) <= 255:
            return DataError(f"{where}: {column_name(kind, j)} is {cell}, outside 0..255; "
                             "pixels must be integers 0..255")
    return None


def count_message(kind: str, n: int) -> str:
    if kind == "test" and n == N_PIXELS + 1:
        return (f"{n} values where test.csv has 784: the file seems to include a label "
                "column; the test file must hold only the 784 pixels (delete the first column)")
    if kind == "train" and n == N_PIXELS:
        return (f"{n} values where train.csv has 785: the label column seems to be missing; "
                "each row must be a label 0..9 followed by 784 pixels")
    return (f"{n} value{'' if n == 1 else 's'}, expected {n_columns(kind)} "
            f"({describe_row(kind)}); fix the line or check that the file is comma-separated")
