"""The sweep runner: train (or load from the cache) one model per configuration, in parallel
worker processes, with progress on stderr; one result row per run.

Every run trains in a worker process with ONE BLAS thread, whatever the number of workers, so a
run's numbers do not depend on how many ran beside it (OpenBLAS's summation order changes with
its thread count). Independent runs use both cores as two such workers (`FMNIST_WORKERS`,
default: the number of CPUs, at most 2; 0 trains in this process, for tests and debugging).
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fmnist import runcache
from fmnist.models import MODELS
from fmnist.parallel import process_pool
from fmnist.training import HISTORY_KEYS, TrainingDiverged

LN_K = math.log(10)  # the loss of uniform guessing, where every run starts


@dataclass(frozen=True)
class DataSpec:
    """How to rebuild the arrays of a run in any process: the split of `train_path` (seed 0,
    `val_fraction`), the parts cut to `n_train`/`n_val`, the training part then cut to
    `subset` images (None: all). `load()` gives X_tr, X_val, y_tr, y_val."""

    train_path: str
    n_train: int | None = None
    n_val: int | None = None
    subset: int | None = None
    val_fraction: float = 0.1

    def load(self):
        return _load_spec(self)


_SPEC_MEMO: dict = {}


def _file_signature(path: str):
    """Size, modification time and inode of a file (None if it cannot be read)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino


def _load_spec(spec: DataSpec):
    """((X_tr, X_val, y_tr, y_val), fingerprint) of `spec`, memoised while the file is
    unchanged (a long-lived process, such as a notebook kernel, sees a rebuilt train.csv)."""
    from fmnist.data import load_train, train_val_split

    memo_key = (spec, _file_signature(spec.train_path))
    if memo_key not in _SPEC_MEMO:
        X, y = load_train(spec.train_path)
        X_tr, X_val, y_tr, y_val = train_val_split(X, y, spec.val_fraction, random_state=0)
        n = spec.n_train if spec.subset is None else min(spec.subset, spec.n_train or spec.subset)
        arrays = (X_tr[:n], X_val[:spec.n_val], y_tr[:n], y_val[:spec.n_val])
        _SPEC_MEMO.clear()
        _SPEC_MEMO[memo_key] = (arrays, runcache.fingerprint(*arrays))
    return _SPEC_MEMO[memo_key]


def _fit(kind: str, config: dict, spec: DataSpec, key: str, folder: str, keep_model: bool,
         meta: dict) -> dict:
    """Train one configuration and write its cache entry (and model). Runs in a worker."""
    (X_tr, X_val, y_tr, y_val), _ = _load_spec(spec)
    model = MODELS[kind](**config)
    t0 = time.perf_counter()
    status, message = "ok", ""
    try:
        model.fit(X_tr, y_tr, X_val, y_val)
    except TrainingDiverged as err:
        status, message = "diverged", str(err)
    hist = {k: [float(x) for x in getattr(model, "history_", {}).get(k, [])]
            for k in HISTORY_KEYS}
    hist["epoch"] = [int(x) for x in hist["epoch"]]
    entry = {"format": runcache.FORMAT, "key": key, "kind": kind, "config": config,
             "status": status, "message": message, "history": hist,
             "seconds": time.perf_counter() - t0, **meta, "model_sha256": None}
    if keep_model and status == "ok":
        path = Path(folder) / f"{key}.npz"
        model.save(path)
        entry["model_sha256"] = runcache.sha256_file(path)
    runcache.write_entry(Path(folder), entry)
    return entry


