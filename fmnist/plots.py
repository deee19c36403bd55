"""The report's figures, one function each, returning a Figure at its printed size: narrower
than the report's text (6.3 in), so printed unscaled with no text under 7 pt, legends and notes
outside the plotting area, where no curve passes. Written (PNG) only when given a `path`."""

from __future__ import annotations

import functools
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from fmnist.data import CLASS_NAMES, IMAGE_SHAPE, N_CLASSES, atomic_write
from fmnist.plans import finished
from fmnist.tables import num
from fmnist.verdicts import confusion_matrix, per_class_accuracy

WIDE = 6.0  # inches: a full-width figure; savefig pads 0.1 in each side, the text is 6.3 wide
FONT = 8  # points: ticks, labels, legends and notes; 7 is the least a printed page allows
OFF_SCALE = 10.0  # points: a sweep panel's y-axis stops this far below its best mean
BOTTOM_MARKS = {"x": "diverged", "v": f"over {OFF_SCALE:g} points below the best"}
MARKERS, HATCHES = "osD^v<>", ("", "///", "...", "xx")  # series apart in grey-scale print too
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
            ax.set(xticks=[], yticks=[])
        axes[c, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=11,
                              labelpad=8)
    fig.suptitle(f"Fashion-MNIST: {per_class} training examples of each class", fontsize=12,
                 y=1 - 0.12 / height, va="top")
    return _save(fig, path)


PARTS = {"train": ("-", "training"), "val": ("--", "validation")}


