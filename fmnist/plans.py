"""What the report trains and how it chooses: the configurations of full and quick mode
(FMNIST_QUICK, read here only; quick outputs are marked), the arrays each run sees, and the
choice by mean validation accuracy over seeds. Values are model keyword arguments; every
setting is trained with each seed of `seeds`. Sweeps and the final network's search train on a
fixed `search_n_train`-image subset of the training part (three seeds within the time budget),
validated on the whole validation part; the chosen models train on the whole training part.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fmnist.data import default_data_dir, load_train, train_val_split

LN_K = math.log(10)  # the loss of uniform guessing, where every run starts


@dataclass(frozen=True)
class Plan:
    """All configurations of one mode (full or quick)."""

    quick: bool
    seeds: tuple
    n_train: int | None          # cap on the training part (quick mode), None: all of it
    n_val: int | None            # cap on the validation part (quick mode)
    search_n_train: int          # training images of the sweeps and the final search
    logreg_base: dict
    logreg_factors: dict         # factor -> values, one at a time around logreg_base
    logreg_grid: dict            # two factors -> values: a small full grid (interaction)
    logreg_final: dict           # name -> overrides of the best swept configuration
    nn_base: dict
    nn_factors: dict             # factor -> values, one at a time around nn_base
    nn_activation_lrs: dict      # activation -> learning rates (each tuned on its own)
    nn_grid: dict                # two factors -> values: a small full grid (interaction)
    nn_final_base: dict          # the final recipe before its search
    nn_final_search: dict        # factor -> values, full grid around nn_final_base
    nn_ablation: dict = field(default_factory=dict)  # name -> overrides of the final config


FULL_PLAN = Plan(
    quick=False,
    seeds=(0, 1, 2),
    n_train=None,
    n_val=None,
    search_n_train=8_000,
    logreg_base=dict(lr=0.01, batch_size=128, epochs=200, patience=12, l2=0.0, l1=0.0,
                     momentum=0.0, lr_schedule="constant", restore_best=True),
    logreg_factors=dict(
        lr=(1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0),
        batch_size=(16, 32, 64, 128, 256, 512),
        l2=(0.0, 1e-4, 1e-3, 1e-2, 1e-1),
        l1=(0.0, 1e-4, 1e-3, 1e-2, 1e-1),
    ),
    logreg_grid=dict(batch_size=(32, 128, 512), lr=(0.003, 0.01, 0.03)),
    logreg_final=dict(
        swept=dict(),
        cosine=dict(epochs=30, lr_schedule="cosine", momentum=0.9, patience=None, lr=0.001),
    ),
    nn_base=dict(hidden=128, activation="relu", dropout=0.0, lr=0.1, batch_size=128,
                 epochs=60, patience=8, l2=0.0, l1=0.0, momentum=0.0,
                 lr_schedule="constant", augment=None, restore_best=True),
    nn_factors=dict(
        hidden=(32, 128, 512, 1024),
        batch_size=(16, 64, 128, 512),
        lr=(0.01, 0.03, 0.1, 0.3, 1.0),
        l2=(0.0, 1e-4, 1e-3, 1e-2),
        l1=(0.0, 1e-4, 1e-3),
        dropout=(0.0, 0.2, 0.4, 0.6),
    ),
    # one step above the best rate of the earlier, smaller grids (relu, tanh 0.3; sigmoid 1)
    nn_activation_lrs=dict(relu=(0.03, 0.1, 0.3, 1.0), tanh=(0.03, 0.1, 0.3, 1.0),
                           sigmoid=(0.1, 0.3, 1.0, 3.0)),
    nn_grid=dict(hidden=(32, 128, 512, 1024), dropout=(0.0, 0.4)),
    nn_final_base=dict(hidden=512, activation="relu", dropout=0.3, lr=0.05, batch_size=128,
                       epochs=30, patience=None, l2=0.0, l1=0.0, momentum=0.9,
                       lr_schedule="cosine", augment=None, restore_best=True),
    nn_final_search=dict(hidden=(512, 1024), dropout=(0.2, 0.4), lr=(0.03, 0.05, 0.1)),
    nn_ablation=dict(
        no_dropout=dict(dropout=0.0), constant_step=dict(lr_schedule="constant"),
        no_momentum=dict(momentum=0.0, lr=0.5),  # the same longest step, eta / (1 - beta)
        no_momentum_schedule=dict(momentum=0.0, lr_schedule="constant", lr=0.1, patience=8,
                                  epochs=60),
        narrow=dict(hidden=128),
        with_flips=dict(augment="flip"),  # an aid added, not removed
    ),
)

QUICK_PLAN = Plan(
    quick=True,
    seeds=(0, 1, 2),
    n_train=3000,
    n_val=1000,
    search_n_train=1500,
    logreg_base={**FULL_PLAN.logreg_base, "epochs": 3, "patience": 2},
    logreg_factors=dict(lr=(1e-3, 0.1, 100.0), batch_size=(32, 128), l2=(0.0, 1e-2),
                        l1=(0.0, 1e-3)), logreg_grid=dict(batch_size=(32, 128), lr=(1e-3, 0.1)),
    logreg_final={**FULL_PLAN.logreg_final, "cosine": {**FULL_PLAN.logreg_final["cosine"],
                                                       "epochs": 3}},
    nn_base={**FULL_PLAN.nn_base, "hidden": 16, "epochs": 3, "patience": 2},
    nn_factors=dict(hidden=(8, 16), batch_size=(32, 128), lr=(0.03, 0.1), l2=(0.0, 1e-3),
                    l1=(0.0, 1e-4), dropout=(0.0, 0.5)),
    nn_activation_lrs=dict(relu=(0.1,), tanh=(0.1,), sigmoid=(0.3,)),
    nn_grid=dict(hidden=(8, 16), dropout=(0.0, 0.5)),
    nn_final_base={**FULL_PLAN.nn_final_base, "hidden": 32, "epochs": 3},
    nn_final_search=dict(hidden=(16, 32), dropout=(0.2, 0.4), lr=(0.05, 0.1)),
    nn_ablation={**FULL_PLAN.nn_ablation, "narrow": dict(hidden=8)},
)


def quick_enabled(quick: bool | None = None) -> bool:
    """`quick` if given, else whether FMNIST_QUICK is set to a true value (1, true, yes...)."""
    text = os.environ.get("FMNIST_QUICK", "").strip().lower()
    return bool(quick) if quick is not None else text not in ("", "0", "false", "no", "off")


@dataclass(frozen=True)
class Context:
    """What every experiment needs: the mode and its plan, where the data and cache are."""

    quick: bool
    plan: Plan
    data_dir: Path
    cache: Path
    progress: bool = True

    @classmethod
    def create(cls, quick: bool | None = None, data_dir=None, cache=None,
               progress: bool = True) -> Context:
        """Defaults: FMNIST_QUICK, $FMNIST_DATA_DIR or data/, $FMNIST_CACHE_DIR or .cache/."""
        quick = quick_enabled(quick)
        root = Path(os.environ.get("FMNIST_CACHE_DIR") or ".cache")
        cache = Path(cache) if cache else root / ("experiments-quick" if quick else "experiments")
        plan = QUICK_PLAN if quick else FULL_PLAN
        return cls(quick, plan, Path(data_dir or default_data_dir()), cache, progress)

    n_val = property(lambda self: len(self.spec(search=False).load()[0][1]))  # validation images

    def spec(self, search: bool, refit: bool = False) -> DataSpec:
        """The arrays of a run: the search subset (`search`), the whole training part, or
        (`refit`) the training and the validation part together."""
        p = self.plan
        return DataSpec(str(self.data_dir / "train.csv"), p.n_train, p.n_val,
                        p.search_n_train if search else None, refit=refit)


def grid(**axes) -> list[dict]:
    """Full grid: grid(a=(1, 2), b=(3,)) -> [{'a': 1, 'b': 3}, {'a': 2, 'b': 3}]."""
    return [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())]


def one_at_a_time(base: dict, factors: dict) -> dict[str, list[dict]]:
    """{factor: [base with that factor set to each value]}."""
    return {name: [{**base, name: v} for v in values] for name, values in factors.items()}


def with_seeds(configs: list[dict], seeds) -> list[dict]:
    """Each configuration once per seed (`random_state`), seeds innermost."""
    return [{**c, "random_state": s} for c in configs for s in seeds]


def sweeps(p: Plan) -> dict[str, dict[str, list[dict]]]:
    """{kind: {factor: configurations}} around each base, each with a two-factor grid, the
    network's with activations (each with its own learning rates)."""
    nn = one_at_a_time(p.nn_base, p.nn_factors)
    nn["activation"] = [{**p.nn_base, "activation": a, "lr": lr}
                        for a, lrs in p.nn_activation_lrs.items() for lr in lrs]
    nn["grid"] = [{**p.nn_base, **g} for g in grid(**p.nn_grid)]
    logreg = one_at_a_time(p.logreg_base, p.logreg_factors)
    logreg["grid"] = [{**p.logreg_base, **g} for g in grid(**p.logreg_grid)]
    return {"logreg": logreg, "nn": nn}


