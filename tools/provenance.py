"""Where `data/train.csv` and `data/test.csv` came from, and whether test images leak into
training.

`make data` writes `data/provenance.json` beside the CSV files it builds:

    {"format": 2, "source": "built", "seed": 0, "idx_dir": "/usr/share/datasets/fashion-mnist",
     "array_sha256": {"train": "...", "test": "..."}, "train_sha256": "...", "test_sha256": "...",
     "train_rows": 56000, "test_rows": 14000}

A file is *built* when the SHA-256 of its parsed array (`fmnist.data.array_sha256`, the same
whatever the CSV spelling: a header row, CRLF, spaces) is in that record or is the seed-0
build's (`KNOWN_BUILDS`); any other file is *supplied*, presumably the course's.
`train_sha256`/`test_sha256` are the files' bytes as built (the build's crash recovery uses them).

    data_provenance(data_dir) -> dict   where the data came from, with a one-sentence description
    find_overlap(train, test) -> [(train_line, test_line), ...]   images in both files
    sha256_file(path) -> str            the project's one file checksum
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np

from fmnist.data import (
    DataError,
    array_sha256,
    atomic_write,
    default_data_dir,
    is_header,
    load_test,
    load_train,
)

PROVENANCE = "provenance.json"  # written by the build beside the CSV files
# `make data`'s seed-0 build from Debian's dataset-fashion-mnist, even without provenance.json
KNOWN_BUILDS = {"b92fe7eb8b32f1e27aab63f541ca12217a3041e064d13fa436bf8f5782d14f5c",
                "d1ffabe774458977b3d03e65399028f734b401ea4a2061c8a0146f2f6488ff6f"}

RECORD_NAME = PROVENANCE
RECORD_FORMAT = 2
_OVERLAPS = "overlap.json"
_CHUNK = 1 << 22


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, read in chunks; OS errors become DataError naming the file."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
    except OSError as err:
        raise DataError(f"{path}: could not be read ({err.strerror or err})") from None
    return h.hexdigest()


def _read_json(path: Path) -> dict:
    """A JSON object from `path`, or {} if it is missing or damaged."""
    try:
        value = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


# ---------------------------------------------------------------- the build record


def write_record(data_dir: str | os.PathLike, record: dict) -> Path:
    """Write `provenance.json` (atomically) into `data_dir`."""
    path = Path(data_dir) / RECORD_NAME
    with atomic_write(path, "w", encoding="utf-8") as f:
        json.dump({"format": RECORD_FORMAT, **record}, f, indent=2, sort_keys=True)
        f.write("\n")
    return path


def read_record(data_dir: str | os.PathLike) -> dict:
    """The build record in `data_dir`, or {} if there is none or it is unreadable (then only
    the known seed-0 build can be recognised)."""
    record = _read_json(Path(data_dir) / RECORD_NAME)
    sums = record.get("array_sha256")
    return record if record.get("source") == "built" and isinstance(sums, dict) else {}


def upgrade_record(data_dir: str | os.PathLike) -> bool:
    """A format-1 record (written before records named the parsed arrays) whose file checksums
    still match the files gets their arrays' SHA-256 added, so that the build stays recognised
    however the files are re-saved later. Returns whether it was upgraded."""
    data_dir = Path(data_dir)
    record = _read_json(data_dir / RECORD_NAME)
    if record.get("source") != "built" or "array_sha256" in record:
        return False
    paths = {k: data_dir / f"{k}.csv" for k in ("train", "test")}
    if any(record.get(f"{k}_sha256") != sha256_file(p) for k, p in paths.items()):
        return False
    X, y = load_train(paths["train"])
    record["array_sha256"] = {"train": array_sha256(np.column_stack([y, X])),
                              "test": array_sha256(load_test(paths["test"]))}
    write_record(data_dir, {k: v for k, v in record.items() if k != "format"})
    return True


def data_provenance(data_dir: str | os.PathLike | None = None) -> dict:
    """Where `train.csv` and `test.csv` in `data_dir` came from, judged by their contents.

    Returns {"source": "built" | "supplied" | "mixed", "train_source", "test_source" ("built"
    or "supplied"), "seed" and "idx_dir" (None unless built), "array_sha256": {"train",
    "test"}, "train_rows", "test_rows", "description" (one sentence)}. "mixed": one file built,
    the other supplied. Raises DataError if a file is missing or invalid.
    """
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    train_path, test_path = data_dir / "train.csv", data_dir / "test.csv"
    X, y = load_train(train_path)
    X_test = load_test(test_path)
    sums = {"train": array_sha256(np.column_stack([y, X])), "test": array_sha256(X_test)}
    record = read_record(data_dir)
    recorded = set(record.get("array_sha256", {}).values()) | KNOWN_BUILDS
    sources = {k: "built" if sums[k] in recorded else "supplied" for k in sums}
    source = sources["train"] if sources["train"] == sources["test"] else "mixed"
    built_any = source != "supplied"
    out = {
        "source": source, "train_source": sources["train"], "test_source": sources["test"],
        "seed": record.get("seed", 0) if built_any else None,
        "idx_dir": record.get("idx_dir") if built_any else None,
        "array_sha256": sums, "train_rows": len(y), "test_rows": len(X_test),
    }
    out["description"] = describe(out, train_path, test_path)
    return out


def describe(p: dict, train_path: Path | str = "train.csv",
             test_path: Path | str = "test.csv") -> str:
    """One sentence on where the data came from and what that means for the predictions."""
    origin = f"Debian's dataset-fashion-mnist (seed {p.get('seed')})"
    if p["source"] == "built":
        return (f"{train_path} and {test_path} were built by this project from {origin}, so "
                "predictions for this test.csv are not an answer to the course's test set.")
    if p["source"] == "supplied":
        return (f"{train_path} ({p['train_rows']} rows) and {test_path} ({p['test_rows']} rows) "
                "were supplied (no build record matches them): presumably the course's files.")
    if p["train_source"] == "built":
        return (f"{train_path} was built from {origin} but {test_path} was supplied: the built "
                "training set comes from the 70,000-image pool that holds the course's test "
                "images, so training on it leaks test answers; copy the course's train.csv "
                "into the data folder too.")
    return (f"{test_path} was built from {origin} but {train_path} was supplied: predictions "
            "for the built test.csv are not an answer to the course's test set; copy the "
            "course's test.csv into the data folder too.")


# ---------------------------------------------------------------- overlap


def _row_lines(path: Path, n_rows: int) -> np.ndarray:
    """1-based line numbers of the data rows of a valid CSV file (skipping header and blanks)."""
    lines = Path(path).read_bytes().removeprefix(b"\xef\xbb\xbf").split(b"\n")
    numbered = [i + 1 for i, line in enumerate(lines) if line.strip()]
    if numbered and is_header(lines[numbered[0] - 1].decode("utf-8", "replace")):
        numbered = numbered[1:]
    if len(numbered) != n_rows:  # cannot happen for a file the loader accepted
        return np.arange(1, n_rows + 1)
    return np.asarray(numbered)


def _rows_as_keys(M: np.ndarray) -> np.ndarray:
    M = np.ascontiguousarray(M)
    return M.view(np.dtype((np.void, M.shape[1]))).ravel()


def find_overlap(train_path: str | os.PathLike, test_path: str | os.PathLike) -> list[tuple]:
    """Every (train_line, test_line) pair, 1-based file lines, whose images are identical.

    Rows are compared as whole byte strings (sorted, vectorised; about 0.3 s for 70,000
    images); the answer is cached in `.cache/overlap.json` beside the test file, keyed by both
    files' size, modification time and inode.
    """
    train_path, test_path = Path(train_path), Path(test_path)
    key = "|".join(f"{p.resolve()}:{p.stat().st_size}-{p.stat().st_mtime_ns}-{p.stat().st_ino}"
                   for p in (train_path, test_path))
    cache = test_path.parent / ".cache" / _OVERLAPS
    hit = _read_json(cache).get(test_path.name)
    if isinstance(hit, dict) and hit.get("key") == key and isinstance(hit.get("pairs"), list):
        return [tuple(pair) for pair in hit["pairs"]]
    X_train, _ = load_train(train_path)
    X_test = load_test(test_path)
    keys = np.concatenate([_rows_as_keys(X_train), _rows_as_keys(X_test)])
    _, group = np.unique(keys, return_inverse=True)
    g_train, g_test = group[: len(X_train)], group[len(X_train):]
    common = np.intersect1d(g_train, g_test)
    pairs: list[tuple] = []
    if len(common):
        train_lines = _row_lines(train_path, len(X_train))
        test_lines = _row_lines(test_path, len(X_test))
        for g in common:
            for i in np.flatnonzero(g_train == g):
                for j in np.flatnonzero(g_test == g):
                    pairs.append((int(train_lines[i]), int(test_lines[j])))
        pairs.sort(key=lambda p: (p[1], p[0]))
    table = _read_json(cache)
    table[test_path.name] = {"key": key, "pairs": [list(p) for p in pairs]}
    try:
        with atomic_write(cache, "w", encoding="utf-8") as f:
            json.dump(table, f, sort_keys=True)
    except OSError as err:
        print(f"note: could not write {cache} ({err.strerror or err}); the next run recomputes "
              "it", file=sys.stderr)
    return pairs


def overlap_message(pairs: list[tuple], train_path, test_path, shown: int = 5) -> str:
    """One line describing the overlap found by `find_overlap` ('' if none)."""
    if not pairs:
        return ""
    listed = ", ".join(f"{test_path} line {t} = {train_path} line {r}" for r, t in pairs[:shown])
    more = f" and {len(pairs) - shown} more" if len(pairs) > shown else ""
    n_test = len({t for _, t in pairs})
    plural = n_test != 1
    return (f"{n_test} test image{'s' if plural else ''} also appear{'' if plural else 's'} "
            f"in the training data ({listed}{more}); validation scores do not see this, but "
            "the test predictions for them are copied answers")
