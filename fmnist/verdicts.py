"""What the results say, as data: the noise rule and the verdicts the report's hand-written
words rest on (`report.qmd` checks each qualitative sentence against them with `tools.claims`).

The noise rule (`compare`): a difference of two mean validation accuracies over seeds counts
only if it exceeds twice its standard error from the seeds AND one binomial standard error of
an accuracy on the validation images; otherwise the two settings are tied. A difference that
counts by less than 1.5 times that threshold is `close` (the report says so).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fmnist.data import CLASS_NAMES, IMAGE_SHAPE, N_CLASSES
from fmnist.models import MODELS
from fmnist.plans import best_config_id, finished, over_seeds

# --------------------------------------------------------------------------- the noise rule


def binomial_se(acc: float, n: int) -> float:
    """Standard error of an accuracy measured on n independent images: sqrt(p (1 - p) / n)."""
    return math.sqrt(acc * (1 - acc) / n)


@dataclass(frozen=True)
class Comparison:
    """Mean accuracy a minus mean accuracy b, the standard error the seeds give it, and what a
    difference must exceed to count."""

    diff: float
    se: float
    threshold: float

    tie = property(lambda self: abs(self.diff) <= self.threshold)
    higher = property(lambda self: not self.tie and self.diff > 0)
    lower = property(lambda self: not self.tie and self.diff < 0)
    close = property(lambda self: not self.tie and abs(self.diff) < 1.5 * self.threshold)


def compare(a: pd.Series, b: pd.Series, n_val: int) -> Comparison:
    """Compare two rows of `over_seeds` (columns mean, sd, n): a minus b, by the noise rule."""
    if not (np.isfinite(a["mean"]) and np.isfinite(b["mean"])):
        raise ValueError("cannot compare a setting whose seeds diverged")
    se = math.sqrt(np.nan_to_num(a["sd"]) ** 2 / max(a["n"], 1)
                   + np.nan_to_num(b["sd"]) ** 2 / max(b["n"], 1))
    threshold = max(2 * se, binomial_se((a["mean"] + b["mean"]) / 2, n_val))
    return Comparison(float(a["mean"] - b["mean"]), se, threshold)


def smallest_tied(df: pd.DataFrame, n_val: int) -> int:
    """The noise rule's choice (`config_id`): of the configurations tied with the best mean,
    the fewest parameters, then the higher mean; a gain within noise buys no bigger model."""
    st = over_seeds(df)
    ok = st[[finished(r) for _, r in st.iterrows()]]
    top = ok.loc[ok["mean"].idxmax()]
    tied = ok[[r["config_id"] == top["config_id"] or compare(r, top, n_val).tie
               for _, r in ok.iterrows()]]
    size = [MODELS[df.attrs["kind"]](**df.attrs["configs"][i]).n_params for i in tied.config_id]
    return int(tied.assign(size=size).sort_values(["size", "mean"], ascending=[True, False],
                                                  kind="stable")["config_id"].iloc[0])


def shown_gap(row: pd.Series) -> float:
    """Training minus validation accuracy in points, from the values as tables show them."""
    return round(100 * row["train_acc"], 1) - round(100 * row["mean"], 1)


# --------------------------------------------------------------------------- one factor


def stats(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """{factor: over_seeds(runs)} of one-factor sweeps, rows in the factor's order."""
    def order(values: pd.Series) -> pd.Series:
        if pd.api.types.is_numeric_dtype(values):
            return values
        return values.map({v: i for i, v in enumerate(dict.fromkeys(values))})

    return {f: over_seeds(df).sort_values(f, key=order, kind="stable").reset_index(drop=True)
            for f, df in frames.items() if f != "activation"}