def nn_search(p: Plan) -> list[dict]:
    """The final network's search: a full grid around its recipe."""
    return [{**p.nn_final_base, **g} for g in grid(**p.nn_final_search)]


def variants(chosen: dict, overrides: dict[str, dict]) -> dict[str, dict]:
    """{name: `chosen` with the name's overrides}: the finals' candidates, the ablation."""
    return {name: {**chosen, **o} for name, o in overrides.items()}


def refit_config(config: dict, kept_epochs: float) -> dict:
    """The refit of `config`: seed 0, nothing to validate; a cosine schedule runs whole (its
    steps depend on its length), a constant step for `kept_epochs` (mean kept epoch, rounded)."""
    epochs = config["epochs"] if config.get("lr_schedule") == "cosine" else round(kept_epochs)
    return {**config, "epochs": max(1, epochs), "patience": None, "restore_best": False,
            "random_state": 0}


@dataclass(frozen=True)
class DataSpec:
    """How any process rebuilds a run's arrays: the split of `train_path` (seed 0), the parts
    cut to `n_train`/`n_val`, the training part then cut to `subset` images (None: all); with
    `refit`, the two parts joined as the training part and no validation part (None)."""

    train_path: str
    n_train: int | None = None
    n_val: int | None = None
    subset: int | None = None
    val_fraction: float = 0.1
    refit: bool = False   # train on the training and the validation part together, no validation

    def load(self):
        """((X_tr, X_val, y_tr, y_val), fingerprint); a rebuilt train.csv is read again."""
        st = os.stat(self.train_path)
        return _load(self, (st.st_size, st.st_mtime_ns, st.st_ino))


