"""The report's tables, as Markdown (Pandoc pipe tables), and the number formats of its text.

Accuracies are shown in percent to one decimal; a table's gap column is the difference of the
two accuracies as shown, so the columns subtract.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from fmnist import verdicts as V
from fmnist.models import MODELS
from fmnist.plans import over_seeds

NAMES = {"hidden": "hidden size", "activation": "activation", "batch_size": "batch size",
         "lr": "learning rate", "l2": "L2 coefficient", "l1": "L1 coefficient",
         "dropout": "dropout rate", "momentum": "momentum", "lr_schedule": "schedule",
         "augment": "augmentation", "epochs": "epochs", "patience": "patience",
         "restore_best": "keep best epoch"}
VARIANTS = {"final": "final recipe (subset)", "no_dropout": "without dropout",
            "no_momentum": "without momentum", "constant_step": "constant step",
            "no_momentum_schedule": "plain GD", "narrow": "narrower layer",
            "with_flips": "with flips"}

# --------------------------------------------------------------------------- numbers


def pct(x: float, digits: int = 1) -> str:
    """0.8612 -> '86.1%'; NaN -> '-'."""
    return "-" if x is None or not np.isfinite(x) else f"{100 * x:.{digits}f}%"


def pm(mean: float, sd: float, digits: int = 1) -> str:
    """Mean ± standard deviation in percent: '86.1 ± 0.2%'."""
    if mean is None or not np.isfinite(mean):
        return "-"
    if sd is None or not np.isfinite(sd):
        return pct(mean, digits)
    return f"{100 * mean:.{digits}f} ± {100 * sd:.{digits}f}%"


def num(x) -> str:
    """A setting as it reads in text: 1e-05 -> '1e-5', 0.001, 128.0 -> '128', None -> 'none'."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "none"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, (float, np.floating)):
        x = float(x)
        if x == 0:
            return "0"
        if x.is_integer() and abs(x) < 1e4:
            return str(int(x))
        if abs(x) < 1e-3 or abs(x) >= 1e4:
            m, e = f"{x:.5e}".split("e")
            return f"{m.rstrip('0').rstrip('.')}e{int(e)}"
        return f"{x:g}"
    return str(x)


def pts(x: float, digits: int = 1) -> str:
    """A difference of accuracies in points: 0.012 -> '1.2'."""
    return f"{100 * abs(x):.{digits}f}"


def md_table(df: pd.DataFrame, align: list[str] | None = None) -> str:
    """A DataFrame as a Pandoc pipe table; `align` one of 'l', 'r', 'c' per column."""
    align = align or ["r" if pd.api.types.is_numeric_dtype(df[c]) else "l" for c in df.columns]
    widths = [max([len(str(c))] + [len(str(v)) for v in df[c]]) + 4 for c in df.columns]
    marks = [{"l": ":" + "-" * w, "r": "-" * w + ":", "c": ":" + "-" * w + ":"}[a]
             for a, w in zip(align, widths, strict=True)]
    lines = ["| " + " | ".join(str(c) for c in df.columns) + " |", "|" + "|".join(marks) + "|"]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def best_epoch_cell(r) -> str:
    """'19 of 27': mean best epoch of the mean epochs run; † the epoch limit, not early
    stopping, ended a seed that may still have been improving (its best epoch was its last, or
    within its patience of it). A fixed-length run (no patience, e.g. a cosine schedule that
    ends near a zero step) is meant to end at its limit: no flag."""
    stops_early = pd.notna(r.get("patience", 0))
    flag = " †" if stops_early and (r["at_last_epoch"] or r.get("cut_short", 0)) else ""
    return f"{r['best_epoch']:.0f} of {r['epochs_run']:.0f}{flag}"


def _result_cells(r) -> list[str]:
    if not V.finished(r):
        peak = r.get("peak_before", math.nan)
        notes = ([f"{r['diverged']:.0f} of {r['seeds']:.0f} seeds"]
                 if r["diverged"] < r["seeds"] else [])
        notes += [f"after {pct(peak)}"] if np.isfinite(peak) else []
        notes += [f"the others {pct(r['mean'])}"] if np.isfinite(r["mean"]) else []
        return ["diverged" + (f" ({', '.join(notes)})" if notes else ""), "-", "-", "-"]
    gap = V.shown_gap(r)
    return [pm(r["mean"], r["sd"]), pct(r["train_acc"]), f"{gap:.1f}", best_epoch_cell(r)]


# --------------------------------------------------------------------------- tables


def sweep_table(frames: dict[str, pd.DataFrame], base: dict) -> str:
    """Every one-factor sweep of a model, one row per value (the factor named on its first
    row): validation accuracy (mean ± sd over seeds), training accuracy at the same epoch, their
    gap, and the mean best epoch."""
    rows = []
    for f, st in V.stats(frames).items():
        for i, (_, r) in enumerate(st.iterrows()):
            value = num(r[f]) + (" (base)" if r[f] == base.get(f) else "")
            rows.append([NAMES.get(f, f) if i == 0 else "", value, *_result_cells(r)])
    return md_table(pd.DataFrame(rows, columns=["factor", "value", "validation", "training",
                                                "gap (points)", "best epoch"]),
                    ["l", "l", "r", "r", "r", "r"])


