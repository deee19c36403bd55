"""The report's figures, one function each, returning a Figure at its printed size: narrower
than the report's text (6.6 in), so printed unscaled with no text under 7 pt, legends and notes
outside the plotting area, where no curve passes. Written (PNG) only when given a `path`."""

from __future__ import annotations

import functools
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from fmnist.data import CLASS_NAMES, IMAGE_SHAPE, N_CLASSES, atomic_write
from fmnist.verdicts import confusion_matrix

WIDE = 6.0  # inches: a full-width figure; savefig pads 0.1 in each side, the text is 6.6 wide
FONT = 8  # points: ticks, labels, legends and notes; 7 is the least a printed page allows
MARKERS = "osD^v<>"  # series apart in grey-scale print too
STYLE = {key: FONT for key in ("font.size", "axes.labelsize", "axes.titlesize", "xtick.labelsize",
                               "ytick.labelsize", "legend.fontsize", "figure.titlesize")}


def at_print_size(plot):
    """Run a plotting function with STYLE's FONT-point text, then restore the caller's (only
    these: plt.rc_context would undo the notebook backend's switch to interactive mode)."""
    @functools.wraps(plot)
    def styled(*args, **kwargs):
        caller = {k: plt.rcParams[k] for k in STYLE}
        plt.rcParams.update(STYLE)
        try:
            fig = plot(*args, **kwargs)
        finally:
            plt.rcParams.update(caller)
        for ax in fig.axes:
            ax.tick_params(labelsize=FONT)  # tick labels made later, at draw time, skip STYLE
        return fig
    return styled


def _save(fig, path):
    """Write `fig` to `path` as PNG (atomically, 200 dpi) when a path is given; return fig."""
    if path is not None:
        with atomic_write(Path(path), "wb") as f:
            fig.savefig(f, format="png", dpi=200, bbox_inches="tight")
    return fig


@at_print_size
def plot_examples(X, y, per_class: int = 4, random_state: int = 0, path=None):
    """Part 1: a grid of 10 rows (one per class, its name the y-label of its first image) x
    `per_class` different random examples; X: raw pixels (n, 784), y: labels (n,)."""
    X, y = np.asarray(X), np.asarray(y)
    rng = np.random.default_rng(random_state)
    side, left, top = 0.42, 0.8, 0.1  # inches: image, row labels, top margin
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
            ax.set(xticks=[], yticks=[])
        axes[c, 0].set_ylabel(name, rotation=0, ha="right", va="center", labelpad=4)
    return _save(fig, path)


PARTS = {"train": ("-", "training"), "val": ("--", "validation")}


