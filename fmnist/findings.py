"""What the report says about the sweeps and the chosen models, computed: per-factor
statistics over seeds, the tables of the sweeps and of the finals, and the sentences whose
wording depends on the numbers (ties are called ties, by `fmnist.analysis.compare`). The final
network's search, ablation and choice, the aims and the conclusions: `fmnist.final_findings`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fmnist import analysis as A
from fmnist.experiments import Results
from fmnist.plans import best_config_id, over_seeds

NAMES = {"hidden": "hidden size", "activation": "activation", "batch_size": "batch size",
         "lr": "learning rate", "l2": "L2 coefficient", "l1": "L1 coefficient",
         "dropout": "dropout rate", "momentum": "momentum", "lr_schedule": "schedule",
         "augment": "augmentation", "epochs": "epochs", "patience": "patience"}
FLAT_LOSS = 0.002  # a validation loss that moves less than this after its lowest "stays flat"
CREEP_LOSS = 0.01  # a rise up to this is "the start of overfitting", beyond it "overfitting"
MODEL_NAMES = {"logreg": "logistic regression", "nn": "network"}
def n_val(results: Results) -> int:
    """Validation images every accuracy is measured on."""
    spec = results.ctx.spec(search=False)
    return len(spec.load()[0][1])


def stats(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """{factor: over_seeds(runs)} for a dict of one-factor sweeps, rows in order of the
    factor's value."""
    return {f: over_seeds(df).sort_values(f, key=_order, kind="stable").reset_index(drop=True)
            for f, df in frames.items() if f != "activation"}


def _order(values: pd.Series) -> pd.Series:
    """Sort key: numbers by value, anything else in its first-seen order."""
    if pd.api.types.is_numeric_dtype(values):
        return values
    return values.map({v: i for i, v in enumerate(dict.fromkeys(values))})


def sweep_table(frames: dict[str, pd.DataFrame], base: dict) -> str:
    """One Markdown table of every one-factor sweep: validation accuracy mean ± sd over seeds,
    training accuracy at the same (best) epoch, their gap, and the mean best epoch."""
    lines = []
    for factor, st in stats(frames).items():
        table = A.sweep_table(st, factor, base.get(factor), name="setting").split("\n")
        lines = lines or table[:2]
        lines += [f"| *{NAMES.get(factor, factor)}* |  |  |  |  |", *table[2:]]
    return "\n".join(lines)


def sentences(frames: dict[str, pd.DataFrame], nval: int) -> dict[str, str]:
    """{factor: 'X has the highest mean (...), tied within noise with ...; ... clearly lower'}."""
    return {f: A.factor_sentence(st, f, nval) for f, st in stats(frames).items()}


def activation_stats(results: Results) -> pd.DataFrame:
    """Each activation at its best learning rate (by mean over seeds)."""
    st = over_seeds(results.nn["activation"])
    ok = st[st["diverged"] == 0]
    return ok.loc[ok.groupby("activation", sort=False)["mean"].idxmax()].reset_index(drop=True)


def activation_sentence(results: Results) -> str:
    """Which activation is best at its own tuned learning rate, with ties called ties."""
    st = activation_stats(results)
    best = st.loc[st["mean"].idxmax()]
    parts = []
    for _, r in st.iterrows():
        if r["activation"] == best["activation"]:
            continue
        c = A.compare_rows(r, best, n_val(results))
        parts.append(f"{r['activation']} (learning rate {A.num(r['lr'])}, "
                     f"{A.pm(r['mean'], r['sd'])}) is {A.wording(c, other='it')}")
    return (f"{best['activation']} at learning rate {A.num(best['lr'])} has the highest mean "
            f"({A.pm(best['mean'], best['sd'])}); " + "; ".join(parts))


