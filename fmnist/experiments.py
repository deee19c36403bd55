"""The report's experiments, computed once per render: `run_all(ctx) -> Results`.

    ctx = Context.create()           quick mode, data folder, cache folder, progress (one object)
    results = run_all(ctx)           every sweep, the final searches, the ablation, the finals
    write_deliverables(results)      lr_pred.csv, NN_pred.csv, models/logreg.npz, models/nn.npz

Every setting is trained with each seed of the plan (`fmnist.plans`); choices are made on the
mean validation accuracy over the seeds. Sweeps and the network's final search use the plan's
search subset of the training part; the chosen models are then trained on the whole training
part, and seed 0 of each is the submitted model, kept at its best validation epoch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from fmnist import quickmode
from fmnist.data import default_data_dir
from fmnist.plans import Plan, grid, one_at_a_time, plan, with_seeds
from fmnist.sweeps import DataSpec, best_config_id, fmt_seconds, history, load_model, run_sweep

__all__ = ["Context", "Results", "BestModel", "run_all", "write_deliverables",
           "remake_predictions", "fmt_seconds", "PREDICTION_FILES", "MODEL_FILES"]

PREDICTION_FILES = {"logreg": "lr_pred.csv", "nn": "NN_pred.csv"}  # names set by the exercise
MODEL_FILES = {"logreg": "models/logreg.npz", "nn": "models/nn.npz"}


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
        quick = quickmode.enabled(quick)
        root = Path(os.environ.get("FMNIST_CACHE_DIR") or ".cache")
        cache = Path(cache) if cache else root / ("experiments-quick" if quick else "experiments")
        return cls(quick=quick, plan=plan(quick), data_dir=Path(data_dir or default_data_dir()),
                   cache=cache, progress=progress)

    def spec(self, search: bool) -> DataSpec:
        """The arrays of a run: the search subset (`search`) or the whole training part."""
        p = self.plan
        return DataSpec(str(self.data_dir / "train.csv"), p.n_train, p.n_val,
                        p.search_n_train if search else None)

    def sweep(self, kind: str, configs: list[dict], label: str, *, search: bool = True,
              keep_models: bool = False, base: dict | None = None) -> pd.DataFrame:
        """Each configuration with every seed of the plan: one row per (configuration, seed),
        `config_id` indexing `df.attrs["configs"]`, the configurations exactly as given."""
        seeds = self.plan.seeds
        df = run_sweep(kind, with_seeds(configs, seeds), self.spec(search), self.cache,
                       keep_models=keep_models, label=label, base=base, quick=self.quick,
                       progress=self.progress)
        df.insert(0, "config_id", [i // len(seeds) for i in range(len(df))])
        df.attrs["configs"] = list(configs)
        return df


@dataclass
class BestModel:
    """A chosen configuration trained on the whole training part with every seed; seed 0's
    model (kept at its best validation epoch) is the submitted one."""

    kind: str
    config: dict              # without random_state
    runs: pd.DataFrame        # one row per seed
    model: Any                # seed 0's fitted model
    history: pd.DataFrame     # seed 0's per-epoch history

    @property
    def seed0(self) -> pd.Series:
        return self.runs[self.runs["random_state"] == 0].iloc[0]

    @property
    def val_acc(self) -> float:
        return float(self.seed0["val_acc"])

    @property
    def best_epoch(self) -> int:
        return int(self.seed0["best_epoch"])


@dataclass
class Results:
    """Everything the report shows; each DataFrame has one row per (configuration, seed)."""

    ctx: Context
    logreg: dict[str, pd.DataFrame]       # factor -> runs, one factor at a time
    logreg_finals: pd.DataFrame            # candidates on the whole training part
    nn: dict[str, pd.DataFrame]            # factor -> runs; "activation": activation x lr;
    nn_grid: pd.DataFrame                  # the two-way grid (hidden x dropout)
    nn_search: pd.DataFrame                # the final network's search (search subset)
    nn_ablation: pd.DataFrame              # the chosen recipe minus one aid at a time
    best: dict[str, BestModel] = field(default_factory=dict)


def best_config(df: pd.DataFrame) -> dict:
    """The configuration (exactly as trained, without the seed) with the best mean validation
    accuracy over seeds."""
    return df.attrs["configs"][best_config_id(df)]


def best_across(*frames: pd.DataFrame) -> dict:
    """The configuration with the best mean validation accuracy over seeds among several sweeps
    run on the same data with the same seeds (e.g. the final search and the ablation, so that
    a variant that beats the searched recipe is not left unused)."""
    best = max(frames, key=lambda df: _best_mean(df))
    return best_config(best)


def _best_mean(df: pd.DataFrame) -> float:
    from fmnist.sweeps import over_seeds

    stats = over_seeds(df)
    return float(stats.loc[stats["config_id"] == best_config_id(df), "mean"].iloc[0])


def _finals(ctx: Context, kind: str, candidates: dict[str, dict], label: str) -> pd.DataFrame:
    """Each candidate trained on the whole training part with every seed (`candidate` names
    it)."""
    names = list(candidates)
    runs = ctx.sweep(kind, list(candidates.values()), label, search=False, keep_models=True)
    runs.insert(1, "candidate", [names[i] for i in runs["config_id"]])
    return runs


def _best_model(kind: str, runs: pd.DataFrame) -> BestModel:
    """The best candidate of `runs` (by mean over seeds), with seed 0's model."""
    config_id = best_config_id(runs)
    mine = runs[runs["config_id"] == config_id].reset_index(drop=True)
    mine.attrs.update(runs.attrs)
    key = mine.loc[mine["random_state"] == 0, "key"].iloc[0]
    return BestModel(kind=kind, config=runs.attrs["configs"][config_id], runs=mine,
                     model=load_model(runs, key), history=history(runs, key))


