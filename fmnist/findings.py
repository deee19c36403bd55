"""What the report says about the results, computed: per-factor statistics over seeds, the
tables of the sweeps, the final searches and the ablation, and the sentences whose wording
depends on the numbers (ties are called ties, by `fmnist.analysis.compare`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fmnist import analysis as A
from fmnist.experiments import Results
from fmnist.outcomes import aims_sentence, hardest_classes_sentence
from fmnist.sweeps import best_config_id, over_seeds

NAMES = {"hidden": "hidden size", "activation": "activation", "batch_size": "batch size",
         "lr": "learning rate", "l2": "L2 coefficient", "l1": "L1 coefficient",
         "dropout": "dropout rate", "momentum": "momentum", "lr_schedule": "schedule",
         "augment": "augmentation", "epochs": "epochs", "patience": "patience"}
FLAT_LOSS = 0.002  # a validation loss that moves less than this after its lowest "stays flat"
MODEL_NAMES = {"logreg": "logistic regression", "nn": "network"}
VARIANTS = {"final": "the searched recipe", "no_dropout": "without dropout",
            "no_augmentation": "without flips", "no_momentum_schedule":
            "with plain GD (no momentum, constant step)", "narrow": "with a narrower layer"}


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


def search_table(results: Results) -> str:
    """The final network's candidates on the search subset, mean ± sd; the chosen one bold."""
    st = over_seeds(results.nn_search)
    factors = list(results.ctx.plan.nn_final_search)
    chosen = best_config_id(results.nn_search)  # what run_all chose, not just the top mean
    rows = []
    for _, r in st.iterrows():
        cells = [A.num(r[f]) for f in factors] + [A.pm(r["mean"], r["sd"]),
                                                   f"{r['best_epoch']:.0f}"]
        rows.append([f"**{c}**" for c in cells] if r["config_id"] == chosen else cells)
    return A.md_table(pd.DataFrame(rows, columns=[NAMES.get(f, f) for f in factors]
                                   + ["validation", "best epoch"]), ["r"] * (len(factors) + 2))


def ablation(results: Results) -> pd.DataFrame:
    """Each variant of the ablation against the searched recipe: mean, sd, comparison."""
    st = over_seeds(results.nn_ablation)
    names = dict(zip(results.nn_ablation["config_id"], results.nn_ablation["variant"],
                     strict=False))
    st.insert(0, "variant", st["config_id"].map(names))
    final = st[st["variant"] == "final"].iloc[0]
    nval = n_val(results)
    st["comparison"] = [None if r["variant"] == "final" or not _finished(r) or not _finished(final)
                        else A.compare_rows(r, final, nval) for _, r in st.iterrows()]
    return st


def _finished(row) -> bool:
    """Every seed of a configuration finished (none diverged), so it has a mean to compare."""
    return row["diverged"] == 0 and bool(np.isfinite(row["mean"]))


def ablation_table(results: Results) -> str:
    st = ablation(results)
    rows = []
    for _, r in st.iterrows():
        c = r["comparison"]
        effect = ("diverged" if not _finished(r) else "" if c is None
                  else f"{100 * c.shown:+.1f} ({'tie' if c.tie else 'real'})")
        rows.append([VARIANTS.get(r["variant"], r["variant"]), A.pm(r["mean"], r["sd"]),
                     A.pct(r["train_acc"]),
                     f"{A.shown_gap(r['train_acc'], r['mean']):.1f}", effect])
    return A.md_table(pd.DataFrame(rows, columns=["variant", "validation", "training",
                                                  "gap (points)", "change (points)"]),
                      ["l", "r", "r", "r", "r"])


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
    falling at the last epoch, rising while the training loss falls (overfitting), or flat."""
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
    val_rise = after["val_loss"].iloc[-1] - after["val_loss"].iloc[0]
    out = f"the validation loss is lowest at epoch {int(h['epoch'][i])}; after it "
    if train_drop <= 0:
        return out + ("the training loss does not fall any further either (it changes by "
                      f"{-train_drop:+.3f}), so the model has stopped learning")
    out += f"the training loss falls by another {train_drop:.3f} while the validation loss "
    if val_rise > FLAT_LOSS:
        return out + f"rises by {val_rise:.3f}, which is overfitting"
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


def ablation_sentence(st: pd.DataFrame) -> str:
    """What each aid is worth, by the noise rule: the variants clearly worse than the full
    recipe, those clearly better, those tied with it, and those that diverged."""
    name = {i: VARIANTS.get(r["variant"], r["variant"]) for i, r in st.iterrows()}
    compared = [(i, r["comparison"]) for i, r in st.iterrows() if r["comparison"] is not None]
    worse = [f"{name[i]} ({A.pts(c.diff)} lower)" for i, c in compared
             if not c.tie and c.diff < 0]
    better = [f"{name[i]} ({A.pts(c.diff)} higher)" for i, c in compared
              if not c.tie and c.diff > 0]
    ties = [name[i] for i, c in compared if c.tie]
    diverged = [name[i] for i, r in st.iterrows() if not _finished(r)]
    out = []
    if worse:
        out.append("Clearly worse than the searched recipe: " + A.series(worse) + ".")
    if better:
        out.append("Clearly better than the searched recipe: " + A.series(better) + ".")
    if ties:
        out.append("Tied with it within noise: " + A.series(ties) + ".")
    if diverged:
        out.append(f"Diverged (not compared): {A.series(diverged)}.")
    return " ".join(out) or "No variant differs from the searched recipe."


def dropout_histories(results: Results) -> dict[str, pd.DataFrame]:
    """Seed 0's curves of the searched recipe with and without dropout (from the ablation)."""
    from fmnist.sweeps import history

    df = results.nn_ablation
    out = {}
    for variant, label in (("final", "with dropout"), ("no_dropout", "without dropout")):
        row = df[(df["variant"] == variant) & (df["random_state"] == 0)].iloc[0]
        out[label] = history(df, row["key"])
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