def grid_sentence(results: Results) -> str:
    """Interaction of hidden size and dropout: dropout's effect at each width."""
    st = over_seeds(results.nn_grid)
    nval = n_val(results)
    out = []
    for h, part in st.groupby("hidden", sort=True):
        ok = part[(part["diverged"] == 0) & part["mean"].notna()]
        none = ok[ok["dropout"] == 0]
        if none.empty or len(ok) < 2:
            out.append(f"with {h} units there is nothing to compare (diverged)")
            continue
        some = ok[ok["dropout"] > 0]
        best = some.loc[some["mean"].idxmax()]  # the best dropout rate, against none
        c = A.compare_rows(best, none.iloc[0], nval)
        out.append(f"with {h} units dropout {A.num(best['dropout'])} is "
                   f"{A.wording(c, other='no dropout')}")
    return "; ".join(out)


def _finished(row) -> bool:
    """Every seed of a configuration finished (none diverged), so it has a mean to compare."""
    return row["diverged"] == 0 and bool(np.isfinite(row["mean"]))


def finals_table(results: Results) -> str:
    """Both chosen models on the whole training part: parameters, cost of an epoch, the
    validation accuracy over seeds and that of the submitted seed-0 model."""
    rows = []
    n_train = len(results.ctx.spec(search=False).load()[0][0])
    for kind, best in results.best.items():
        st = over_seeds(best.runs).iloc[0]
        rows.append([MODEL_NAMES[kind],
                     f"{A.n_params(kind, best.config):,}",
                     f"{A.flops_per_epoch(kind, best.config, n_train) / 1e9:.1f}",
                     A.pm(st["mean"], st["sd"]), A.pct(best.val_acc), str(best.best_epoch)])
    return A.md_table(pd.DataFrame(rows, columns=[
        "model", "parameters", "GFLOP/epoch", "validation, all seeds", "seed 0", "epoch"]),
        ["l", "r", "r", "r", "r", "r"])


def overfitting_sentence(history: pd.DataFrame) -> str:
    """What the loss curves do after the lowest validation loss, said from the curves: still
    falling at the last epoch; ending clearly above its lowest while the training loss falls
    (overfitting), a few thousandths above it (its start), or back near it after moving (a
    fluctuation, not a trend); or flat all along."""
    h = history.reset_index(drop=True)
    if not np.isfinite(h["val_loss"]).any():
        return "no validation loss was recorded"
    i = int(np.nanargmin(h["val_loss"]))
    after = h.iloc[i:]
    if len(h) == 1:
        return "only one epoch was run"
    if len(after) <= 1:
        return "the validation loss is still falling at the last epoch"
    train_drop = after["train_loss"].iloc[0] - after["train_loss"].iloc[-1]
    val_rise = after["val_loss"].max() - after["val_loss"].iloc[0]   # the most, not the end
    end_rise = after["val_loss"].iloc[-1] - after["val_loss"].iloc[0]
    out = f"the validation loss is lowest at epoch {int(h['epoch'][i])}; after it "
    if train_drop <= 0:
        return out + ("the training loss does not fall any further either (it changes by "
                      f"{-train_drop:+.3f}), so the model has stopped learning")
    out += f"the training loss falls by another {train_drop:.3f} while the validation loss "
    if end_rise > CREEP_LOSS:
        return out + (f"rises, to {end_rise:.3f} above its lowest at the last epoch, which is "
                      "overfitting")
    if end_rise > FLAT_LOSS:
        return out + (f"creeps up, to {end_rise:.3f} above its lowest at the last epoch: more "
                      "fitting no longer helps the validation images, the start of "
                      "overfitting")
    if val_rise > FLAT_LOSS:
        return out + (f"moves up to {val_rise:.3f} above its lowest and ends within "
                      f"{FLAT_LOSS} of it: more fitting no longer helps the validation images")
    return out + (f"stays flat (within {FLAT_LOSS}): more fitting no longer helps the "
                  "validation images")


def gap_at_best(best) -> float:
    """Training minus validation accuracy at the kept (best validation) epoch of seed 0."""
    h = best.history.set_index("epoch")
    return float(h.loc[best.best_epoch, "train_acc"] - h.loc[best.best_epoch, "val_acc"])


def over_seeds_text(runs: pd.DataFrame) -> str:
    """'91.2 ± 0.1%': mean ± sd over the seeds of one configuration's runs."""
    st = over_seeds(runs).iloc[0]
    return A.pm(st["mean"], st["sd"])