def summary(entry: dict) -> dict:
    """Result columns of one run: the best validation epoch and the training figures AT that
    epoch (so a train/validation gap compares like with like), whether it diverged, and
    whether its best epoch was its last (`at_last_epoch`: it may not have finished learning),
    and whether the epoch limit, not early stopping, ended it with its best epoch within its
    patience of the end (`cut_short`: more epochs might have helped). A diverged run keeps the
    best validation accuracy it reached before diverging as `peak_before` (NaN otherwise)."""
    hist = entry["history"]
    row = {"val_acc": math.nan, "val_loss": math.nan, "train_acc": math.nan,
           "train_loss": math.nan, "best_epoch": math.nan, "epochs_run": len(hist["epoch"]),
           "at_last_epoch": False, "cut_short": False, "peak_before": math.nan,
           "status": entry["status"]}
    if hist["epoch"]:
        val_acc = np.asarray(hist["val_acc"], dtype=float)
        i = int(np.nanargmax(val_acc)) if np.isfinite(val_acc).any() else len(val_acc) - 1
        row.update(val_acc=float(val_acc[i]), val_loss=float(hist["val_loss"][i]),
                   train_acc=float(hist["train_acc"][i]),
                   train_loss=float(hist["train_loss"][i]), best_epoch=int(hist["epoch"][i]),
                   at_last_epoch=i == len(val_acc) - 1)
        config = entry.get("config", {})
        patience, n = config.get("patience"), len(val_acc)
        row["cut_short"] = bool(patience is not None and n == config.get("epochs")
                                and n - row["best_epoch"] < patience
                                and not row["at_last_epoch"])
        if hist["train_loss"][-1] > LN_K:  # worse than where it started: it did not learn
            row["status"] = "diverged"
    if row["status"] != "ok":
        row.update(peak_before=row["val_acc"], val_acc=math.nan, val_loss=math.nan)
    return row


def workers() -> int:
    """How many worker processes: $FMNIST_WORKERS (0: none, train in this process), else the
    CPU count, at most 2."""
    text = os.environ.get("FMNIST_WORKERS", "").strip()
    if text:
        if not text.isdigit():
            raise ValueError(f"FMNIST_WORKERS must be an integer >= 0, got {text!r}")
        return int(text)
    return max(1, min(2, os.cpu_count() or 1))


def fmt_seconds(s: float) -> str:
    s = int(round(s))
    if s >= 3600:
        return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
    return f"{s // 60}:{s % 60:02d}"


def describe(config: dict, base: dict | None) -> str:
    """'a=1 b=x': the entries of `config` that differ from `base` (all if base is None)."""
    items = [(k, v) for k, v in config.items() if base is None or base.get(k) != v]
    return " ".join(f"{k}={v}" for k, v in items) or "baseline"


def _train_all(kind, todo: dict, spec, cache: Path, keep_models: bool, meta: dict,
               n_workers: int):
    """Yield the cache entry of each configuration of `todo` {key: config} as it finishes."""
    if n_workers == 0:
        for key, config in todo.items():
            yield _fit(kind, config, spec, key, str(cache), keep_models, meta)
        return
    with process_pool(n_workers, blas_threads=1) as pool:
        futures = [pool.submit(_fit, kind, c, spec, k, str(cache), keep_models, meta)
                   for k, c in todo.items()]
        for fut in cf.as_completed(futures):
            yield fut.result()


def run_sweep(kind: str, configs: list[dict], spec: DataSpec, cache: Path, *,
              keep_models: bool = False, label: str = "", base: dict | None = None,
              quick: bool = False, progress: bool = True) -> pd.DataFrame:
    """Train (or load from the cache) one model per configuration; one result row per config.

    Columns: the configuration's keys, then those of `summary`, `seconds`, `cached`, `key`;
    `df.attrs` holds kind, label, quick and the cache folder. Progress (run i of n, what
    differs from `base`, elapsed time and an estimate of what is left) goes to stderr.
    """
    if kind not in MODELS:
        raise ValueError(f"kind must be one of {sorted(MODELS)}, got {kind!r}")
    say = (lambda msg: print(msg, file=sys.stderr, flush=True)) if progress else (lambda m: None)
    _, data_fp = _load_spec(spec)
    meta = {"data": data_fp, "code": runcache.code_hash(), "quick": quick}
    keys = [runcache.run_key(kind, c, data_fp, meta["code"]) for c in configs]
    entries: dict[str, dict] = {}
    for key in dict.fromkeys(keys):
        try:
            entries[key] = runcache.read_entry(cache, key, need_model=keep_models)
        except runcache.CacheError as err:
            if (cache / f"{key}.json").exists():
                say(f"[{label}] cache entry {key} is unusable ({err}); recomputing it")
    cached = set(entries)
    todo = {k: c for k, c in zip(keys, configs, strict=True) if k not in entries}
    if not todo:
        say(f"[{label}] all {len(configs)} runs cached")
    else:
        cache.mkdir(parents=True, exist_ok=True)
        n_workers = min(workers(), len(todo))
        where = (f"{n_workers} worker process{'es' if n_workers > 1 else ''}" if n_workers
                 else "in this process")
        say(f"[{label}] training {len(todo)} of {len(configs)} runs ({where})")
        t0 = time.perf_counter()
        for done, entry in enumerate(_train_all(kind, todo, spec, cache, keep_models, meta,
                                                n_workers), 1):
            entries[entry["key"]] = entry
            elapsed = time.perf_counter() - t0
            left = elapsed / done * (len(todo) - done)
            row = summary(entry)
            say(f"[{label} {done}/{len(todo)}] {describe(entry['config'], base)}: "
                f"{row['status']}, val_acc {row['val_acc']:.4f} at epoch "
                f"{row['best_epoch']} in {entry['seconds']:.0f} s (elapsed "
                f"{fmt_seconds(elapsed)}{f', ~{fmt_seconds(left)} left' if left else ''})")
    rows = [{**config, **summary(entries[key]), "seconds": entries[key]["seconds"],
             "cached": key in cached, "key": key}
            for config, key in zip(configs, keys, strict=True)]
    df = pd.DataFrame(rows)
    df.attrs.update(kind=kind, label=label, quick=quick, cache_dir=str(Path(cache).resolve()))
    return df


