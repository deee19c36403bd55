"""The cached, parallel runner: train many configurations, each once.

A run trains in a worker process with ONE BLAS thread ($FMNIST_WORKERS of them, default 2; 0
trains in this process), so its numbers do not depend on what ran beside it. Its cache entry is
keyed by model kind, configuration (seed included), a fingerprint of its arrays and a hash of
the numeric modules, and carries a checksum: a warm render recomputes nothing, a damaged entry
is recomputed. Ctrl-C or SIGTERM stops at once: the workers end, no file is left half-written.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import functools
import hashlib
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

from fmnist.data import DataError, atomic_write
from fmnist.models import MODELS
from fmnist.plans import DataSpec, summary
from fmnist.training import HISTORY_KEYS, TrainingDiverged

FORMAT = 2  # of a cache entry
PACKAGE_DIR = Path(__file__).resolve().parent
# the modules that can change a trained model's numbers; what the others decide is in the key
NUMERIC_MODULES = ("data.py", "functional.py", "models.py", "training.py")
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                         "BLIS_NUM_THREADS")


def workers() -> int:
    """How many worker processes: $FMNIST_WORKERS (0: train in this process), default 2."""
    text = os.environ.get("FMNIST_WORKERS", "").strip() or "2"
    if not text.isdigit():
        raise DataError(f"FMNIST_WORKERS must be an integer >= 0 (0 trains in this process), "
                        f"got {text!r}: set it to 2, for example, or unset it")
    return int(text)


def fmt_seconds(s: float) -> str:
    s = int(round(s))
    return (f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600
            else f"{s // 60}:{s % 60:02d}")


# ------------------------------------------------------------------------------- the cache

class CacheError(Exception):
    """A cache entry that is missing, damaged or written for another key."""


def source_hash(folder: Path = PACKAGE_DIR) -> str:
    """Hash of the NUMERIC_MODULES of `folder`: the code part of a run's key."""
    h = hashlib.blake2b(digest_size=16)
    for path in (Path(folder) / name for name in NUMERIC_MODULES):
        if path.exists():
            h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


code_hash = functools.cache(source_hash)  # once per process: an edit mid-run splits no keys


def canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"),
                      default=lambda v: v.item() if isinstance(v, np.generic) else list(v))


def run_key(kind: str, config: dict, data_fp: str, code: str) -> str:
    """'nn-3f2a...': the model kind and a hash of configuration, data, code and format."""
    payload = canonical(dict(kind=kind, config=config, data=data_fp, code=code, format=FORMAT))
    return f"{kind}-{hashlib.sha256(payload.encode()).hexdigest()[:24]}"


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_entry(folder: Path, key: str, need_model: bool = False) -> dict:
    """The validated entry of `key`; CacheError if it cannot be trusted."""
    try:
        entry = json.loads((Path(folder) / f"{key}.json").read_text())
        checksum = entry.pop("checksum")
    except FileNotFoundError:
        raise CacheError("missing") from None
    except (ValueError, KeyError, AttributeError, TypeError, OSError) as err:
        raise CacheError(f"unreadable ({type(err).__name__})") from None
    if hashlib.sha256(canonical(entry).encode()).hexdigest() != checksum:
        raise CacheError("checksum mismatch")
    if entry.get("key") != key:
        raise CacheError("written for another key")
    model = Path(folder) / f"{key}.npz"
    if need_model and entry["status"] == "ok" and (
            not model.exists() or entry.get("model_sha256") != _sha256(model)):
        raise CacheError("saved model missing or corrupted")
    return entry


def _fit(kind: str, config: dict, spec: DataSpec, key: str, folder: str, keep_model: bool,
         meta: dict) -> dict:
    """Train one configuration, write its model (if kept), then its cache entry."""
    (X_tr, X_val, y_tr, y_val), _ = spec.load()
    model, t0, status, message = MODELS[kind](**config), time.perf_counter(), "ok", ""
    try:
        model.fit(X_tr, y_tr, X_val, y_val)
    except TrainingDiverged as err:
        status, message = "diverged", str(err)
    hist = {k: list(getattr(model, "history_", {}).get(k, [])) for k in HISTORY_KEYS}
    entry = dict(key=key, kind=kind, config=config, status=status, message=message,
                 history=hist, seconds=time.perf_counter() - t0, **meta, model_sha256=None)
    if keep_model and status == "ok":
        model.save(Path(folder) / f"{key}.npz")
        entry["model_sha256"] = _sha256(Path(folder) / f"{key}.npz")
    entry["checksum"] = hashlib.sha256(canonical(entry).encode()).hexdigest()
    with atomic_write(Path(folder) / f"{key}.json", "w") as f:
        f.write(canonical(entry))
    return entry


# ------------------------------------------------------------------------------- the runner

@contextlib.contextmanager
def handling(handler, *signums):
    """`handler` for `signums` while open (in the main thread: no other can have one)."""
    main = threading.current_thread() is threading.main_thread()
    old = {s: signal.signal(s, handler) for s in signums} if main else {}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