def finals_candidates(runs: pd.DataFrame, nval: int) -> str:
    """How the logistic regression's candidates on the whole training part compare, and which
    one is kept (the one `run_all` keeps: the best mean among those whose seeds all finished)."""
    st = over_seeds(runs)
    names = dict(zip(runs["config_id"], runs["candidate"], strict=False))
    labels = {"swept": "as swept", "cosine": "with the cosine schedule and momentum"}
    st["name"] = [labels.get(names[i], names[i]) for i in st["config_id"]]
    kept = st[st["config_id"] == best_config_id(runs)].iloc[0]
    parts = [f"{r['name']} {A.pm(r['mean'], r['sd'])}" for _, r in st.iterrows()]
    tied = [r["name"] for _, r in st.iterrows() if r["config_id"] != kept["config_id"]
            and _finished(r) and A.compare_rows(r, kept, nval).tie]
    out = A.series(parts) + f"; the model {kept['name']} is kept"
    if len(tied) == 1 and len(st) == 2:
        out += " (the difference is within noise, so either would do)"
    elif tied:
        out += f" (tied within noise with the model {A.series(tied)})"
    return out


def ranking_sentence(frames: dict[str, pd.DataFrame], nval: int) -> str:
    """Which factors change the mean accuracy by more than noise, largest effect first, and
    which do not (diverged settings left out, and said to be)."""
    effects = []
    for f, st in stats(frames).items():
        v = A.factor_verdict(st, f, nval)
        effects.append((f, v["range"], bool(v["worse"]), bool(v["diverged"])))
    matter = [f"the {NAMES.get(f, f)} ({A.pts(r)})" for f, r, real, _ in
              sorted(effects, key=lambda e: -e[1]) if real]
    idle = [f"the {NAMES.get(f, f)}" for f, _, real, _ in effects if not real]
    if len(matter) > 1:
        out = ("the settings that move the accuracy beyond noise are, by the range they span, "
               + A.series(matter))
    elif matter:
        out = f"the only setting that moves the accuracy beyond noise is {matter[0]}"
    else:
        out = "no setting moves the accuracy beyond noise"
    if idle:
        out += f"; {A.series(idle)} change{'s' if len(idle) == 1 else ''} it only within noise"
    if any(d for *_, d in effects):
        out += " (diverged settings left out)"
    return out


def lr_extremes(frame: pd.DataFrame) -> str:
    """What the smallest and largest learning rates did, said from the runs: whether the
    smallest was still improving at its last epoch, and which rates diverged."""
    st = stats({"lr": frame})["lr"]
    low = st.iloc[0]
    out = []
    if low["at_last_epoch"]:
        out.append(f"The smallest rate, {A.num(low['lr'])}, was still improving at its last "
                   f"epoch ({int(low['at_last_epoch'])} of {int(low['seeds'])} seeds): too "
                   "small a step has not converged.")
    bad = st[st["diverged"] > 0]
    if len(bad):
        out.append(f"Rates from {A.num(bad['lr'].min())} up diverged: the steps overshoot "
                   "the minimum and the training loss ends above where it started.")
    return " ".join(out) or "No rate tried diverged or ran out of epochs."


def gap_sentence(frames: dict[str, pd.DataFrame]) -> str:
    """The largest train-minus-validation gap (same epoch) over every setting that finished."""
    gaps = [(A.shown_gap(r["train_acc"], r["mean"]), f, r[f]) for f, st in stats(frames).items()
            for _, r in st.iterrows() if r["diverged"] == 0 and np.isfinite(r["mean"])]
    g, f, v = max(gaps)  # in points, as the tables show it
    return (f"the largest gap between training and validation accuracy at the same epoch is "
            f"{g:.1f} points ({NAMES.get(f, f)} {A.num(v)}), so "
            + ("it barely overfits and the penalties have little to correct" if g < 3 else
               "it does overfit at some settings"))


def grid_stats(results: Results) -> pd.DataFrame:
    """The hidden size x dropout grid, one row per setting (mean, sd over seeds)."""
    return over_seeds(results.nn_grid)