@at_print_size
def plot_curves_pair(histories: dict, path=None):
    """Loss (left) and accuracy (right) by epoch of runs {label: history}: a colour and marker
    per run (one run: a colour per part), training solid, validation dashed; legend on top."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(WIDE, 2.2), layout="constrained")
    one = len(histories) == 1
    for i, h in enumerate(histories.values()):
        epochs = h["epoch"] if "epoch" in h else np.arange(1, len(h["train_loss"]) + 1)
        for j, (part, (style, _)) in enumerate(PARTS.items()):
            for ax, metric, scale in ((ax_loss, "loss", 1), (ax_acc, "acc", 100)):
                if f"{part}_{metric}" in h:
                    ax.plot(epochs, scale * np.asarray(h[f"{part}_{metric}"], dtype=float),
                            style, color=f"C{j if one else i}", marker=MARKERS[i],
                            markersize=2.5, lw=1.2)
    for ax, label in ((ax_loss, "cross-entropy loss"), (ax_acc, "accuracy (%)")):
        ax.set(xlabel="epoch", ylabel=label)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    runs = [] if one else list(histories)
    keys = [plt.Line2D([], [], color=f"C{i}", marker=MARKERS[i]) for i in range(len(runs))]
    keys += [plt.Line2D([], [], color=f"C{j}" if one else "0.3", ls=style)
             for j, (style, _) in enumerate(PARTS.values())]
    fig.legend(keys, [*runs, *(name for _, name in PARTS.values())],
               loc="outside upper center", ncols=len(keys))
    return _save(fig, path)


@at_print_size
def plot_history(history, title: str | None = None, path=None):
    """`plot_curves_pair` of one model's `history_` (mapping or DataFrame: per-epoch `train_loss`,
    `train_acc` and, if validated, `val_loss`, `val_acc`; `epoch`, else 1, 2, ...), with the
    best validation epoch, whose model the report keeps, dotted and named above the panel."""
    if len(history.get("train_loss", [])) == 0:
        raise ValueError("history has no 'train_loss' values to plot")
    fig = plot_curves_pair({"": history})
    _, ax_acc = fig.axes
    if "val_acc" in history:
        val_acc = 100 * np.asarray(history["val_acc"], dtype=float)
        epochs = np.asarray(history.get("epoch", np.arange(1, len(val_acc) + 1)))
        best = int(np.nanargmax(val_acc))
        ax_acc.axvline(epochs[best], color="grey", lw=0.8, ls=":")
        ax_acc.annotate(f"kept: epoch {epochs[best]}, {val_acc[best]:.1f}%", (epochs[best], 1),
                        xycoords=ax_acc.get_xaxis_transform(), xytext=(0, 3),
                        textcoords="offset points", ha="center", va="bottom")
    if title:
        fig.suptitle(title)
    return _save(fig, path)


ZERO = "·"  # a confusion cell no image fell in (a cell under 0.5% shows "<1")


@at_print_size
def plot_confusion_pair(y_true, predictions: dict, path=None):
    """Confusion matrices side by side, one per model {name: y_pred}: cell (i, j) shows the
    percentage of class i's images predicted as j, ZERO if none (as the colour bar says)."""
    fig, axes = plt.subplots(1, len(predictions), figsize=(WIDE, 3.0), layout="constrained",
                             squeeze=False)
    for ax, (name, y_pred) in zip(axes[0], predictions.items(), strict=True):
        C = confusion_matrix(y_true, y_pred)
        with np.errstate(invalid="ignore", divide="ignore"):
            P = 100 * C / C.sum(axis=1, keepdims=True)  # (k, k), rows sum to 100
        im = ax.imshow(P, cmap="Blues", vmin=0, vmax=100)
        for i, j in np.ndindex(C.shape):
            text = ZERO if C[i, j] == 0 else "<1" if P[i, j] < 0.5 else f"{P[i, j]:.0f}"
            ax.text(j, i, text, ha="center", va="center", fontsize=7,
                    color="white" if P[i, j] > 50 else "black")
        ax.set_xticks(range(N_CLASSES), CLASS_NAMES, rotation=45, ha="right",
                      rotation_mode="anchor")
        ax.set_yticks(range(N_CLASSES), CLASS_NAMES if ax is axes[0, 0] else [])
        ax.set_xlabel("predicted class")
        ax.set_title(name)
    axes[0, 0].set_ylabel("true class")
    fig.colorbar(im, ax=axes[0], shrink=0.8, label=f"% of the true class's images ({ZERO} = none)")
    return _save(fig, path)


@at_print_size
def plot_weight_templates(W, path=None):
    """The logistic regression's weights as ten 28 x 28 images, one per class (red: a pixel's
    ink raises that class's score, blue: lowers it); one colour scale for all ten."""
    W = np.asarray(W)
    lim = float(np.abs(W).max()) or 1.0
    fig, axes = plt.subplots(2, 5, figsize=(WIDE, 2.3), layout="constrained")
    for k, ax in enumerate(axes.flat):
        im = ax.imshow(W[:, k].reshape(IMAGE_SHAPE), cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_title(CLASS_NAMES[k])
        ax.set(xticks=[], yticks=[])
    fig.colorbar(im, ax=axes, shrink=0.8, label="weight")
    return _save(fig, path)
