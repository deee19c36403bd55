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

from fmnist._io import atomic_write  # noqa: E402
from fmnist.data import CLASS_NAMES, IMAGE_SHAPE, N_CLASSES  # noqa: E402

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
    for ax, metric, label in ((ax_loss, "loss", "cross-entropy loss"), (ax_acc, "acc", "accuracy")):
        for part, style in (("train", "-"), ("val", "--")):
            values = hist.get(f"{part}_{metric}")
            if values is not None and len(values) == len(epochs):
                name = "training" if part == "train" else "validation"
                ax.plot(epochs, values, style, marker="o", markersize=3, label=name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    if "val_acc" in hist and len(hist["val_acc"]) == len(epochs):
        best = int(np.nanargmax(hist["val_acc"]))
        ax_acc.axvline(epochs[best], color="grey", lw=0.8, ls=":")
        ax_acc.annotate(f"best {hist['val_acc'][best]:.4f}\n(epoch {epochs[best]})",
                        (epochs[best], hist["val_acc"][best]), textcoords="offset points",
                        xytext=(-10, -28), ha="right", fontsize=8)
    ax_loss.legend()
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_sweep(results, x: str, y: str = "val_acc", hue: str | None = None,
               ax=None, logx: bool | None = None, title: str | None = None,
               x_label: str | None = None, hue_label: str | None = None, path=None):
    """Metric `y` against the setting `x`, one line per value of `hue` (if given).

    `results`: a DataFrame with one row per run. Non-numeric or missing `x` values are treated
    as categories (evenly spaced); a positive numeric `x` spanning more than a factor 20 gets a
    log axis, ticked at the values tried. `x_label`, `hue_label`: names shown for `x`, `hue`.
    """
    import pandas as pd

    for col in (x, y) + ((hue,) if hue else ()):
        if col not in results.columns:
            raise ValueError(f"results have no column {col!r}; columns: {list(results.columns)}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.2, 3), constrained_layout=True)
    else:
        fig = ax.figure
    xs = results[x]
    numeric = pd.api.types.is_numeric_dtype(xs) and xs.notna().all()
    if numeric:
        if logx is None:
            pos = xs[xs > 0]
            logx = len(pos) == len(xs) and pos.max() / pos.min() > 20
        positions = {v: v for v in sorted(xs.unique())}
    else:
        order = list(dict.fromkeys(xs.astype(str)))
        positions = {v: i for i, v in enumerate(order)}
    groups = results.groupby(hue, sort=True) if hue else [(None, results)]
    for key, part in groups:
        part = part.assign(_x=part[x] if numeric else part[x].astype(str))
        part = part.groupby("_x", sort=False)[y].mean()
        part = part.loc[sorted(part.index, key=lambda v: positions[v])]
        label = None if hue is None else f"{hue_label or hue} = {key}"
        ax.plot([positions[v] for v in part.index], part.values, marker="o", label=label)
    if numeric and logx:
        ax.set_xscale("log")
        ax.minorticks_off()
        ax.set_xticks(list(positions), [f"{v:g}" for v in positions])
    if not numeric:
        ax.set_xticks(list(positions.values()), list(positions.keys()))
    ax.set_xlabel(x_label or x)
    ax.set_ylabel({"val_acc": "validation accuracy", "val_loss": "validation loss"}.get(y, y))
    ax.grid(alpha=0.3)
    if hue:
        ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return _save(fig, path)


def confusion_matrix(y_true, y_pred, n_classes: int = N_CLASSES) -> np.ndarray:
    """Counts C (n_classes, n_classes): C[i, j] = examples of true class i predicted as j."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D and equal length, got "
                         f"{y_true.shape} and {y_pred.shape}")
    return np.bincount(y_true * n_classes + y_pred,
                       minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def per_class_accuracy(y_true, y_pred, n_classes: int = N_CLASSES) -> np.ndarray:
    """Recall of each class (n_classes,): the share of its examples predicted correctly."""
    C = confusion_matrix(y_true, y_pred, n_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.diag(C) / C.sum(axis=1)


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
    for i, (name, y_pred) in enumerate(predictions.items()):
        acc = per_class_accuracy(y_true, y_pred)
        ax.bar(ticks + (i - (len(predictions) - 1) / 2) * width, acc, width, label=name)
    ax.set_xticks(ticks, CLASS_NAMES, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("accuracy within class")
    ax.set_ylim(0, 1)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
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
