"""Where `data/train.csv` and `data/test.csv` came from, and whether test images leak into
training.

`python -m fmnist data` writes `data/provenance.json` beside the CSV files it builds:

    {"format": 1, "source": "built", "seed": 0, "idx_dir": "/usr/share/datasets/fashion-mnist",
     "train_sha256": "...", "test_sha256": "...", "train_rows": 56000, "test_rows": 14000}

A CSV file whose SHA-256 matches that record was built by this project; any other file (no
record, or different contents) is *supplied*: the course's. Checksums are cached in
`data/.cache/checksums.json`, keyed by each file's size, modification time and inode like the
parsed-array cache, so `data_provenance` costs milliseconds after the first call.

    data_provenance(data_dir) -> dict   where the data came from, with a one-sentence description
    find_overlap(train, test) -> [(train_line, test_line), ...]   images in both files
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np

from fmnist._io import atomic_write
from fmnist.csvfile import file_key, first_line, inspect_input, is_header, read_input, strip_bom
from fmnist.schema import DataError

RECORD_NAME = "provenance.json"
RECORD_FORMAT = 1
# The files `python -m fmnist data` builds with seed 0 from Debian's dataset-fashion-mnist: they
# count as built even without a record (data/ built before records were written).
KNOWN_BUILDS = {
    "train": {"f05f647783de8faf8463d8d019950c79f222818875c3c1385a6f138ee2ca51fc": 0},
    "test": {"6c1127c6912cb09607e0055e335a69fdc660a2e8b4660067d501d3eeab44e6d3": 0},
}
_CHECKSUMS = "checksums.json"
_OVERLAPS = "overlap.json"
_CHUNK = 1 << 22


# ---------------------------------------------------------------- small JSON caches


def _read_json(path: Path) -> dict:
    """A JSON object from `path`, or {} if it is missing or damaged (caches only)."""
    try:
        value = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _write_json_quietly(path: Path, value: dict) -> None:
    try:
        with atomic_write(path, "w", encoding="utf-8") as f:
            json.dump(value, f, sort_keys=True)
    except OSError as err:
        print(f"note: could not write {path} ({err.strerror or err}); the next run recomputes it",
              file=sys.stderr)


def _stat(path: Path) -> os.stat_result:
    st = inspect_input(path)
    if st is None:
        raise DataError(f"{path}: file not found; run `python -m fmnist data` to build it, or "
                        f"copy the course's {path.name} there")
    return st


# ---------------------------------------------------------------- checksums


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, read in chunks; OS errors become DataError naming the file."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
    except OSError as err:
        raise DataError(f"{path}: could not be read ({err.strerror or err})") from None
    return h.hexdigest()


def remember_checksum(path: Path, sha256: str) -> None:
    """Tell the checksum cache what `path` (as it is now) hashes to (the build knows it)."""
    path = Path(path)
    cache = path.parent / ".cache" / _CHECKSUMS
    table = _read_json(cache)
    table[path.name] = {"key": file_key(os.stat(path)), "sha256": sha256}
    _write_json_quietly(cache, table)


def file_checksum(path: str | os.PathLike) -> str:
    """SHA-256 of a data file, cached by size, modification time and inode."""
    path = Path(path)
    key = file_key(_stat(path))
    cache = path.parent / ".cache" / _CHECKSUMS
    hit = _read_json(cache).get(path.name)
    if isinstance(hit, dict) and hit.get("key") == key and isinstance(hit.get("sha256"), str):
        return hit["sha256"]
    digest = sha256_file(path)
    table = _read_json(cache)
    table[path.name] = {"key": key, "sha256": digest}
    _write_json_quietly(cache, table)
    return digest


# ---------------------------------------------------------------- the build record


def write_record(data_dir: str | os.PathLike, record: dict) -> Path:
    """Write `provenance.json` (atomically) into `data_dir`."""
    path = Path(data_dir) / RECORD_NAME
    with atomic_write(path, "w", encoding="utf-8") as f:
        json.dump({"format": RECORD_FORMAT, **record}, f, indent=2, sort_keys=True)
        f.write("\n")
    return path


def read_record(data_dir: str | os.PathLike) -> dict | None:
    """The build record in `data_dir`, or None if there is none (or it is unreadable: then
    nothing can be shown to be built, and the files count as supplied)."""
    record = _read_json(Path(data_dir) / RECORD_NAME)
    needed = ("source", "train_sha256", "test_sha256")
    return record if record.get("source") == "built" and all(k in record for k in needed) else None


def data_provenance(data_dir: str | os.PathLike | None = None) -> dict:
    """Where `train.csv` and `test.csv` in `data_dir` came from.

    Returns {"source": "built" | "supplied" | "mixed", "train_source", "test_source" ("built"
    or "supplied"), "seed" (None unless built), "idx_dir", "train_sha256", "test_sha256",
    "train_rows", "test_rows", "description" (one sentence)}. "mixed" means one file was built
    and the other supplied: see `description`. Raises DataError if a file is missing or invalid
    (rows are counted by loading it, which the parse cache makes cheap).
    """
    from fmnist.data import default_data_dir, load_test, load_train

    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    train_path, test_path = data_dir / "train.csv", data_dir / "test.csv"
    train_rows = len(load_train(train_path)[1])
    test_rows = len(load_test(test_path))
    sums = {"train": file_checksum(train_path), "test": file_checksum(test_path)}
    record = read_record(data_dir) or {}
    sources = {k: "built" if record.get(f"{k}_sha256") == sums[k] else "supplied" for k in sums}
    for k in sums:
        if sources[k] == "supplied" and sums[k] in KNOWN_BUILDS[k]:
            sources[k] = "built"
            record = {"seed": KNOWN_BUILDS[k][sums[k]], "idx_dir": None, **record}
    source = sources["train"] if sources["train"] == sources["test"] else "mixed"
    built_any = source != "supplied"
    out = {
        "source": source, "train_source": sources["train"], "test_source": sources["test"],
        "seed": record.get("seed") if built_any else None,
        "idx_dir": record.get("idx_dir") if built_any else None,
        "train_sha256": sums["train"], "test_sha256": sums["test"],
        "train_rows": train_rows, "test_rows": test_rows,
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
    raw = strip_bom(read_input(path))
    index, text, _ = first_line(raw)
    skip = index if text is not None and is_header(text) else -1
    lines = [i + 1 for i, line in enumerate(raw.split(b"\n"))
             if i != skip and line.strip(b" \t\r")]
    if len(lines) != n_rows:  # cannot happen for a file the loader accepted
        return np.arange(1, n_rows + 1) + (skip >= 0)
    return np.asarray(lines)


def _rows_as_keys(M: np.ndarray) -> np.ndarray:
    M = np.ascontiguousarray(M)
    return M.view(np.dtype((np.void, M.shape[1]))).ravel()


def find_overlap(train_path: str | os.PathLike, test_path: str | os.PathLike) -> list[tuple]:
    """Every (train_line, test_line) pair, 1-based file lines, whose images are identical.

    Rows are compared as whole byte strings (sorted, vectorised; about 0.3 s for 70,000
    images) and the answer is cached in `.cache/overlap.json` beside the test file, keyed by
    both files' size, modification time and inode.
    """
    from fmnist.data import load_test, load_train

    train_path, test_path = Path(train_path), Path(test_path)
    key = f"{train_path.resolve()}:{file_key(_stat(train_path))}|{file_key(_stat(test_path))}"
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
    _write_json_quietly(cache, table)
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