@dataclass(frozen=True)
class Factor:
    """The verdict on one factor: the best value by mean over seeds, the values tied with it,
    the clearly lower ones and the diverged ones; `rows` holds the statistics."""

    name: str
    best: object
    tied: tuple
    worse: tuple
    diverged: tuple
    rows: pd.DataFrame = field(repr=False, compare=False)

    def row(self, value) -> pd.Series:
        rows = self.rows[self.rows[self.name] == value]
        if rows.empty:
            raise KeyError(f"{self.name} = {value} was not trained")
        return rows.iloc[0]

    def mean(self, value) -> float:
        return float(self.row(value)["mean"])

    def gap(self, value) -> float:  # at the kept epoch, in points as the tables show it
        return shown_gap(self.row(value))

    def capped(self, value) -> bool:
        """The epoch limit ended every seed while it was still improving (its best epoch was
        its last, or within its patience of it): under-trained, not worse."""
        r = self.row(value)
        return bool(r["at_last_epoch"] + r["cut_short"] >= r["seeds"])

    def tied_with_best(self, values) -> bool:
        """Every one of `values` is the best or tied with it (none clearly lower)."""
        return all(v == self.best or v in self.tied for v in values)

    @property
    def values(self) -> list:
        return list(self.rows[self.name])


def factor(rows: pd.DataFrame, name: str, n_val: int) -> Factor:
    """The verdict on `name` from its `over_seeds` rows (one row per value)."""
    ok = rows[[finished(r) for _, r in rows.iterrows()]]
    diverged = tuple(rows.loc[rows["diverged"] > 0, name])
    if ok.empty:
        return Factor(name, None, (), (), diverged, rows)
    best = ok.loc[ok["mean"].idxmax()]
    tied, worse = [], []
    for _, r in ok.iterrows():
        if r["config_id"] != best["config_id"]:
            (tied if compare(r, best, n_val).tie else worse).append(r[name])
    return Factor(name, best[name], tuple(tied), tuple(worse), diverged, rows)


def factors(frames: dict[str, pd.DataFrame], n_val: int) -> dict[str, Factor]:
    """`factor` for every one-factor sweep of a model."""
    return {f: factor(st, f, n_val) for f, st in stats(frames).items()}


def across(runs: pd.DataFrame, factor: str, a, b, n_val: int) -> pd.DataFrame:
    """In a grid, `factor` = a against `factor` = b at each setting of the other factors that
    vary (the index): the noise rule's `diff`, `se`, `tie`, `lower`, `higher`, `close`, and
    `train_diff` of the training accuracies (NaN verdicts where a side has a diverged seed)."""
    st = over_seeds(runs)
    keys = [k for k in st.columns[1:st.columns.get_loc("mean")]
            if k != factor and st[k].nunique() > 1]
    rows = {}
    for key, part in st.groupby(keys if len(keys) > 1 else keys[0]):
        p = part.set_index(factor)
        ok = finished(p.loc[a]) and finished(p.loc[b])
        c = compare(p.loc[a], p.loc[b], n_val) if ok else None
        rows[key] = {k: getattr(c, k, math.nan) for k in ("diff", "se", "tie", "lower", "higher",
                                                            "close")}
        rows[key]["train_diff"] = p.loc[a, "train_acc"] - p.loc[b, "train_acc"]
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis(keys)


# --------------------------------------------------------------------------- the network


def activations(results) -> pd.DataFrame:
    """Each activation at its own best learning rate (by mean over seeds), best first."""
    st = over_seeds(results.nn["activation"])
    ok = st[st["diverged"] == 0]
    best = ok.loc[ok.groupby("activation", sort=False)["mean"].idxmax()]
    return best.sort_values("mean", ascending=False).reset_index(drop=True)


def dropout_by_width(results, n_val: int) -> pd.DataFrame:
    """At each width of the hidden size x dropout grid: accuracy and train-validation gap
    without dropout and with the best dropout rate, and their comparison (with minus
    without)."""
    st = over_seeds(results.nn_grid)
    rows = []
    for h, part in st.groupby("hidden", sort=True):
        ok = part[[finished(r) for _, r in part.iterrows()]]
        none, some = ok[ok["dropout"] == 0], ok[ok["dropout"] > 0]
        if none.empty or some.empty:
            continue
        a, b = some.loc[some["mean"].idxmax()], none.iloc[0]
        c = compare(a, b, n_val)
        rows.append({"hidden": int(h), "dropout": float(a["dropout"]), "with": a["mean"],
                     "without": b["mean"], "gap_with": shown_gap(a), "gap_without": shown_gap(b),
                     "diff": c.diff, "tie": c.tie, "higher": c.higher, "lower": c.lower})
    return pd.DataFrame(rows)


