"""Turning results into the report's numbers, tables and words, with the noise rule in one place.

Accuracies are shown in percent. A comparison of two settings is worded from the difference of
their means over seeds and its uncertainty (`compare`): it is a tie unless the difference is
larger than twice the standard error that the seeds give it AND larger than the sampling error
of one accuracy on the validation set (the binomial standard error). Tables are returned as
Markdown text (Pandoc pipe tables); the report decides how to show them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fmnist.data import CLASS_NAMES, N_CLASSES, N_PIXELS

# --------------------------------------------------------------------------- formatting


def pct(x: float, digits: int = 1) -> str:
    """Accuracy as a percentage: 0.8612 -> '86.1%'; NaN -> '-'."""
    return "-" if x is None or not np.isfinite(x) else f"{100 * x:.{digits}f}%"


def pts(x: float, digits: int = 1) -> str:
    """A difference of accuracies in percentage points: 0.012 -> '1.2 points'."""
    return f"{100 * abs(x):.{digits}f} points"


def below_shown(x: float) -> bool:
    """Whether a difference of accuracies shows as 0.0 points (one decimal)."""
    return round(100 * abs(x), 1) == 0


def pm(mean: float, sd: float, digits: int = 1) -> str:
    """Mean ± standard deviation in percent: '86.1 ± 0.2%' ('-' when the mean is missing)."""
    if mean is None or not np.isfinite(mean):
        return "-"
    if sd is None or not np.isfinite(sd):
        return pct(mean, digits)
    return f"{100 * mean:.{digits}f} ± {100 * sd:.{digits}f}%"


def num(x) -> str:
    """A setting as it reads best in prose and tables: 1e-05 -> '1e-5', 2.5e-05 -> '2.5e-5',
    0.001, 0.1, 128.0 -> '128', 0.0 -> '0', 'relu', None -> 'none', True -> 'yes'."""
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
            m, e = f"{x:.5e}".split("e")  # every digit the value has (up to 6), not rounded to 1
            return f"{m.rstrip('0').rstrip('.')}e{int(e)}"
        return f"{x:g}"
    return str(x)


def md_table(df: pd.DataFrame, align: list[str] | None = None) -> str:
    """A DataFrame as a Pandoc pipe table (index dropped); cells used as they are.
    `align`: one of 'l', 'r', 'c' per column (default: right for numbers, left for text)."""
    align = align or ["r" if pd.api.types.is_numeric_dtype(df[c]) else "l" for c in df.columns]
    # the dashes give Pandoc each column's relative width: as wide as its longest cell
    widths = [max([len(str(c))] + [len(str(v)) for v in df[c]]) + 4 for c in df.columns]
    marks = [{"l": ":" + "-" * w, "r": "-" * w + ":", "c": ":" + "-" * w + ":"}[a]
             for a, w in zip(align, widths, strict=True)]
    lines = ["| " + " | ".join(str(c) for c in df.columns) + " |", "|" + "|".join(marks) + "|"]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def series(items, fmt=str, last: str = "and") -> str:
    """'a, b and c'."""
    items = [fmt(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {last} " + items[-1]


# --------------------------------------------------------------------------- the noise rule


def shown_gap(a: float, b: float) -> float:
    """a - b in points, from the values as shown to 0.1% (so a table's columns subtract)."""
    return round(100 * a, 1) - round(100 * b, 1)


def binomial_se(acc: float, n: int) -> float:
    """Standard error of an accuracy measured on n independent images: sqrt(p (1 - p) / n)."""
    return math.sqrt(acc * (1 - acc) / n)


@dataclass(frozen=True)
class Comparison:
    """Mean accuracy `a` minus mean accuracy `b`, its seed standard error, and the verdict."""

    diff: float
    se: float           # standard error of the difference from the seeds' spread
    threshold: float    # what a difference must exceed to count
    verdict: str        # "higher", "lower" or "tie"
    shown: float = math.nan  # the difference of the two means as the reader sees them (0.1%)

    @property
    def tie(self) -> bool:
        return self.verdict == "tie"


def compare(a_mean: float, a_sd: float, a_n: int, b_mean: float, b_sd: float, b_n: int,
            n_val: int) -> Comparison:
    """Compare two settings' mean validation accuracies over seeds (a minus b).

    A difference counts only if it is larger than twice its standard error from the seeds,
    sqrt(sd_a^2 / n_a + sd_b^2 / n_b), and larger than one binomial standard error of an
    accuracy on the n_val validation images; otherwise the two are tied.
    """
    if not (np.isfinite(a_mean) and np.isfinite(b_mean)):
        raise ValueError(f"cannot compare a missing mean (every seed diverged?): {a_mean} and "
                         f"{b_mean}")
    diff = a_mean - b_mean
    se = math.sqrt(np.nan_to_num(a_sd) ** 2 / max(a_n, 1) + np.nan_to_num(b_sd) ** 2
                   / max(b_n, 1))
    threshold = max(2 * se, binomial_se((a_mean + b_mean) / 2, n_val))
    verdict = "tie" if abs(diff) <= threshold else ("higher" if diff > 0 else "lower")
    shown = round(100 * a_mean, 1) / 100 - round(100 * b_mean, 1) / 100
    return Comparison(diff, se, threshold, verdict, shown)


def compare_rows(a: pd.Series, b: pd.Series, n_val: int) -> Comparison:
    """`compare` for two rows of `over_seeds` (columns mean, sd, n)."""
    return compare(a["mean"], a["sd"], a["n"], b["mean"], b["sd"], b["n"], n_val)


def wording(c: Comparison, higher: str = "higher than", lower: str = "lower than",
            tie: str = "tied with", other: str | None = None) -> str:
    """'1.2 points higher than', '0.4 points lower than' or 'tied with (0.10 points apart,
    within noise)'; given the `other` thing compared with, it is put where it reads: '1.2
    points higher than X', 'tied with X (0.10 points apart, within noise)'."""
    obj = f" {other}" if other else ""
    shown = c.diff if math.isnan(c.shown) else c.shown  # what the reader can subtract
    if c.tie:
        # equal as shown: the unrounded difference, to 0.01 points, is what tells them apart
        apart = pts(c.diff, digits=2) if below_shown(shown) else pts(shown)
        return f"{tie}{obj} ({apart} apart, within noise)"
    return f"{pts(shown)} {higher if c.diff > 0 else lower}{obj}"


# --------------------------------------------------------------------------- sweeps


def factor_verdict(stats: pd.DataFrame, factor: str, n_val: int) -> dict:
    """The best value of a factor by mean, the values tied with it, and the clearly worse ones
    (each compared with the best by `compare`); diverged values are listed apart."""
    ok = stats[(stats["diverged"] == 0) & stats["mean"].notna()]
    diverged = list(stats.loc[stats["diverged"] > 0, factor])
    if ok.empty:
        return {"best": None, "best_row": None, "tied": [], "worse": [], "diverged": diverged,
                "range": 0.0}
    best = ok.loc[ok["mean"].idxmax()]
    tied, worse = [], []
    for _, row in ok.iterrows():
        if row["config_id"] == best["config_id"]:
            continue
        (tied if compare_rows(row, best, n_val).tie else worse).append(row[factor])
    return {"best": best[factor], "best_row": best, "tied": tied, "worse": worse,
            "diverged": diverged, "range": ok["mean"].max() - ok["mean"].min()}


def factor_sentence(stats: pd.DataFrame, factor: str, n_val: int, fmt=num) -> str:
    """One sentence on a factor: the best value, what it ties with, what is clearly worse."""
    v = factor_verdict(stats, factor, n_val)
    best = v["best_row"]
    if best is None:
        return f"every value diverged ({series(v['diverged'], fmt)})"
    out = f"{fmt(v['best'])} has the highest mean ({pm(best['mean'], best['sd'])})"
    if v["tied"]:
        out += f", tied within noise with {series(v['tied'], fmt)}"
    if v["worse"]:
        verb = "is" if len(v["worse"]) == 1 else "are"
        out += f"; {series(v['worse'], fmt)} {verb} clearly lower"
    if v["diverged"]:
        out += f"; {series(v['diverged'], fmt)} diverged"
    return out


def best_epoch_cell(r) -> str:
    """'19 of 27': an `over_seeds` row's mean best epoch of its mean epochs run, flagged †
    when a seed's best epoch was its last, ‡ when the epoch limit (not early stopping) ended
    a seed within its patience of its best."""
    flag = " †" if r["at_last_epoch"] else " ‡" if r.get("cut_short", 0) else ""
    return f"{r['best_epoch']:.0f} of {r['epochs_run']:.0f}{flag}"


def sweep_table(stats: pd.DataFrame, factor: str, base_value=None, name: str | None = None,
                fmt=num) -> str:
    """Markdown table of a one-factor sweep: value, validation accuracy mean ± sd over seeds,
    training accuracy at the best epoch, the gap between them, the mean best epoch (flagged †
    when a seed's best epoch was its last: it may still have been improving; ‡ when the epoch
    limit, not early stopping, ended a seed within its patience of its best)."""
    rows = []
    for _, r in stats.iterrows():
        value = fmt(r[factor]) + (" (base)" if base_value is not None and r[factor] == base_value
                                  else "")
        if r["diverged"]:
            notes = []
            if "seeds" in r and r["diverged"] < r["seeds"]:
                notes.append(f"{r['diverged']:.0f} of {r['seeds']:.0f} seeds")
            peak = r.get("peak_before", math.nan)
            if np.isfinite(peak):  # what it reached before diverging, mean over seeds
                notes.append(f"after reaching {pct(peak)}")
            rows.append([value, "diverged" + (f" ({', '.join(notes)})" if notes else ""),
                         "-", "-", "-"])
            continue
        rows.append([value, pm(r["mean"], r["sd"]), pct(r["train_acc"]),
                     f"{shown_gap(r['train_acc'], r['mean']):.1f}", best_epoch_cell(r)])
    return md_table(pd.DataFrame(rows, columns=[name or factor, "validation", "training",
                                                "gap (points)", "best epoch"]),
                    align=["l", "r", "r", "r", "r"])


# --------------------------------------------------------------------------- models


def n_params(kind: str, config: dict) -> int:
    """Learned parameters of a model: 784*10 + 10, or 784*d + d + d*10 + 10."""
    if kind == "logreg":
        return N_PIXELS * N_CLASSES + N_CLASSES
    d = config["hidden"]
    return N_PIXELS * d + d + d * N_CLASSES + N_CLASSES


def flops_per_epoch(kind: str, config: dict, n: int) -> float:
    """Multiply-adds x 2 of one training epoch's matrix products (forward and backward) over
    n examples: the machine-independent cost of an epoch."""
    if kind == "logreg":
        return 2 * n * 2 * N_PIXELS * N_CLASSES
    d = config["hidden"]
    return 2 * n * (2 * N_PIXELS * d + 3 * d * N_CLASSES)


# --------------------------------------------------------------------------- errors


def confusion_matrix(y_true, y_pred, n_classes: int = N_CLASSES) -> np.ndarray:
    """Counts C (k, k): C[i, j] = examples of true class i predicted as j."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D and equal length, got "
                         f"{y_true.shape} and {y_pred.shape}")
    return np.bincount(y_true * n_classes + y_pred,
                       minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def per_class_accuracy(y_true, y_pred, n_classes: int = N_CLASSES) -> np.ndarray:
    """Recall of each class (k,): the share of its examples predicted correctly."""
    C = confusion_matrix(y_true, y_pred, n_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.diag(C) / C.sum(axis=1)


def off_diagonal(C: np.ndarray) -> np.ndarray:
    """The errors of a confusion matrix: C with its diagonal set to 0."""
    off = np.array(C, copy=True)
    np.fill_diagonal(off, 0)
    return off


def top_confusions(C: np.ndarray, k: int = 3) -> list[tuple[str, str, int]]:
    """The k largest errors: (true class, predicted class, count), largest first."""
    off = off_diagonal(C)
    flat = np.argsort(off, axis=None)[::-1][:k]
    return [(CLASS_NAMES[i], CLASS_NAMES[j], int(off[i, j]))
            for i, j in zip(*np.unravel_index(flat, off.shape), strict=True)]


def share_within(C: np.ndarray, classes: list[int]) -> float:
    """Share of all errors whose true and predicted classes are both in `classes`."""
    off = off_diagonal(C)
    total = off.sum()
    return float(off[np.ix_(classes, classes)].sum() / total) if total else float("nan")


def per_class_table(y_true, predictions: dict) -> str:
    """Markdown table: each class's accuracy (%) under each model {name: y_pred}."""
    cols = {"class": list(CLASS_NAMES)}
    for name, y_pred in predictions.items():
        cols[name] = [pct(a) for a in per_class_accuracy(y_true, y_pred)]
    return md_table(pd.DataFrame(cols), align=["l"] + ["r"] * len(predictions))
