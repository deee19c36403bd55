"""The report's figures, one function each, returning a Figure.

Every function takes arrays (no file reading) and saves the figure only when given a `path`
(PNG, atomically). Without a display, matplotlib uses the Agg backend.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib

if not os.environ.get("MPLBACKEND") and not os.environ.get("DISPLAY") and sys.platform != "darwin":
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from fmnist.analysis import confusion_matrix, num, per_class_accuracy  # noqa: E402
from fmnist.data import CLASS_NAMES, IMAGE_SHAPE, N_CLASSES, atomic_write  # noqa: E402

DPI = 200


def save_figure(fig, path: str | os.PathLike, dpi: int = DPI) -> Path:
    """Write `fig` as a PNG at `dpi` (150 or more for the PDF), atomically."""
    path = Path(path)
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", dpi=dpi, bbox_inches="tight")
    return path


def plot_examples(X: np.ndarray, y: np.ndarray, per_class: int = 4, random_state: int = 0,
                  path: str | os.PathLike | None = None):
    """Part 1: a grid of 10 rows (one per class) x `per_class` different random examples.

    X: raw pixels (n, 784); y: labels (n,). Each row is labelled with its class name (the
    y-label of its first image); images have no ticks. Saved as PNG when `path` is given.
    """
    X, y = np.asarray(X), np.asarray(y)
    rng = np.random.default_rng(random_state)
    side, left, top = 1.15, 1.35, 0.45  # inches: image, row labels, title
    width, height = left + side * per_class + 0.1, top + side * N_CLASSES + 0.1
    fig, axes = plt.subplots(N_CLASSES, per_class, figsize=(width, height), squeeze=False)
    fig.subplots_adjust(left=left / width, right=1 - 0.1 / width, bottom=0.1 / height,
                        top=1 - top / height, wspace=0.06, hspace=0.06)
    for c, name in enumerate(CLASS_NAMES):
        idx = np.flatnonzero(y == c)
        if len(idx) < per_class:
            raise ValueError(f"class {c} ({name}) has {len(idx)} examples, need {per_class}")
        chosen = rng.choice(idx, per_class, replace=False)
        for ax, i in zip(axes[c], chosen, strict=True):
            ax.imshow(X[i].reshape(IMAGE_SHAPE), cmap="gray_r", vmin=0, vmax=255,
                      interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_color("0.75")
        axes[c, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=11,
                              labelpad=8)
    fig.suptitle(f"Fashion-MNIST: {per_class} training examples of each class", fontsize=12,
                 y=1 - 0.12 / height, va="top")
    return _save(fig, path)


# --------------------------------------------------------------------------- report figures
# Curves, sweeps, confusion matrices and misclassified examples for report.qmd. Each returns a
# Figure and, given `path`, also writes it (atomically) as PNG.

CURVE_KEYS = ("train_loss", "val_loss", "train_acc", "val_acc")


def _save(fig, path):
    """Write `fig` to `path` as PNG (atomically) when a path is given; return fig."""
    if path is not None:
        save_figure(fig, path)
    return fig


def plot_history(history, title: str | None = None, path=None):
    """Training and validation loss (left) and accuracy (right) by epoch.

    `history`: a model's `history_` (mapping or DataFrame) with per-epoch sequences
    `train_loss`, `val_loss`, `train_acc`, `val_acc` of equal length (and `epoch`, else
    1, 2, ...); validation keys may be absent. The best validation epoch is marked, since that
    is the model the report keeps.
    """
    hist = {k: np.asarray(history[k], dtype=float) for k in CURVE_KEYS if k in history}
    if "train_loss" not in hist or len(hist["train_loss"]) == 0:
        raise ValueError("history has no 'train_loss' values to plot")
    epochs = (np.asarray(history["epoch"]) if "epoch" in history
              else np.arange(1, len(hist["train_loss"]) + 1))
    if len(epochs) != len(hist["train_loss"]):
        raise ValueError("history's 'epoch' and 'train_loss' differ in length")
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(8, 3), constrained_layout=True)
    for ax, metric, label in ((ax_loss, "loss", "cross-entropy loss"),
                              (ax_acc, "acc", "accuracy (%)")):
        for part, style in (("train", "-"), ("val", "--")):
            values = hist.get(f"{part}_{metric}")
            if values is not None and metric == "acc":
                values = 100 * values
            if values is not None and len(values) == len(epochs):
                name = "training" if part == "train" else "validation"
                ax.plot(epochs, values, style, marker="o", markersize=3, label=name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    if "val_acc" in hist and len(hist["val_acc"]) == len(epochs):
        best = int(np.nanargmax(hist["val_acc"]))
        ax_acc.axvline(epochs[best], color="grey", lw=0.8, ls=":")
        ax_acc.annotate(f"best {100 * hist['val_acc'][best]:.1f}%\n(epoch {epochs[best]})",
                        (epochs[best], 100 * hist["val_acc"][best]), textcoords="offset points",
                        xytext=(-10, -28), ha="right", fontsize=8)
    ax_loss.legend()
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_confusion(y_true, y_pred, title: str | None = None, ax=None, path=None):
    """Row-normalised confusion matrix (each row: where that class's examples went), with counts.

    Rows are true classes, columns predicted ones; the cell text is the percentage of the row.
    """
    C = confusion_matrix(y_true, y_pred)
    with np.errstate(invalid="ignore", divide="ignore"):
        P = C / C.sum(axis=1, keepdims=True)
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.2, 4.6), constrained_layout=True)
    else:
        fig = ax.figure
    ax.imshow(P, cmap="Blues", vmin=0, vmax=1)
    for i, j in np.ndindex(C.shape):
        if C[i, j]:
            ax.text(j, i, f"{100 * P[i, j]:.0f}", ha="center", va="center", fontsize=7,
                    color="white" if P[i, j] > 0.5 else "black")
    ticks = np.arange(N_CLASSES)
    ax.set_xticks(ticks, CLASS_NAMES, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(ticks, CLASS_NAMES, fontsize=8)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if title:
        ax.set_title(title, fontsize=10)
    return _save(fig, path)


def plot_per_class_accuracy(y_true, predictions: dict, path=None):
    """Grouped bars: per-class accuracy (recall) of each model in `predictions` {name: y_pred}."""
    if not predictions:
        raise ValueError("predictions is empty")
    fig, ax = plt.subplots(figsize=(8, 3), constrained_layout=True)
    width = 0.8 / len(predictions)
    ticks = np.arange(N_CLASSES)
    lows = []
    for i, (name, y_pred) in enumerate(predictions.items()):
        acc = 100 * per_class_accuracy(y_true, y_pred)
        lows.append(acc.min())
        ax.bar(ticks + (i - (len(predictions) - 1) / 2) * width, acc, width, label=name)
    ax.set_xticks(ticks, CLASS_NAMES, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("accuracy within class (%)")
    ax.set_ylim(max(0, 10 * np.floor(min(lows) / 10) - 10), 100)  # start near the lowest bar
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _save(fig, path)


def plot_misclassified(X, y_true, y_pred, n: int = 12, random_state: int = 0, per_row: int = 6,
                       path=None):
    """A random sample of `n` misclassified images, each titled 'true → predicted'.

    X: raw pixels (m, 784); y_true, y_pred: (m,). Raises ValueError if nothing is misclassified.
    """
    X, y_true, y_pred = np.asarray(X), np.asarray(y_true), np.asarray(y_pred)
    wrong = np.flatnonzero(y_true != y_pred)
    if len(wrong) == 0:
        raise ValueError("no misclassified examples to show")
    rng = np.random.default_rng(random_state)
    picked = np.sort(rng.choice(wrong, size=min(n, len(wrong)), replace=False))
    rows = -(-len(picked) // per_row)
    fig, axes = plt.subplots(rows, per_row, figsize=(1.35 * per_row, 1.6 * rows),
                             squeeze=False, constrained_layout=True)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, picked, strict=False):
        ax.imshow(X[i].reshape(IMAGE_SHAPE), cmap="gray_r", vmin=0, vmax=255)
        ax.set_title(f"{CLASS_NAMES[y_true[i]]}\n→ {CLASS_NAMES[y_pred[i]]}", fontsize=7)
    return _save(fig, path)


# --------------------------------------------------------------------------- sweeps over seeds


def _positions(values) -> tuple[dict, list[str], bool]:
    """x positions of a factor's values: log10 for positive numbers spanning a factor of 16 or
    more (10 or more beside a 0, which is drawn one decade left of the smallest, since log 0
    does not exist), the values themselves for other numbers, evenly spaced categories
    otherwise. Returns (value -> x, labels, log)."""
    vals = list(dict.fromkeys(values))
    numeric = all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
                  for v in vals)
    if not numeric:
        return {v: i for i, v in enumerate(vals)}, [str(v) for v in vals], False
    pos = [v for v in vals if v > 0]
    if len(pos) >= 2 and max(pos) / min(pos) >= (10 if len(pos) < len(vals) else 16):
        lo = np.log10(min(pos))
        where = {v: (np.log10(v) if v > 0 else lo - 1) for v in vals}
        return where, [f"{v:g}" for v in vals], True
    return {v: float(v) for v in vals}, [f"{v:g}" for v in vals], False


def plot_factor(stats, factor: str, ax=None, hue: str | None = None, x_label: str | None = None,
                baseline=None, hue_label: str | None = None, path=None):
    """Mean validation accuracy (%) ± one standard deviation over seeds against one factor.

    `stats`: `fmnist.sweeps.over_seeds` rows (columns factor, mean, sd, diverged[, hue]).
    Numbers spanning more than a factor 20 get a log axis (0 drawn one decade left of the
    smallest value); categories (e.g. activations) are drawn as separate points, not joined.
    Diverged settings are marked with an x on the axis. `baseline`: the baseline's value of
    the factor, marked by a dotted line.
    """
    standalone = ax is None
    if ax is None:
        fig, ax = plt.subplots(figsize=(3.2, 2.4), constrained_layout=True)
    else:
        fig = ax.figure
    where, labels, logx = _positions(stats[factor].tolist())
    categorical = not all(isinstance(v, (int, float, np.number)) for v in where)
    groups = stats.groupby(hue, sort=False) if hue else [(None, stats)]
    n_groups = stats[hue].nunique() if hue else 1
    marked = False  # "diverged" goes into the legend once, whichever series has one
    for i, (key, part) in enumerate(groups):
        ok = part[part["diverged"] == 0]
        # rows come in the order the settings were first trained, not in x order
        ok = ok.iloc[np.argsort([where[v] for v in ok[factor]], kind="stable")]
        shift = (i - (n_groups - 1) / 2) * 0.08 if categorical else 0.0
        xs = np.array([where[v] for v in ok[factor]]) + shift
        ax.errorbar(xs, 100 * ok["mean"], yerr=100 * ok["sd"].fillna(0), capsize=2,
                    marker="o", markersize=3.5, lw=1, ls="none" if categorical else "-",
                    label=None if hue is None else f"{hue_label or hue} {num(key)}")
        bad = part[part["diverged"] > 0]
        if len(bad):
            ax.plot([where[v] for v in bad[factor]], [0.02] * len(bad), "x", color="C3",
                    transform=ax.get_xaxis_transform(), clip_on=False,
                    label=None if marked else "diverged")
            marked = True
    ax.set_xticks(list(where.values()), labels, fontsize=7)
    if baseline is not None and baseline in where:
        ax.axvline(where[baseline], color="grey", lw=0.7, ls=":")
    if categorical:
        ax.set_xlim(-0.5, len(where) - 0.5)
    ax.set_xlabel(x_label or factor + (" (log scale)" if logx else ""), fontsize=8)
    ax.set_ylabel("validation accuracy (%)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    if hue or len(stats[stats["diverged"] > 0]):
        ax.legend(fontsize=6.5, loc="best")
    if standalone:
        ax.set_title(seeds_note([stats]), fontsize=8)
    return _save(fig, path)


def plot_factors(stats_by_factor: dict, names: dict, baselines: dict, ncols: int = 3,
                 path=None):
    """One `plot_factor` panel per factor, each with its own accuracy axis (a collapse in one
    panel, such as a learning rate that is far too large, would flatten the others)."""
    n = len(stats_by_factor)
    rows = -(-n // ncols)
    fig, axes = plt.subplots(rows, ncols, figsize=(2.45 * ncols, 2.15 * rows),
                             constrained_layout=True, squeeze=False)
    for ax, (factor, stats) in zip(axes.flat, stats_by_factor.items(), strict=False):
        plot_factor(stats, factor, ax=ax, x_label=names.get(factor, factor),
                    baseline=baselines.get(factor))
    for ax in axes.flat[n:]:
        ax.axis("off")
    for ax in axes[:, 1:].flat:
        ax.set_ylabel("")
    fig.suptitle(seeds_note(stats_by_factor.values()), fontsize=8)
    return _save(fig, path)


def seeds_note(stats_frames) -> str:
    """'mean ± sd over 3 seeds' from the `seeds` column of `over_seeds` frames (a range when
    settings had different counts)."""
    counts = sorted({int(c) for st in stats_frames if "seeds" in st for c in st["seeds"]})
    if not counts:
        return "mean ± sd over seeds"
    n = str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
    return f"mean ± sd over {n} seed{'s' if counts[-1] > 1 else ''} per setting"


def plot_curves_pair(histories: dict, path=None):
    """Training (solid) and validation (dashed) loss and accuracy of several runs by epoch,
    one colour per run: `histories` {label: history DataFrame}."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(8, 2.9), constrained_layout=True)
    for i, (label, h) in enumerate(histories.items()):
        for part, style in (("train", "-"), ("val", "--")):
            ax_loss.plot(h["epoch"], h[f"{part}_loss"], style, color=f"C{i}", lw=1.2)
            ax_acc.plot(h["epoch"], 100 * np.asarray(h[f"{part}_acc"]), style, color=f"C{i}",
                        lw=1.2, label=f"{label}, {'training' if part == 'train' else 'validation'}")
    ax_loss.set_ylabel("cross-entropy loss")
    ax_acc.set_ylabel("accuracy (%)")
    for ax in (ax_loss, ax_acc):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    ax_acc.legend(fontsize=7, loc="lower right")
    return _save(fig, path)


def plot_weight_templates(W, path=None):
    """The logistic regression's weights as ten 28 x 28 images, one per class (red: a pixel's
    ink raises that class's score, blue: lowers it); one colour scale for all ten."""
    W = np.asarray(W)
    lim = float(np.abs(W).max()) or 1.0
    fig, axes = plt.subplots(2, 5, figsize=(7.2, 3.3), constrained_layout=True)
    for k, ax in enumerate(axes.flat):
        im = ax.imshow(W[:, k].reshape(IMAGE_SHAPE), cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_title(CLASS_NAMES[k], fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=axes, shrink=0.8, label="weight")
    return _save(fig, path)


def plot_confusion_pair(y_true, predictions: dict, path=None):
    """`plot_confusion` side by side for each model {name: y_pred}."""
    fig, axes = plt.subplots(1, len(predictions), figsize=(3.9 * len(predictions), 4.1),
                             constrained_layout=True, squeeze=False)
    for ax, (name, y_pred) in zip(axes[0], predictions.items(), strict=True):
        plot_confusion(y_true, y_pred, title=name, ax=ax)
    for ax in axes[0, 1:]:
        ax.set_ylabel("")
    return _save(fig, path)
