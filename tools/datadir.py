"""The data folder's pair of files, replaced as one (for tools/build.py): `write_pair`
(temporary files, a mark, two renames, the provenance record), `recover` after a killed build,
`clear_leftovers` (temporary files a SIGKILL left, stale caches), `build_lock`, and
`write_error` (disk errors as DataError)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from fmnist.data import DataError, array_sha256, atomic_write
from tools import provenance

BUILD_MARK = ".build-in-progress"
_ROWS_PER_CHUNK = 8192


def _digit_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every byte value v: its decimal digits then ',' (or '\\n'), padded to 4 chars,
    and the number of chars that count. Shapes (256, 4), (256, 4), (256,)."""
    comma = np.zeros((256, 4), dtype=np.uint8)
    newline = np.zeros((256, 4), dtype=np.uint8)
    length = np.zeros(256, dtype=np.int64)
    for v in range(256):
        s = str(v).encode()
        comma[v, : len(s) + 1] = np.frombuffer(s + b",", dtype=np.uint8)
        newline[v, : len(s) + 1] = np.frombuffer(s + b"\n", dtype=np.uint8)
        length[v] = len(s) + 1
    return comma, newline, length


_COMMA, _NEWLINE, _LENGTH = _digit_tables()
_SLOTS = np.arange(4)


def format_rows(M: np.ndarray) -> bytes:
    """uint8 matrix (n, k) -> its CSV text: integers separated by ',', one row per line.

    Vectorised: every value becomes 4 byte slots from a lookup table, and a mask keeps the
    slots that belong to its digits and separator (np.savetxt is ~50x slower here).
    """
    M = np.asarray(M, dtype=np.uint8)
    chars = _COMMA[M]                      # (n, k, 4)
    chars[:, -1] = _NEWLINE[M[:, -1]]
    keep = _SLOTS < _LENGTH[M][..., None]  # (n, k, 4)
    return chars[keep].tobytes()


def _write_temp(out_dir: Path, name: str, M: np.ndarray) -> tuple[Path, str]:
    """Write M's CSV text to a hidden temporary file beside `out_dir/name`, synced to disk;
    returns the temp path and the text's SHA-256. The temp file is removed on any error."""
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out_dir)
    tmp = Path(tmp)
    h = hashlib.sha256()
    try:
        os.chmod(tmp, 0o644)
        with os.fdopen(fd, "wb") as f:
            for start in range(0, len(M), _ROWS_PER_CHUNK):
                text = format_rows(M[start : start + _ROWS_PER_CHUNK])
                f.write(text)
                h.update(text)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp, h.hexdigest()


def write_pair(out_dir: Path, train_rows: np.ndarray, test_rows: np.ndarray,
                record: dict) -> None:
    temps: list[Path] = []
    placed: list[Path] = []
    mark = out_dir / BUILD_MARK
    try:
        tmp_test, test_sha = _write_temp(out_dir, "test.csv", test_rows)
        temps.append(tmp_test)
        tmp_train, train_sha = _write_temp(out_dir, "train.csv", train_rows)
        temps.append(tmp_train)
        record = {**record, "train_sha256": train_sha, "test_sha256": test_sha,
                  "array_sha256": {"train": array_sha256(train_rows),
                                   "test": array_sha256(test_rows)}}
        with atomic_write(mark, "w", encoding="utf-8") as f:
            json.dump(record, f, sort_keys=True)
        for tmp, name in ((tmp_test, "test.csv"), (tmp_train, "train.csv")):
            os.replace(tmp, out_dir / name)
            placed.append(out_dir / name)
        provenance.write_record(out_dir, record)
        _fsync_dir(out_dir)
        mark.unlink()
    except BaseException:
        for path in [*temps, *placed, mark]:
            with contextlib.suppress(OSError):
                path.unlink()
        raise


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def build_lock(out_dir: Path):
    """Hold an exclusive lock on the folder itself (two builds at once wait for each other
    instead of deleting each other's temporary files; no lock file is left behind)."""
    fd = os.open(out_dir, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


_TEMP_PATTERNS = (".train.csv.*.tmp", ".test.csv.*.tmp", f".{provenance.RECORD_NAME}.*.tmp",
                  f".{BUILD_MARK}.*.tmp")
_STALE_CACHE_SECONDS = 600


def clear_leftovers(data_dir: Path) -> list[Path]:
    """Remove what a killed build or load left behind: the build's temporary files (under the
    lock, so none belongs to a running build), cache temporaries older than 10 minutes, and
    parsed-array caches of files that have since changed. Returns the removed paths."""
    removed = []
    candidates = [p for pattern in _TEMP_PATTERNS for p in data_dir.glob(pattern)]
    now = time.time()
    current = set()
    for kind in ("train", "test"):
        with contextlib.suppress(OSError):
            st = (data_dir / f"{kind}.csv").stat()
            current.add(f"{kind}.csv.{kind}.{st.st_size}-{st.st_mtime_ns}-{st.st_ino}-")
    with contextlib.suppress(OSError):
        for p in (data_dir / ".cache").iterdir():
            with contextlib.suppress(OSError):
                if p.name.startswith(".") and p.name.endswith(".tmp"):
                    if now - p.stat().st_mtime > _STALE_CACHE_SECONDS:
                        candidates.append(p)
                elif p.suffix == ".npy" and not any(p.name.startswith(c) for c in current):
                    candidates.append(p)
                elif p.name == "checksums.json":  # written by earlier versions
                    candidates.append(p)
    for p in candidates:
        with contextlib.suppress(OSError):
            p.unlink()
            removed.append(p)
    return removed


def recover(data_dir: Path) -> None:
    """After a build that was killed (its mark is still there): remove the CSV files it had
    already renamed into place, which the mark identifies by checksum, so that both are built
    again. Files that do not match the mark are the user's and stay."""
    mark = data_dir / BUILD_MARK
    if not mark.exists():
        return
    try:
        record = json.loads(mark.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = {}
    print(f"note: an earlier build of {data_dir} was interrupted; building it again",
          file=sys.stderr, flush=True)
    for name in ("train.csv", "test.csv"):
        path = data_dir / name
        if path.is_file() and not path.is_symlink() and \
                provenance.sha256_file(path) == record.get(f"{name[:-4]}_sha256"):
            path.unlink()
    (data_dir / provenance.RECORD_NAME).unlink(missing_ok=True)
    mark.unlink()


def write_error(out_dir: Path, err: OSError) -> DataError:
    where = err.filename or out_dir
    if err.errno == errno.ENOSPC:
        return DataError(f"{where}: no space left on the device while building the data (it "
                         f"needs about 160 MB in {out_dir}); free some space and run again "
                         "(nothing was left half-written)")
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return DataError(f"{where}: cannot write there ({err.strerror}); make {out_dir} "
                         "writable, point --data-dir/FMNIST_DATA_DIR at a folder you can write, "
                         "or copy the course's train.csv and test.csv into it")
    return DataError(f"{where}: could not write the data ({err.strerror or err}); check the "
                     "disk and run again (nothing was left half-written)")