@at_print_size
def plot_curves_pair(histories: dict, path=None):
    """Loss (left) and accuracy (right) by epoch of runs {label: history}: a colour and marker
    per run (one run: a colour per part), training solid, validation dashed; legend on top."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(WIDE, 2.6), layout="constrained")
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


@at_print_size
def plot_width_dropout(stats, path=None):
    """Mean validation accuracy (%) ± one sd over seeds against the hidden size d (log 2, a tick
    at each size tried), a line and marker per dropout rate; `stats`: `over_seeds` rows of the
    grid (hidden, dropout, mean, sd, diverged, seeds). A setting with a diverged seed has no
    mean over all its seeds (`finished`): it is left out of its line."""
    stats = stats.sort_values("hidden", kind="stable")
    fig, ax = plt.subplots(figsize=(4.2, 2.6), layout="constrained")
    for i, (p, part) in enumerate(stats.groupby("dropout", sort=True)):
        ok = part[[finished(r) for _, r in part.iterrows()]]
        ax.errorbar(ok["hidden"], 100 * ok["mean"], yerr=100 * ok["sd"].fillna(0), capsize=2,
                    marker=MARKERS[i], markersize=4, lw=1, label=f"dropout {p:g}")
    sizes = sorted(stats["hidden"].unique())
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [f"{d:g}" for d in sizes])
    lo, hi = int(stats["seeds"].min()), int(stats["seeds"].max())
    n = f"{lo}" if lo == hi else f"{lo}-{hi}"
    ax.set(xlabel="hidden size d", ylabel="validation accuracy (%)",
           title=f"mean ± sd over {n} seeds per setting")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0)
    return _save(fig, path)


def _positions(values) -> tuple[dict, list[str], bool]:
    """(value -> x, labels, log) of a factor: log10 for positive numbers spanning a factor 16
    or more (10 beside a 0, drawn one decade left of the smallest: log 0 does not exist), the
    values themselves for other numbers, evenly spaced categories otherwise."""
    vals = list(dict.fromkeys(values))
    if not all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in vals):
        return {v: i for i, v in enumerate(vals)}, [str(v) for v in vals], False
    pos = [v for v in vals if v > 0]
    if len(pos) >= 2 and max(pos) / min(pos) >= (10 if len(pos) < len(vals) else 16):
        lo = np.log10(min(pos))
        where = {v: (np.log10(v) if v > 0 else lo - 1) for v in vals}
        return where, [num(v) for v in vals], True
    return {v: float(v) for v in vals}, [num(v) for v in vals], False


@at_print_size
def plot_factor(stats, factor: str, ax=None, hue: str | None = None, x_label: str | None = None,
                baseline=None, hue_label: str | None = None, path=None):
    """Mean validation accuracy (%) ± one sd over seeds against one factor (`_positions`);
    `stats`: `over_seeds` rows (columns factor, mean, sd, diverged[, hue]). The y-axis shows
    the settings within OFF_SCALE points of the best, lower ones are a ▼ at its bottom edge,
    diverged ones an x; `baseline` is dotted. Alone (no `ax`), the legend is at the right."""
    standalone = ax is None
    fig, ax = (plt.subplots(figsize=(4.2, 2.6), layout="constrained") if standalone
               else (ax.figure, ax))
    where, labels, logx = _positions(stats[factor].tolist())
    categorical = not all(isinstance(v, (int, float, np.number)) for v in where)
    groups = stats.groupby(hue, sort=False) if hue else [(None, stats)]
    n_groups = stats[hue].nunique() if hue else 1
    floor = 100 * stats.loc[stats["diverged"] == 0, "mean"].max() - OFF_SCALE
    marks = []  # (marker, x, colour): settings drawn at the bottom edge, not on the axis
    for i, (key, part) in enumerate(groups):
        ok = part[part["diverged"] == 0]
        # rows come in the order the settings were first trained, not in x order
        ok = ok.iloc[np.argsort([where[v] for v in ok[factor]], kind="stable")]
        low, shown = ok[100 * ok["mean"] < floor], ok[100 * ok["mean"] >= floor]
        shift = (i - (n_groups - 1) / 2) * 0.08 if categorical else 0.0
        bars = ax.errorbar(np.array([where[v] for v in shown[factor]]) + shift,
                           100 * shown["mean"], yerr=100 * shown["sd"].fillna(0), capsize=2,
                           marker=MARKERS[i], markersize=4, lw=1, ls="none" if categorical else "-",
                           label=None if hue is None else f"{hue_label or hue} {num(key)}")
        colour = bars.lines[0].get_color()
        marks += [("v", where[v] + shift, colour) for v in low[factor]]
        marks += [("x", where[v] + shift, colour) for v in part[part["diverged"] > 0][factor]]
    for marker, x, colour in marks:  # y in axes fractions: on the edge whatever the limits
        ax.plot(x, 0.03, marker, color=colour, transform=ax.get_xaxis_transform(), clip_on=False)
    for marker in dict.fromkeys(m for m, *_ in marks):
        ax.plot([], [], marker, color="0.3", label=BOTTOM_MARKS[marker])
    turn = 45 if len(where) > 4 else 0  # five labels do not fit side by side in a small panel
    ax.set_xticks(list(where.values()), labels, rotation=turn, ha="right" if turn else "center",
                  rotation_mode="anchor")
    if baseline is not None and baseline in where:
        ax.axvline(where[baseline], color="grey", lw=0.7, ls=":")
    if categorical:
        ax.set_xlim(-0.5, len(where) - 0.5)
    ax.set_xlabel(x_label or factor + (" (log scale)" if logx else ""))
    ax.set_ylabel("validation accuracy (%)")
    ax.grid(alpha=0.3)
    if standalone:
        ax.set_title(seeds_note([stats]))
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0)
    return _save(fig, path)


@at_print_size
def plot_factors(stats_by_factor: dict, names: dict, baselines: dict, ncols: int = 3,
                 path=None):
    """One `plot_factor` panel per factor, each with its own accuracy axis (one panel's collapse
    would flatten the others), and one legend for the marks at their bottom edges."""
    rows = -(-len(stats_by_factor) // ncols)
    fig, axes = plt.subplots(rows, ncols, figsize=(WIDE, 2.1 * rows + 0.45),
                             layout="constrained", squeeze=False)
    keys = {}
    for ax, (factor, stats) in zip(axes.flat, stats_by_factor.items(), strict=False):
        plot_factor(stats, factor, ax=ax, x_label=names.get(factor, factor),
                    baseline=baselines.get(factor))
        handles, labels = ax.get_legend_handles_labels()
        keys.update(zip(labels, handles, strict=True))
    for ax in axes.flat[len(stats_by_factor):]:
        ax.axis("off")
    for ax in axes[:, 1:].flat:
        ax.set_ylabel("")
    if keys:
        fig.legend(keys.values(), keys.keys(), loc="outside lower center", ncols=len(keys))
    fig.suptitle(seeds_note(stats_by_factor.values()))
    return _save(fig, path)


def seeds_note(stats_frames) -> str:
    """'mean ± sd over 3 seeds per setting' from `over_seeds` frames (a range if counts differ)."""
    counts = sorted({int(c) for st in stats_frames if "seeds" in st for c in st["seeds"]})
    n = f"{counts[0]}-{counts[-1]} " if len(counts) > 1 else f"{counts[0]} " if counts else ""
    return f"mean ± sd over {n}seed{'' if counts == [1] else 's'} per setting"


def plot_activations(stats, path=None):
    """Validation accuracy (%) of each activation at its best learning rate (written under
    it), mean ± sd over seeds; `stats`: `over_seeds` rows (activation, lr, mean, sd, diverged)."""
    ok = stats[stats["diverged"] == 0]
    best = ok.loc[ok.groupby("activation", sort=False)["mean"].idxmax()]
    names = [f"{a}\nlr {num(lr)}" for a, lr in zip(best["activation"], best["lr"], strict=True)]
    return plot_factor(best.assign(activation=names), "activation",
                       x_label="activation, at its best learning rate", path=path)


ZERO = "·"  # a confusion cell no image fell in (a cell under 0.5% shows "<1")


@at_print_size
def plot_confusion_pair(y_true, predictions: dict, path=None):
    """Confusion matrices side by side, one per model {name: y_pred}: cell (i, j) shows the
    percentage of class i's images predicted as j, ZERO if none (as the colour bar says)."""
    fig, axes = plt.subplots(1, len(predictions), figsize=(WIDE, 3.5), layout="constrained",
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
def plot_per_class_accuracy(y_true, predictions: dict, path=None):
    """Grouped bars from 0 to 100%: per-class accuracy (recall) of each model in `predictions`
    {name: y_pred}; the legend is above the bars."""
    if not predictions:
        raise ValueError("predictions is empty")
    fig, ax = plt.subplots(figsize=(WIDE, 2.6), layout="constrained")
    width, ticks = 0.8 / len(predictions), np.arange(N_CLASSES)
    for i, (name, y_pred) in enumerate(predictions.items()):
        acc = 100 * per_class_accuracy(y_true, y_pred)
        ax.bar(ticks + (i - (len(predictions) - 1) / 2) * width, acc, width, label=name,
               hatch=HATCHES[i], edgecolor="white")
    ax.set_xticks(ticks, CLASS_NAMES, rotation=30, ha="right", rotation_mode="anchor")
    ax.set_ylabel("accuracy within class (%)")
    ax.set_ylim(0, 100)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.02), ncols=len(predictions))
    return _save(fig, path)


@at_print_size
def plot_weight_templates(W, path=None):
    """The logistic regression's weights as ten 28 x 28 images, one per class (red: a pixel's
    ink raises that class's score, blue: lowers it); one colour scale for all ten."""
    W = np.asarray(W)
    lim = float(np.abs(W).max()) or 1.0
    fig, axes = plt.subplots(2, 5, figsize=(WIDE, 2.8), layout="constrained")
    for k, ax in enumerate(axes.flat):
        im = ax.imshow(W[:, k].reshape(IMAGE_SHAPE), cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_title(CLASS_NAMES[k])
        ax.set(xticks=[], yticks=[])
    fig.colorbar(im, ax=axes, shrink=0.8, label="weight")
    return _save(fig, path)