def ablation(results, n_val: int) -> pd.DataFrame:
    """Each variant of the ablation against the final network ("final"): its statistics and
    `diff`, `tie`, `lower`, `higher` by the noise rule (NaN for the recipe itself)."""
    st = over_seeds(results.nn_ablation)
    names = dict(zip(results.nn_ablation["config_id"], results.nn_ablation["variant"],
                     strict=False))
    st.insert(0, "variant", st["config_id"].map(names))
    final = st[st["variant"] == "final"].iloc[0]
    cols = {"diff": [], "tie": [], "lower": [], "higher": [], "close": []}
    for _, r in st.iterrows():
        c = (compare(r, final, n_val) if r["variant"] != "final" and finished(r)
             and finished(final) else None)
        for k in cols:
            cols[k].append(math.nan if c is None else getattr(c, k))
    return st.assign(**cols, gap=[shown_gap(r) for _, r in st.iterrows()]).set_index(
        "variant", drop=False)


def finals_candidates(runs: pd.DataFrame, n_val: int) -> pd.DataFrame:
    """Logistic regression's candidates on the whole training part, indexed by name: mean, sd,
    `kept` (the best mean, as `run_all` keeps it) and `tie` with the kept one."""
    st = over_seeds(runs)
    names = dict(zip(runs["config_id"], runs["candidate"], strict=False))
    st.index = [names[i] for i in st["config_id"]]
    kept_id = best_config_id(runs)
    kept = st[st["config_id"] == kept_id].iloc[0]
    st["kept"] = st["config_id"] == kept_id
    st["tie"] = [math.nan if r["config_id"] == kept_id or not finished(r)
                 else compare(r, kept, n_val).tie for _, r in st.iterrows()]
    return st


def seeds_stats(best) -> pd.Series:  # a chosen model's mean, sd and n over seeds
    return over_seeds(best.runs).iloc[0]


def gap_at_kept(best) -> float:
    """Training minus validation accuracy at seed 0's kept epoch, in points."""
    h = best.history.set_index("epoch")
    return 100 * float(h.loc[best.best_epoch, "train_acc"] - h.loc[best.best_epoch, "val_acc"])


@dataclass(frozen=True)
class LossTrend:
    """The validation loss after its lowest epoch: how far it ends above that lowest value and
    how much the training loss fell meanwhile."""

    lowest_epoch: int
    last_epoch: int
    end_rise: float
    train_drop: float


def loss_trend(history: pd.DataFrame) -> LossTrend:
    h = history.reset_index(drop=True)
    i = int(np.nanargmin(h["val_loss"]))
    after = h.iloc[i:]
    return LossTrend(int(h["epoch"][i]), int(h["epoch"].iloc[-1]),
                     float(after["val_loss"].iloc[-1] - after["val_loss"].iloc[0]),
                     float(after["train_loss"].iloc[0] - after["train_loss"].iloc[-1]))


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


def top_confusions(C: np.ndarray, k: int = 3) -> list[tuple[str, str, int]]:
    """The k largest errors: (true class, predicted class, count), largest first."""
    off = C - np.diag(np.diag(C))
    flat = np.argsort(off, axis=None, kind="stable")[::-1][:k]
    return [(CLASS_NAMES[i], CLASS_NAMES[j], int(off[i, j]))
            for i, j in zip(*np.unravel_index(flat, off.shape), strict=True)]


def share_within(C: np.ndarray, classes: list[int]) -> float:
    """Share of all errors whose true and predicted classes are both in `classes`."""
    off = C - np.diag(np.diag(C))
    return float(off[np.ix_(classes, classes)].sum() / off.sum()) if off.sum() else math.nan


def facing_share(X: np.ndarray, y: np.ndarray, k: int) -> float:
    """Share of class k's images closer to their mean than to its mirror: 1 if all face one way."""
    images = X[y == k].reshape(-1, *IMAGE_SHAPE).astype(np.float32)   # (n_k, 28, 28)
    mean = images.mean(axis=0)                                       # (28, 28)
    return float(np.mean((images * mean).sum((1, 2)) > (images * mean[:, ::-1]).sum((1, 2))))


def class_index(names) -> list[int]:  # class names -> their indices
    return [CLASS_NAMES.index(n) for n in names]
