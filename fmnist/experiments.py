"""The report's experiments: `run_all(ctx) -> Results`, each run trained once and cached.

    ctx = Context.create()           quick mode, plan, data and cache folders
    results = run_all(ctx)           every sweep, the final searches, the ablation, the finals
    write_deliverables(results)      lr_pred.csv, NN_pred.csv, models/logreg.npz, models/nn.npz

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fmnist import plans
from fmnist.data import DataError, atomic_write, load_test, load_train, write_predictions
from fmnist.models import MODELS, load_model
from fmnist.plans import Context, DataSpec, best_config_id, mark_quick, over_seeds, summary
from fmnist.training import HISTORY_KEYS, TrainingDiverged

PREDICTION_FILES = {"logreg": "lr_pred.csv", "nn": "NN_pred.csv"}  # names set by the exercise
MODEL_FILES = {"logreg": "models/logreg.npz", "nn": "models/nn.npz"}
FORMAT = 2  # of a cache entry
PACKAGE_DIR = Path(__file__).resolve().parent
# the modules that can change a trained model's numbers; what the others decide is in the key
NUMERIC_MODULES = ("data.py", "functional.py", "estimator.py", "models.py", "training.py")
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


# ------------------------------------------------------------------------------- the report's

def sweep(ctx: Context, kind: str, configs: list[dict], label: str, *, search: bool = True,
          keep_models: bool = False, base: dict | None = None) -> pd.DataFrame:
    """Each configuration with every seed of the plan: one row per (configuration, seed);
    `config_id` indexes `df.attrs["configs"]`."""
    seeds = ctx.plan.seeds
    df = run_sweep(kind, plans.with_seeds(configs, seeds), ctx.spec(search), ctx.cache,
                   keep_models=keep_models, label=label, base=base, quick=ctx.quick,
                   progress=ctx.progress)
    df.insert(0, "config_id", [i // len(seeds) for i in range(len(df))])
    df.attrs["configs"] = list(configs)
    return df


@dataclass
class BestModel:
    """A chosen configuration trained on the whole training part with every seed; seed 0's
    model, kept at its best validation epoch, is the submitted one."""

    kind: str
    config: dict              # without random_state
    runs: pd.DataFrame        # one row per seed
    model: Any                # seed 0's fitted model
    history: pd.DataFrame     # seed 0's per-epoch history

    seed0 = property(lambda self: self.runs[self.runs["random_state"] == 0].iloc[0])
    val_acc = property(lambda self: float(self.seed0["val_acc"]))
    best_epoch = property(lambda self: int(self.seed0["best_epoch"]))


@dataclass
class Results:
    """Everything the report shows; each DataFrame has one row per (configuration, seed)."""

    ctx: Context
    logreg: dict[str, pd.DataFrame]       # factor -> runs, one factor at a time
    logreg_finals: pd.DataFrame            # candidates on the whole training part
    nn: dict[str, pd.DataFrame]            # factor -> runs; "activation": activation x lr
    nn_grid: pd.DataFrame                  # the two-way grid (hidden x dropout)
    nn_search: pd.DataFrame                # the final network's search (search subset)
    nn_ablation: pd.DataFrame              # the chosen recipe minus one aid at a time
    best: dict[str, BestModel] = field(default_factory=dict)


def _finals(ctx: Context, kind: str, candidates: dict[str, dict], label: str):
    """Each candidate on the whole training part with every seed: (runs, the best by mean)."""
    runs = sweep(ctx, kind, list(candidates.values()), label, search=False, keep_models=True)
    runs.insert(1, "candidate", [list(candidates)[i] for i in runs["config_id"]])
    mine = runs[runs["config_id"] == best_config_id(runs)].reset_index(drop=True)
    mine.attrs.update(runs.attrs)
    key = mine.loc[mine["random_state"] == 0, "key"].iloc[0]
    read_entry(ctx.cache, key, need_model=True)
    model = load_model(ctx.cache / f"{key}.npz")
    return runs, BestModel(kind, plans.best_config(runs), mine, model, history(runs, key))


def _sweeps(ctx: Context, kind: str, per_factor: dict[str, list[dict]], base: dict,
            label: str):
    """Every factor's configurations in ONE sweep (shared runs such as the baseline train
    once, the workers stay busy): all runs, and the runs of each factor."""
    ids = {repr(sorted(c.items())): c for cs in per_factor.values() for c in cs}
    runs = sweep(ctx, kind, list(ids.values()), label, base=base)
    position = {k: i for i, k in enumerate(ids)}
    out = {}
    for factor, configs in per_factor.items():
        out[factor] = pd.concat([runs[runs["config_id"] == position[repr(sorted(c.items()))]]
                                 for c in configs], ignore_index=True)
        out[factor].attrs.update(runs.attrs, factor=factor, label=f"{label}: {factor}")
    return runs, out


@stop_on_signals()
def run_all(ctx: Context) -> Results:
    """Every experiment of the report, each run trained once (cached), returned together."""
    workers()  # a bad FMNIST_WORKERS stops here, before any training
    p, planned = ctx.plan, plans.sweeps(ctx.plan)
    lr_runs, logreg = _sweeps(ctx, "logreg", planned["logreg"], p.logreg_base, "logreg sweeps")
    _, nn = _sweeps(ctx, "nn", planned["nn"], p.nn_base, "nn sweeps")
    logreg_finals, best_logreg = _finals(
        ctx, "logreg", plans.variants(plans.best_config(lr_runs), p.logreg_final), "logreg final")
    search = sweep(ctx, "nn", plans.nn_search(p), "nn final search", base=p.nn_final_base)
    chosen = plans.best_config(search)
    ablation = plans.variants(chosen, {"final": {}, **p.nn_ablation})
    nn_ablation = sweep(ctx, "nn", list(ablation.values()), "nn ablation", base=chosen)
    nn_ablation.insert(1, "variant", [list(ablation)[i] for i in nn_ablation["config_id"]])
    best = max((search, nn_ablation),  # the best mean: a variant may beat the searched recipe
               key=lambda df: over_seeds(df)["mean"][best_config_id(df)])
    _, best_nn = _finals(ctx, "nn", {"final": plans.best_config(best)}, "nn final")
    return Results(ctx, logreg, logreg_finals, nn, nn.pop("grid"), search, nn_ablation,
                   {"logreg": best_logreg, "nn": best_nn})


# ------------------------------------------------------------------------------- the files

@stop_on_signals()
def write_deliverables(results: Results, out=".") -> dict[str, Path]:
    """Write the two prediction files (one class 0-9 per line, in test.csv's order) and the two
    submitted models, atomically, marked in quick mode: {logreg, nn, logreg_model, nn_model}."""
    X_test, written = load_test(results.ctx.data_dir / "test.csv"), {}
    for kind, best in results.best.items():
        written[f"{kind}_model"] = model_path = Path(out) / MODEL_FILES[kind]
        with atomic_write(model_path, "wb") as f:
            f.write((results.ctx.cache / f"{best.seed0['key']}.npz").read_bytes())
        written[kind] = write_predictions(Path(out) / PREDICTION_FILES[kind],
                                          best.model.predict(X_test))
        for path in (model_path, written[kind]):
            mark_quick(path, results.ctx.quick)
    return written


@stop_on_signals()
def remake_predictions(ctx: Context, out=".") -> dict[str, Path]:
    """Remake the prediction files from the saved models in out/models/ (no training)."""
    X_test, written = load_test(ctx.data_dir / "test.csv"), {}
    for kind, name in PREDICTION_FILES.items():
        model_path = Path(out) / MODEL_FILES[kind]
        if not model_path.exists():
            raise DataError(f"{model_path}: no saved model; run `python -m fmnist experiments` "
                            "first (it trains and saves both models)")
        written[kind] = write_predictions(Path(out) / name, load_model(model_path).predict(X_test))
        mark_quick(written[kind], Path(f"{model_path}.quick").exists())
    return written


def load_train_of(ctx: Context):
    """The whole train.csv of the context's data folder: X uint8 (n, 784), y int64 (n,)."""
    return load_train(ctx.data_dir / "train.csv")