# SIGTERM and SIGINT (even in a kernel that ignores it) raise KeyboardInterrupt: both stop
# the work cleanly. A context manager, or a decorator: @stop_on_signals()
stop_on_signals = functools.partial(handling, signal.default_int_handler, signal.SIGINT,
                                    signal.SIGTERM)


def _watch_parent() -> None:
    """In a worker: end when the parent process ends, however it ends (even SIGKILL)."""
    parent = multiprocessing.parent_process()
    threading.Thread(target=lambda: (parent.join(), os._exit(1)), daemon=True).start()


@contextlib.contextmanager
def process_pool(n_workers: int, blas_threads: int = 1):
    """An executor of `n_workers` spawned processes with `blas_threads` BLAS threads each (BLAS
    reads the variables once, at start). If the block raises, its workers end at once."""
    saved, before = dict(os.environ), set(multiprocessing.active_children())
    os.environ.update(dict.fromkeys(BLAS_THREAD_VARIABLES, str(blas_threads)))
    pool = cf.ProcessPoolExecutor(n_workers, multiprocessing.get_context("spawn"), _watch_parent)
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        for p in set(multiprocessing.active_children()) - before:
            p.terminate()
            p.join()
        raise
    finally:
        pool.shutdown()
        os.environ.clear()
        os.environ.update(saved)


def _train(kind, todo: dict, spec, cache: Path, keep_models: bool, meta: dict, n_workers: int):
    """Yield the entry of each configuration of `todo` {key: config} as it finishes."""
    if n_workers == 0:
        for key, config in todo.items():
            yield _fit(kind, config, spec, key, str(cache), keep_models, meta)
        return
    try:
        with process_pool(n_workers) as pool:
            with handling(signal.SIG_IGN, signal.SIGINT):  # inherited: Ctrl-C is ours to handle
                futures = [pool.submit(_fit, kind, c, spec, k, str(cache), keep_models, meta)
                           for k, c in todo.items()]
            for fut in cf.as_completed(futures):
                yield fut.result()
    except BaseException:
        for tmp in cache.glob(".*.tmp"):  # the unfinished write of an ended worker
            tmp.unlink(missing_ok=True)
        raise


@stop_on_signals()
def run_sweep(kind: str, configs: list[dict], spec: DataSpec, cache: Path, *,
              keep_models: bool = False, label: str = "", base: dict | None = None,
              quick: bool = False, progress: bool = True) -> pd.DataFrame:
    """Train (or load from the cache) one model per configuration: one row each (its keys,
    `summary`'s, `seconds`, `cached`, `key`), with progress on stderr."""
    def say(msg):
        if progress:
            print(f"[{label}{msg}", file=sys.stderr, flush=True)

    _, data_fp = spec.load()
    meta = {"data": data_fp, "code": code_hash(), "quick": quick}
    keys = [run_key(kind, c, data_fp, meta["code"]) for c in configs]
    entries = {}
    for key in dict.fromkeys(keys):
        try:
            entries[key] = read_entry(cache, key, need_model=keep_models)
        except CacheError as err:
            if (cache / f"{key}.json").exists():
                say(f"] cache entry {key} is unusable ({err}); recomputing it")
    cached = set(entries)
    todo = {k: c for k, c in zip(keys, configs, strict=True) if k not in cached}
    n = min(workers(), len(todo))
    where = f"{n} worker process{'es' * (n > 1)}" if n else "in this process"
    say(f"] training {len(todo)} of {len(configs)} runs ({where})" if todo
        else f"] all {len(configs)} runs cached")
    cache.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with contextlib.closing(_train(kind, todo, spec, cache, keep_models, meta, n)) as runs:
        for done, entry in enumerate(runs, 1):
            entries[entry["key"]] = entry
            elapsed, row = time.perf_counter() - t0, summary(entry)
            left = elapsed / done * (len(todo) - done)
            what = " ".join(f"{k}={v}" for k, v in entry["config"].items()
                            if base is None or base.get(k) != v) or "baseline"
            say(f" {done}/{len(todo)}] {what}: {row['status']}, val_acc {row['val_acc']:.4f} "
                f"at epoch {row['best_epoch']} in {entry['seconds']:.0f} s (elapsed "
                f"{fmt_seconds(elapsed)}{f', ~{fmt_seconds(left)} left' if left else ''})")
    df = pd.DataFrame([{**c, **summary(entries[k]), "seconds": entries[k]["seconds"],
                        "cached": k in cached, "key": k}
                       for c, k in zip(configs, keys, strict=True)])
    df.attrs.update(kind=kind, label=label, quick=quick, cache_dir=str(Path(cache).resolve()))
    return df


def history(df: pd.DataFrame, key: str) -> pd.DataFrame:
    """Per-epoch history (columns HISTORY_KEYS) of run `key` of a results frame."""
    return pd.DataFrame(read_entry(Path(df.attrs["cache_dir"]), key)["history"])[
        list(HISTORY_KEYS)]