def run_all(ctx: Context) -> Results:
    """Every experiment of the report, each trained once (cached) and returned together."""
    p = ctx.plan
    lr_sweeps = one_at_a_time(p.logreg_base, p.logreg_factors)
    lr_runs, logreg = _sweeps(ctx, "logreg", lr_sweeps, p.logreg_base, "logreg sweeps")

    nn_configs = one_at_a_time(p.nn_base, p.nn_factors)
    nn_configs["activation"] = [{**p.nn_base, "activation": a, "lr": lr}
                                for a, lrs in p.nn_activation_lrs.items() for lr in lrs]
    nn_configs["grid"] = [{**p.nn_base, **g} for g in grid(**p.nn_grid)]
    _, nn = _sweeps(ctx, "nn", nn_configs, p.nn_base, "nn sweeps")
    nn_grid = nn.pop("grid")

    swept = best_config(lr_runs)
    logreg_finals = _finals(ctx, "logreg", {n: {**swept, **o} for n, o in p.logreg_final.items()},
                            "logreg final")

    nn_search = ctx.sweep("nn", [{**p.nn_final_base, **g} for g in grid(**p.nn_final_search)],
                          "nn final search", base=p.nn_final_base)
    chosen = best_config(nn_search)
    variants = {"final": chosen, **{n: {**chosen, **o} for n, o in p.nn_ablation.items()}}
    nn_ablation = ctx.sweep("nn", list(variants.values()), "nn ablation", base=chosen)
    nn_ablation.insert(1, "variant", [list(variants)[i] for i in nn_ablation["config_id"]])
    nn_finals = _finals(ctx, "nn", {"final": best_across(nn_search, nn_ablation)}, "nn final")

    results = Results(ctx, logreg, logreg_finals, nn, nn_grid, nn_search, nn_ablation)
    results.best = {"logreg": _best_model("logreg", logreg_finals),
                    "nn": _best_model("nn", nn_finals)}
    return results


def _sweeps(ctx: Context, kind: str, per_factor: dict[str, list[dict]], base: dict,
            label: str) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Every factor's configurations in ONE sweep (shared runs such as the baseline train once
    and the workers stay busy); returns all runs and the runs of each factor."""
    unique = list({repr(sorted(c.items())): c for cs in per_factor.values() for c in cs}.values())
    runs = ctx.sweep(kind, unique, label, base=base)
    position = {repr(sorted(c.items())): i for i, c in enumerate(unique)}
    out = {}
    for factor, configs in per_factor.items():
        ids = [position[repr(sorted(c.items()))] for c in configs]
        df = pd.concat([runs[runs["config_id"] == i] for i in ids], ignore_index=True)
        df.attrs.update(runs.attrs, factor=factor, label=f"{label}: {factor}")
        out[factor] = df
    return runs, out


# ------------------------------------------------------------------------------- deliverables

def write_deliverables(results: Results, out: str | os.PathLike = ".") -> dict[str, Path]:
    """Write the two prediction files (one class 0-9 per line, in test.csv's order) and save
    the two submitted models (quick-mode outputs get their `.quick` markers). Returns the
    paths {logreg, nn, logreg_model, nn_model}."""
    from fmnist.data import atomic_write, load_test, write_predictions

    out = Path(out)
    X_test = load_test(results.ctx.data_dir / "test.csv")
    written: dict = {}
    for kind, best in results.best.items():
        model_path = out / MODEL_FILES[kind]
        src = Path(best.runs.attrs["cache_dir"]) / f"{best.seed0['key']}.npz"
        with atomic_write(model_path, "wb") as f:
            f.write(src.read_bytes())
        pred_path = write_predictions(out / PREDICTION_FILES[kind], best.model.predict(X_test))
        for path in (model_path, pred_path):
            quickmode.mark(path, results.ctx.quick)
        written[f"{kind}_model"], written[kind] = model_path, pred_path
    return written


def remake_predictions(ctx: Context, out: str | os.PathLike = ".") -> dict[str, Path]:
    """Remake the prediction files from the saved models in out/models/ (no training)."""
    from fmnist.data import DataError, load_test, write_predictions
    from fmnist.models import load_model as load

    out = Path(out)
    X_test = load_test(ctx.data_dir / "test.csv")
    written = {}
    for kind in PREDICTION_FILES:
        model_path = out / MODEL_FILES[kind]
        if not model_path.exists():
            raise DataError(f"{model_path}: no saved model; run `python -m fmnist experiments` "
                            "first (it trains and saves both models)")
        model = load(model_path)
        path = write_predictions(out / PREDICTION_FILES[kind], model.predict(X_test))
        quickmode.mark(path, quickmode.is_marked(model_path))
        written[kind] = path
    return written


def load_train_of(ctx: Context):
    """The whole train.csv of the context's data folder: X uint8 (n, 784), y int64 (n,)."""
    from fmnist.data import load_train

    return load_train(ctx.data_dir / "train.csv")
