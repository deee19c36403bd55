"""The experiment cache: one checksummed JSON file per training run (and the model, if kept).

A run's key is its model kind, its exact configuration (seed included), a fingerprint of the
arrays it was trained and validated on, and a hash of the package's numeric source. A repeated
render recomputes nothing; a change of code or data recomputes what it affects. An entry that is
truncated, corrupted or written for another key is recomputed, never trusted.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import numpy as np

from fmnist.data import atomic_write
from fmnist.training import HISTORY_KEYS

FORMAT = 2
PACKAGE_DIR = Path(__file__).resolve().parent
# The modules that can change a trained model's numbers; the others (plans, runners, plots,
# analysis, CLI) cannot: what they decide about a run is in its key.
NUMERIC_MODULES = ("data.py", "functional.py", "estimator.py", "models.py", "training.py")


class CacheError(Exception):
    """A cache entry that is missing, truncated, corrupted or does not match its key."""


def fingerprint(*arrays: np.ndarray) -> str:
    """Hash of arrays (values, dtypes, shapes): the data part of a cache key."""
    h = hashlib.blake2b(digest_size=16)
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.data)
    return h.hexdigest()


def source_hash(folder: Path = PACKAGE_DIR) -> str:
    """Hash of the numeric modules of `folder` (NUMERIC_MODULES)."""
    h = hashlib.blake2b(digest_size=16)
    for name in NUMERIC_MODULES:
        path = Path(folder) / name
        if path.exists():
            h.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


@functools.cache
def code_hash() -> str:
    """The code part of a cache key, taken once per process (edits during a run do not split
    one run's keys)."""
    return source_hash()


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"cannot put {type(value).__name__} into a cache key")


def canonical(obj) -> str:
    """Deterministic JSON text of `obj` (sorted keys, no spaces)."""
    return json.dumps(obj, sort_keys=True, default=_jsonable, separators=(",", ":"))


def run_key(kind: str, config: dict, data_fp: str, code: str) -> str:
    """Cache key of one run, e.g. 'nn-3f2a...': kind + hash(config, data, code, format)."""
    payload = canonical({"kind": kind, "config": config, "data": data_fp, "code": code,
                         "format": FORMAT})
    return f"{kind}-{hashlib.sha256(payload.encode()).hexdigest()[:24]}"


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_entry(folder: Path, key: str, need_model: bool = False) -> dict:
    """The validated cache entry of `key`; raises CacheError if it cannot be trusted."""
    path = Path(folder) / f"{key}.json"
    if not path.exists():
        raise CacheError("missing")
    try:
        entry = json.loads(path.read_text())
        checksum = entry.pop("checksum")
    except (ValueError, KeyError, AttributeError, UnicodeDecodeError, TypeError, OSError) as err:
        raise CacheError(f"unreadable ({type(err).__name__})") from None
    if hashlib.sha256(canonical(entry).encode()).hexdigest() != checksum:
        raise CacheError("checksum mismatch")
    if entry.get("format") != FORMAT or entry.get("key") != key:
        raise CacheError("written for another key or format")
    hist = entry.get("history")
    if not isinstance(hist, dict) or not all(c in hist for c in HISTORY_KEYS):
        raise CacheError("history incomplete")
    if len({len(v) for v in hist.values()}) > 1:
        raise CacheError("history columns of different lengths")
    if entry["status"] == "ok" and not hist["epoch"]:
        raise CacheError("empty history")
    if need_model and entry["status"] == "ok":
        model_path = Path(folder) / f"{key}.npz"
        if entry.get("model_sha256") is None:
            raise CacheError("no saved model")
        if not model_path.exists() or sha256_file(model_path) != entry["model_sha256"]:
            raise CacheError("saved model missing or corrupted")
    return entry


def write_entry(folder: Path, entry: dict) -> None:
    """Write an entry (with its checksum) atomically as `<key>.json`."""
    entry = dict(entry, checksum=hashlib.sha256(canonical(entry).encode()).hexdigest())
    with atomic_write(Path(folder) / f"{entry['key']}.json", "w") as f:
        f.write(canonical(entry))