def two_way_table(runs: pd.DataFrame, row: str, col: str) -> str:
    """Validation accuracy (mean ± sd) of each `row` value (table rows) at each `col` value."""
    st = over_seeds(runs)
    values = sorted(st[col].unique())
    rows = []
    for name, part in st.groupby(row, sort=pd.api.types.is_numeric_dtype(st[row])):
        cells = {r[col]: (pm(r["mean"], r["sd"]) if V.finished(r) else "diverged" + (
                     f" ({r['diverged']:.0f} of {r['seeds']:.0f}; others {pct(r['mean'])})"
                     if r["diverged"] < r["seeds"] else "")) for _, r in part.iterrows()}
        rows.append([num(name)] + [cells.get(x, "—") for x in values])  # —: not run
    short = {"lr": "lr", "batch_size": "batch"}.get(col, NAMES.get(col, col))
    return md_table(pd.DataFrame(rows, columns=[NAMES.get(row, row)]
                                 + [f"{short} {num(x)}" for x in values]),
                    ["l"] + ["r"] * len(values))


def search_table(results, n_val: int) -> str:
    """The final network's search: each candidate's validation accuracy; the choice in bold."""
    return candidates_table(results.nn_search, list(results.ctx.plan.nn_final_search),
                            V.smallest_tied(results.nn_search, n_val))


def candidates_table(runs: pd.DataFrame, factors: list[str], chosen: int) -> str:
    """Candidates told apart by `factors`, their results over seeds; `chosen` in bold."""
    st = over_seeds(runs)
    rows = []
    for _, r in st.iterrows():
        cells = [num(r[f]) for f in factors] + _result_cells(r)
        rows.append([f"**{c}**" for c in cells] if r["config_id"] == chosen else cells)
    return md_table(pd.DataFrame(rows, columns=[NAMES.get(f, f) for f in factors]
                                 + ["validation", "training", "gap (points)", "best epoch"]),
                    ["r"] * (len(factors) + 4))


def ablation_table(results, n_val: int) -> str:
    """The final network without one aid at a time (or with flips), and the change against it."""
    st = V.ablation(results, n_val)
    rows = []
    for v, r in st.iterrows():
        verdict = "tie" if r["tie"] else "close" if r["close"] else "real"
        change = ("" if pd.isna(r["diff"])  # the recipe itself, or either side diverged
                  else f"{100 * r['diff']:+.1f} ({verdict})")
        rows.append([VARIANTS.get(v, v), *_result_cells(r), change])
    return md_table(pd.DataFrame(rows, columns=["variant", "validation", "training",
                                                "gap (points)", "best epoch", "change (points)"]),
                    ["l", "r", "r", "r", "r", "r"])


SETTINGS = [  # (row, symbol, how the values of these keys read)
    ("hidden size", "$d$", "{hidden}"), ("activation", "$g$", "{activation}"),
    ("learning rate", "$\\eta$", "{lr}"), ("schedule", "$\\eta_\\tau$", "{lr_schedule}"),
    ("momentum", "$\\beta$", "{momentum}"), ("batch size", "$B$", "{batch_size}"),
    ("epochs (patience)", "$E$", "{epochs} ({patience})"),
    ("L2, L1 coefficients", "$\\lambda_2, \\lambda_1$", "{l2}, {l1}"),
    ("dropout rate", "$p$", "{dropout}"), ("augmentation", "", "{augment}")]


def chosen_table(results) -> str:
    """Both chosen models: every hyper-parameter (with its symbol), the number of parameters,
    the validation accuracy over seeds, seed 0's kept epoch and accuracy, and the epochs of the
    submitted refit on all labelled images."""
    cols = {"logistic regression": results.best["logreg"], "network": results.best["nn"]}
    keys = re.findall(r"{(\w+)}", " ".join(fmt for _, _, fmt in SETTINGS))
    settings = [{**MODELS[b.kind]().get_params(), **b.config} for b in cols.values()]
    values = [{k: num(c[k]) if k in c else "—" for k in keys}  # —: the model has none
              for c in settings]
    rows = [[name, symbol, *[fmt.format(**v) for v in values]] for name, symbol, fmt in SETTINGS]
    over = [V.seeds_stats(b) for b in cols.values()]
    rows += [["parameters", "", *[f"{MODELS[b.kind](**b.config).n_params:,}"
                                  for b in cols.values()]],
             ["validation, mean ± sd over seeds", "", *[pm(s["mean"], s["sd"]) for s in over]],
             ["seed 0: kept epoch, validation", "",
              *[f"{b.best_epoch}, {pct(b.val_acc)}" for b in cols.values()]],
             ["submitted: refit epochs, all images", "",
              *[str(b.refit["epochs"]) for b in cols.values()]]]
    return md_table(pd.DataFrame(rows, columns=["setting", "symbol", *cols]),
                    ["l", "c", "r", "r"])
