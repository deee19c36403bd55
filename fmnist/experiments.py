"""The report's experiments: `run_all(ctx) -> Results`, each run trained once and cached
(`fmnist.runner`).

    ctx = Context.create()           quick mode, plan, data and cache folders
    results = run_all(ctx)           every sweep, the final searches, the finals, their refits
                                     on all labelled rows (the submitted models), the ablation
    write_deliverables(results)      lr_pred.csv, NN_pred.csv, models/logreg.npz, models/nn.npz
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fmnist import plans
from fmnist.data import DataError, atomic_write, load_test, write_predictions
from fmnist.models import load_model
from fmnist.plans import Context, best_config_id
from fmnist.runner import history, read_entry, run_sweep, stop_on_signals, workers
from fmnist.verdicts import smallest_tied

PREDICTION_FILES = {"logreg": "lr_pred.csv", "nn": "NN_pred.csv"}  # names set by the exercise
MODEL_FILES = {"logreg": "models/logreg.npz", "nn": "models/nn.npz"}
QUICK_NOTE = ("made in quick mode (FMNIST_QUICK=1: small subsets, few epochs); not a real "
              "result. A full run (`make report` without FMNIST_QUICK) replaces it.\n")


def mark_quick(path, quick: bool) -> None:
    """Make `F.quick` exist exactly when the output F was made in quick mode (for `make
    submission` to refuse)."""
    if quick:
        with atomic_write(f"{path}.quick", "w") as f:
            f.write(QUICK_NOTE)
    else:
        Path(f"{path}.quick").unlink(missing_ok=True)


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
    """A chosen configuration trained on the whole training part with every seed (seed 0's
    model, kept at its best validation epoch, is the one the report examines), then refitted
    with seed 0 on the training and validation parts together (`plans.refit_config`): the
    submitted model, which no validation image can judge any more."""

    kind: str
    config: dict              # without random_state
    runs: pd.DataFrame        # one row per seed
    model: Any                # seed 0's fitted model (training part only)
    history: pd.DataFrame     # seed 0's per-epoch history
    refit: pd.Series          # the submitted model's run: its config, key, summary
    submitted: Any            # the submitted model (training and validation parts)

    seed0 = property(lambda self: self.runs[self.runs["random_state"] == 0].iloc[0])
    val_acc = property(lambda self: float(self.seed0["val_acc"]))
    best_epoch = property(lambda self: int(self.seed0["best_epoch"]))


@dataclass
class Results:
    """Everything the report shows; each DataFrame has one row per (configuration, seed)."""

    ctx: Context
    logreg: dict[str, pd.DataFrame]       # factor -> runs, one factor at a time
    logreg_grid: pd.DataFrame              # the two-way grid (batch size x learning rate)
    logreg_finals: pd.DataFrame            # candidates on the whole training part
    nn: dict[str, pd.DataFrame]            # factor -> runs; "activation": activation x lr
    nn_grid: pd.DataFrame                  # the two-way grid (hidden x dropout)
    nn_search: pd.DataFrame                # the final network's search (search subset)
    nn_ablation: pd.DataFrame              # the final network minus one aid at a time (subset)
    nn_finals: pd.DataFrame                # the search's choice with no dropout and its rates
    best: dict[str, BestModel] = field(default_factory=dict)


def agreement(ctx: Context, best: BestModel, X) -> dict[str, float]:
    """Share of images X on which the submitted refit, and seed 1's model, predict the class
    seed 0's validated model predicts: a check of the refit that needs no labels."""
    key = best.runs.loc[best.runs["random_state"] == 1, "key"].iloc[0]
    reference = best.model.predict(X)
    return {"refit": float(np.mean(best.submitted.predict(X) == reference)),
            "seed 1": float(np.mean(load_model(ctx.cache / f"{key}.npz").predict(X) == reference))}


def _finals(ctx: Context, kind: str, candidates: dict[str, dict], label: str):
    """Each candidate on the whole training part with every seed: (runs, the best by mean)."""
    runs = sweep(ctx, kind, list(candidates.values()), label, search=False, keep_models=True)
    runs.insert(1, "candidate", [list(candidates)[i] for i in runs["config_id"]])
    mine = runs[runs["config_id"] == best_config_id(runs)].reset_index(drop=True)
    mine.attrs.update(runs.attrs)
    key = mine.loc[mine["random_state"] == 0, "key"].iloc[0]
    read_entry(ctx.cache, key, need_model=True)
    config = plans.best_config(runs)
    refit = run_sweep(kind, [plans.refit_config(config, mine["best_epoch"].mean())],
                      ctx.spec(search=False, refit=True), ctx.cache, keep_models=True,
                      label=f"{label} refit", quick=ctx.quick, progress=ctx.progress).iloc[0]
    return runs, BestModel(kind, config, mine, load_model(ctx.cache / f"{key}.npz"),
                           history(runs, key), refit,
                           load_model(ctx.cache / f"{refit['key']}.npz"))


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
    chosen = search.attrs["configs"][smallest_tied(search, ctx.n_val)]
    # the search subset overfits sooner than the whole training part: choose dropout again
    finals = {d: {**chosen, "dropout": d} for d in (0.0, *p.nn_final_search["dropout"])}
    nn_finals, best_nn = _finals(ctx, "nn", finals, "nn final")
    # the submitted configuration minus one aid at a time, on the search subset: it explains
    # the recipe, it does not choose
    ablation = plans.variants(best_nn.config, {"final": {}, **p.nn_ablation})
    nn_ablation = sweep(ctx, "nn", list(ablation.values()), "nn ablation", base=best_nn.config)
    nn_ablation.insert(1, "variant", [list(ablation)[i] for i in nn_ablation["config_id"]])
    return Results(ctx, logreg, logreg.pop("grid"), logreg_finals, nn, nn.pop("grid"), search,
                   nn_ablation, nn_finals, {"logreg": best_logreg, "nn": best_nn})


# ------------------------------------------------------------------------------- the files

@stop_on_signals()
def write_deliverables(results: Results, out=".") -> dict[str, Path]:
    """Write the two prediction files (one class 0-9 per line, in test.csv's order) and the two
    submitted models, atomically, marked in quick mode: {logreg, nn, logreg_model, nn_model}."""
    X_test, written = load_test(results.ctx.data_dir / "test.csv"), {}
    for kind, best in results.best.items():
        written[f"{kind}_model"] = model_path = Path(out) / MODEL_FILES[kind]
        with atomic_write(model_path, "wb") as f:
            f.write((results.ctx.cache / f"{best.refit['key']}.npz").read_bytes())
        written[kind] = write_predictions(Path(out) / PREDICTION_FILES[kind],
                                          best.submitted.predict(X_test))
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