def conclusions(results: Results, y_val, predictions: dict) -> str:
    """The closing paragraph, every comparison worded by the noise rule."""
    nval = n_val(results)
    lr_best, nn_best = results.best["logreg"], results.best["nn"]
    lr_st, nn_st = over_seeds(lr_best.runs).iloc[0], over_seeds(nn_best.runs).iloc[0]
    c = A.compare_rows(nn_st, lr_st, nval)
    abl = ablation(results)
    compared = [(VARIANTS.get(r["variant"], r["variant"]), r["comparison"])
                for _, r in abl.iterrows() if r["comparison"] is not None]
    loses = [v for v, cmp in compared if not cmp.tie and cmp.diff < 0]
    gains = [v for v, cmp in compared if not cmp.tie and cmp.diff > 0]
    if loses or gains:
        said = []
        if loses:
            said.append(f"the ablation loses clearly {A.series(loses, last='or')}")
        if gains:
            said.append(f"it gains clearly {A.series(gains, last='or')}")
        ablation_text = "; ".join(said)
    else:
        ablation_text = "no single aid makes a difference beyond noise in the ablation"
    return (f"Multinomial logistic regression reaches {A.pm(lr_st['mean'], lr_st['sd'])} "
            f"validation accuracy over seeds, and the network with one hidden layer "
            f"{A.pm(nn_st['mean'], nn_st['sd'])}: "
            f"{A.wording(c, other='logistic regression')}. "
            f"For logistic regression, {ranking_sentence(results.logreg, nval)}. For the "
            f"network, {ranking_sentence(results.nn, nval)}. In the searched recipe, "
            + ablation_text + ". " + hardest_classes_sentence(y_val, predictions))


def aims(results: Results) -> str:
    """How close each chosen model came to the project's aim (`plans.AIMS`)."""
    from fmnist.plans import AIMS

    reached = {MODEL_NAMES[k]: tuple(over_seeds(b.runs).iloc[0][["mean", "sd", "n"]])
               for k, b in results.best.items()}
    aims_by_name = {MODEL_NAMES[k]: a for k, a in AIMS.items()}
    return aims_sentence(reached, aims_by_name, n_val(results))


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
    gaps = [(r["train_acc"] - r["mean"], f, r[f]) for f, st in stats(frames).items()
            for _, r in st.iterrows() if r["diverged"] == 0 and np.isfinite(r["mean"])]
    g, f, v = max(gaps)
    return (f"the largest gap between training and validation accuracy at the same epoch is "
            f"{A.pts(g)} ({NAMES.get(f, f)} {A.num(v)}), so "
            + ("it barely overfits and the penalties have little to correct" if g < 0.03 else
               "it does overfit at some settings"))


def final_choice_sentence(results: Results) -> str:
    """Which configuration became the final network (the best mean among the search's
    candidates and the ablation's variants), and whether its lead is within noise."""
    nval = n_val(results)
    rows = []
    for df, label in ((results.nn_search, None), (results.nn_ablation, "variant")):
        st = over_seeds(df)
        names = (dict(zip(df["config_id"], df[label], strict=False)) if label else {})
        for _, r in st.iterrows():
            if not _finished(r):
                continue
            name = (VARIANTS.get(names.get(r["config_id"]), "")
                    if label else "the searched recipe with dropout " + A.num(r["dropout"]))
            if label and names.get(r["config_id"]) == "final":
                continue  # the searched recipe again, already listed from the search
            rows.append((r["mean"], name, r))
    rows.sort(key=lambda t: -t[0])
    (_, n1, r1), (_, n2, r2) = rows[0], rows[1]
    c = A.compare_rows(r2, r1, nval)
    name = n1 if n1.startswith("the searched") else f"the recipe {n1}"
    return (f"The final network is the configuration with the best mean over seeds among the "
            f"search's candidates and the ablation's variants: {name} "
            f"({A.pm(r1['mean'], r1['sd'])}); the next best, "
            f"{n2 if n2.startswith('the searched') else 'the recipe ' + n2}, is "
            f"{A.wording(c, other='it')}.")


def search_sentence(results: Results) -> str:
    """Whether the search's chosen candidate beats the runner-up beyond noise (no tie broken
    silently)."""
    st = over_seeds(results.nn_search)
    ok = st[[_finished(r) for _, r in st.iterrows()]]
    if len(ok) < 2:
        return "The search had a single candidate that finished."
    chosen = ok[ok["config_id"] == best_config_id(results.nn_search)].iloc[0]
    runner = ok[ok["config_id"] != chosen["config_id"]].sort_values("mean").iloc[-1]
    c = A.compare_rows(chosen, runner, n_val(results))
    factors = list(results.ctx.plan.nn_final_search)
    desc = ", ".join(f"{NAMES.get(f, f)} {A.num(chosen[f])}" for f in factors)
    out = f"The search's best candidate ({desc}) is {A.wording(c, other='the next')}"
    return out + ("; it is kept for its higher mean." if c.tie else ".")


def grid_stats(results: Results) -> pd.DataFrame:
    """The hidden size x dropout grid, one row per setting (mean, sd over seeds)."""
    return over_seeds(results.nn_grid)