def history(df: pd.DataFrame, key: str) -> pd.DataFrame:
    """Per-epoch history of one run of a results DataFrame: columns HISTORY_KEYS."""
    entry = runcache.read_entry(Path(df.attrs["cache_dir"]), key)
    return pd.DataFrame({k: entry["history"][k] for k in HISTORY_KEYS})


def load_model(df: pd.DataFrame, key: str):
    """The fitted model of a run made with keep_models=True."""
    from fmnist.models import load_model as load

    folder = Path(df.attrs["cache_dir"])
    runcache.read_entry(folder, key, need_model=True)
    return load(folder / f"{key}.npz")


def config_columns(df: pd.DataFrame) -> list[str]:
    """The configuration columns of a results DataFrame (model keyword arguments but the seed)."""
    names = MODELS[df.attrs["kind"]]().get_params()
    return [c for c in names if c in df.columns and c != "random_state"]


def over_seeds(df: pd.DataFrame) -> pd.DataFrame:
    """One row per configuration (`config_id`, then its configuration columns): the mean,
    standard deviation and count over seeds of the best validation accuracy; the means of the
    training accuracy, losses and best epoch (each taken at a run's best epoch); `diverged`
    counts diverged seeds, `at_last_epoch` the seeds whose best epoch was their last and
    `cut_short` those the epoch limit stopped within their patience of their best."""
    g = df.groupby("config_id", sort=True)
    out = pd.DataFrame({
        "mean": g["val_acc"].mean(), "sd": g["val_acc"].std(ddof=1), "n": g["val_acc"].count(),
        "train_acc": g["train_acc"].mean(), "val_loss": g["val_loss"].mean(),
        "train_loss": g["train_loss"].mean(), "best_epoch": g["best_epoch"].mean(),
        "epochs_run": g["epochs_run"].mean(),
        "diverged": g["status"].agg(lambda s: int((s != "ok").sum())),
        "at_last_epoch": g["at_last_epoch"].agg(lambda s: int(s.sum())),
        "cut_short": g["cut_short"].agg(lambda s: int(s.sum())),
        "peak_before": g["peak_before"].mean(),
        "seeds": g["key"].count(),
    })
    configs = df.attrs["configs"]
    cols = config_columns(df)
    first = pd.DataFrame([{c: configs[i].get(c) for c in cols} for i in out.index],
                         index=out.index)
    out = pd.concat([first, out], axis=1).rename_axis("config_id").reset_index()
    out.attrs.update(df.attrs)
    return out


def best_config_id(df: pd.DataFrame) -> int:
    """The configuration with the highest mean validation accuracy over seeds, among those
    whose seeds all finished (the first listed on an exact tie)."""
    stats = over_seeds(df)
    ok = stats[(stats["diverged"] == 0) & stats["mean"].notna()]
    if ok.empty:
        raise RuntimeError(f"no configuration of {df.attrs.get('label')} finished")
    return int(ok.loc[ok["mean"].idxmax(), "config_id"])
