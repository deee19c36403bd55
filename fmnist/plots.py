"""The report's figures, one function each, returning a Figure; `python -m fmnist figure`.

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
from fmnist.data import CLASS_NAMES, IMAGE_SHAPE, N_CLASSES, default_data_dir, load_train  # noqa: E402

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
    fig, axes = plt.subplots(N_CLASSES, per_class, figsize=(1.2 * per_class + 1.4, 12.5),
                             squeeze=False)
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
    fig.suptitle(f"Fashion-MNIST: {per_class} training examples of each class", fontsize=12)
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    if path is not None:
        save_figure(fig, path)
    return fig


def add_arguments(parser) -> None:
    parser.add_argument("--out", default="figures/examples.png", help="PNG file to write")
    parser.add_argument("--data-dir", default=None,
                        help="where train.csv lives (default: $FMNIST_DATA_DIR or ./data)")
    parser.add_argument("--seed", type=int, default=0, help="which examples to draw")


def run(args) -> int:
    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    X, y = load_train(data_dir / "train.csv")
    fig = plot_examples(X, y, random_state=args.seed, path=args.out)
    plt.close(fig)
    print(f"wrote {args.out}")
    return 0