@functools.lru_cache(maxsize=1)
def _load(spec: DataSpec, file_signature: tuple):
    X_tr, X_val, y_tr, y_val = train_val_split(*load_train(spec.train_path), spec.val_fraction,
                                               random_state=0)
    n = spec.n_train if spec.subset is None else min(spec.subset, spec.n_train or spec.subset)
    arrays = (X_tr[:n], X_val[:spec.n_val], y_tr[:n], y_val[:spec.n_val])
    if spec.refit:
        arrays = (np.concatenate(arrays[:2]), None, np.concatenate(arrays[2:]), None)
    h = hashlib.blake2b(digest_size=16)
    for a in (a for a in arrays if a is not None):
        h.update(f"{a.dtype.str}{a.shape}".encode() + np.ascontiguousarray(a).tobytes())
    return arrays, h.hexdigest()


def summary(entry: dict) -> dict:
    """Result columns of one run: its best validation epoch and the training figures AT it;
    `at_last_epoch` (still learning?); `cut_short` (the epoch limit, not early stopping, ended
    it within its patience of its best); a diverged run (or one ending worse than uniform
    guessing) keeps its best validation accuracy as `peak_before`."""
    hist, config = entry["history"], entry.get("config", {})
    row = dict(val_acc=math.nan, val_loss=math.nan, train_acc=math.nan, train_loss=math.nan,
               best_epoch=math.nan, epochs_run=len(hist["epoch"]), at_last_epoch=False,
               cut_short=False, peak_before=math.nan, status=entry["status"])
    if hist["epoch"]:
        val_acc = np.asarray(hist["val_acc"], dtype=float)
        n = len(val_acc)
        i = int(np.nanargmax(val_acc)) if np.isfinite(val_acc).any() else n - 1
        row.update({k: float(hist[k][i]) for k in ("val_acc", "val_loss", "train_acc",
                                                   "train_loss")},
                   best_epoch=int(hist["epoch"][i]), at_last_epoch=i == n - 1)
        patience = config.get("patience")
        row["cut_short"] = bool(patience is not None and n == config.get("epochs")
                                and n - row["best_epoch"] < patience and i < n - 1)
        if hist["train_loss"][-1] > LN_K:
            row["status"] = "diverged"
    if row["status"] != "ok":
        row.update(peak_before=row["val_acc"], val_acc=math.nan, val_loss=math.nan)
    return row


def over_seeds(df: pd.DataFrame) -> pd.DataFrame:
    """One row per configuration (`config_id`, its configuration columns but the seed): mean,
    sd and count over seeds of the best validation accuracy; the means of the other figures;
    how many seeds diverged, peaked at their last epoch or were cut short."""
    g = df.groupby("config_id", sort=True)
    out = pd.DataFrame({
        "mean": g["val_acc"].mean(), "sd": g["val_acc"].std(ddof=1), "n": g["val_acc"].count(),
        **{c: g[c].mean() for c in ("train_acc", "val_loss", "train_loss", "best_epoch",
                                    "epochs_run")},
        "diverged": g["status"].agg(lambda s: int((s != "ok").sum())),
        "at_last_epoch": g["at_last_epoch"].sum().astype(int),
        "cut_short": g["cut_short"].sum().astype(int), "peak_before": g["peak_before"].mean(),
        "seeds": g["key"].count()})
    configs = df.attrs["configs"]
    cols = [c for c in dict.fromkeys(k for c in configs for k in c) if c in df.columns]
    first = pd.DataFrame([{c: configs[i].get(c) for c in cols} for i in out.index],
                         index=out.index)
    out = pd.concat([first, out], axis=1).rename_axis("config_id").reset_index()
    out.attrs.update(df.attrs)
    return out


def finished(row: pd.Series) -> bool:
    """Every seed of a configuration finished (none diverged), so it has a mean to compare."""
    return row["diverged"] == 0 and bool(np.isfinite(row["mean"]))


def best_config_id(df: pd.DataFrame) -> int:
    """The configuration with the best mean validation accuracy over seeds, among those whose
    seeds all finished (the first listed on a tie)."""
    stats = over_seeds(df)
    ok = stats[[finished(r) for _, r in stats.iterrows()]]
    if ok.empty:
        raise RuntimeError(f"no configuration of {df.attrs.get('label')} finished")
    return int(ok.loc[ok["mean"].idxmax(), "config_id"])


def best_config(df: pd.DataFrame) -> dict:
    """The configuration (as trained, without the seed) of `best_config_id`."""
    return df.attrs["configs"][best_config_id(df)]


