"""Mini-batch gradient descent (the "Solver"): the loop, the update, the step-size schedule,
the per-epoch history, early stopping, the divergence check and data augmentation.

Like CS231n's Solver it never imports a model class: it trains any object with this interface
(both `fmnist.models` estimators have it):

    get_params() -> dict      hyper-parameters; the loop reads lr, batch_size, epochs,
                              momentum, nesterov, lr_schedule, augment, restore_best,
                              patience, random_state, verbose
    init_params(rng, dtype)   draw the initial weights from `rng`
    params -> {name: array}   the weights, updated in place by the loop
    loss_grad(Xb, yb, rng) -> (J, {name: dJ/dparam})   the objective on a batch, penalty
                              included; `rng` draws the dropout mask
    evaluate(Xs, y) -> (loss, accuracy)    on normalised inputs, dropout off

One seeded `numpy.random.Generator` (from `random_state`) drives, in order, the initial
weights, each epoch's shuffle, and per batch the augmentation and the dropout mask; so the same
seed gives the same weights and history.
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np

from fmnist.data import IMAGE_SHAPE, Standardizer

HISTORY_KEYS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds", "lr")
TRAIN_EVAL_ROWS = 10_000  # the training metrics are measured on at most this many images


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the message names the epoch and the setting to lower."""


def learning_rate(lr: float, schedule: str, epoch: int, epochs: int) -> float:
    """Step size for `epoch` (1-based): constant, or cosine from lr down towards 0."""
    if schedule == "constant":
        return float(lr)
    if schedule == "cosine":
        return float(lr) * 0.5 * (1.0 + math.cos(math.pi * (epoch - 1) / epochs))
    raise ValueError(f"unknown lr_schedule {schedule!r}; use 'constant' or 'cosine'")


def augment_batch(Xb: np.ndarray, kind: str, rng: np.random.Generator, background: float,
                  max_shift: int = 2) -> np.ndarray:
    """Randomly flip and/or shift each image of a batch, in place; returns Xb.

    Xb (m, 784) normalised images; kind "flip" (left-right, probability 1/2), "shift" (up to
    `max_shift` pixels in each direction, uniformly) or "flip+shift"; pixels shifted in take
    the value `background` (a blank raw pixel, normalised). "flip" reverses the columns of the
    chosen images only, in place; a shift is one gather for the whole batch.
    """
    m = len(Xb)
    rows_n, cols_n = IMAGE_SHAPE
    flip = rng.random(m) < 0.5 if "flip" in kind else None
    if "shift" not in kind:
        imgs = Xb.reshape(m, rows_n, cols_n)  # a view: splitting the last axis never copies
        chosen = np.flatnonzero(flip)
        imgs[chosen] = imgs[chosen, :, ::-1]
        return Xb
    r, c = np.arange(rows_n), np.arange(cols_n)
    src_r = np.broadcast_to(r, (m, rows_n))
    src_c = np.broadcast_to(c, (m, cols_n))
    if flip is not None:
        src_c = np.where(flip[:, None], c[::-1], c)
    s = max_shift
    dy, dx = rng.integers(-s, s + 1, size=(2, m))
    src_r = src_r - dy[:, None] + s
    src_c = src_c - dx[:, None] + s
    padded = np.full((m, rows_n + 2 * s, cols_n + 2 * s), background, dtype=Xb.dtype)
    padded[:, s:s + rows_n, s:s + cols_n] = Xb.reshape(m, rows_n, cols_n)
    out = padded[np.arange(m)[:, None, None], src_r[:, :, None], src_c[:, None, :]]
    Xb[...] = out.reshape(m, -1)
    return Xb


def sgd_step(params: dict, grads: dict, lr: float, velocity: dict | None = None,
             beta: float = 0.0, nesterov: bool = False) -> None:
    """One step of gradient descent, in place, on every weight array W with gradient g:

        mini-batch GD:  W -= lr g
        momentum:       v = beta v - lr g;  W += v
        Nesterov:       v = beta v - lr g;  W += beta v - lr g

    `velocity` holds v for each array (None for plain mini-batch GD).
    """
    for k, W in params.items():
        g = grads[k]
        if velocity is None:
            W -= lr * g
            continue
        v = velocity[k]
        v *= beta
        v -= lr * g
        W += beta * v - lr * g if nesterov else v


def train_epoch(model, X: np.ndarray, y: np.ndarray, rng: np.random.Generator, lr: float,
                epoch: int, velocity: dict | None = None, background: float = 0.0) -> None:
    """One reshuffled pass of mini-batch updates over normalised X (n, 784), y (n,): every
    example once, the last batch smaller when B does not divide n. Raises TrainingDiverged
    on a NaN or infinite batch loss."""
    hp = model.get_params()
    B, augment = hp["batch_size"], hp["augment"]
    perm = rng.permutation(len(X))
    for batch, start in enumerate(range(0, len(X), B), start=1):
        idx = perm[start:start + B]
        Xb, yb = X[idx], y[idx]                             # (B, 784), (B,): copies
        if augment:
            augment_batch(Xb, augment, rng, background)
        loss, grads = model.loss_grad(Xb, yb, rng)          # J and its gradients
        if not math.isfinite(loss):
            raise _diverged(epoch, batch, loss, lr)
        sgd_step(model.params, grads, lr, velocity, hp["momentum"], hp["nesterov"])


def _diverged(epoch: int, batch: int | None, loss: float, lr: float) -> TrainingDiverged:
    where = f"epoch {epoch}" + (f", batch {batch}" if batch is not None else "")
    return TrainingDiverged(
        f"training diverged at {where}: the loss became {loss}; lower the learning rate "
        f"(lr={lr:g}, --lr) and check the penalties (l2, l1)")


def format_record(rec: dict, epochs: int | None = None) -> str:
    """One line for an epoch: epoch, losses, accuracies, seconds."""
    ep = f"{rec['epoch']:>3}" + (f"/{epochs}" if epochs else "")
    val = ("" if math.isnan(rec["val_loss"]) else
           f"  val loss {rec['val_loss']:.4f} acc {rec['val_acc']:.4f}")
    return (f"epoch {ep}  train loss {rec['train_loss']:.4f} acc {rec['train_acc']:.4f}"
            f"{val}  lr {rec['lr']:.4g}  {rec['seconds']:.1f} s")


def fit_model(model, X, y, X_val=None, y_val=None, callback=None):
    """Train `model` (see the interface above) in place by mini-batch gradient descent.

    X raw pixels (n, 784) and y labels (n,), optional X_val, y_val: already validated by the
    caller (the estimator's `fit`). Fits a `Standardizer` on X (attribute `scaler_`), converts
    X to float32 once, initialises the weights, then runs up to `epochs` reshuffled passes.
    After each epoch it records in `model.history_` (lists keyed by HISTORY_KEYS): the mean
    cross-entropy WITHOUT the penalty and the accuracy on the training part with dropout off
    ("train_loss", "train_acc"; so they compare directly with "val_loss", "val_acc", NaN
    without a validation set), the step size, and the epoch's wall-clock seconds. The training
    metrics use every k-th training image, k = ceil(n / TRAIN_EVAL_ROWS): at most 10,000 images
    spread evenly over the part (all of a part that small), which saves a fifth of an epoch's
    cost on the whole training part.
    `best_epoch_` (validation only) is the epoch with the highest validation accuracy (earliest
    on ties); with `restore_best` the weights end as they were after it. With `patience` p and a
    validation set, training stops early once p epochs in a row have not beaten the best.
    Raises TrainingDiverged if a batch loss or an epoch's loss is NaN or infinite.
    """
    hp = model.get_params()
    has_val = X_val is not None
    scaler = Standardizer().fit(X)
    Xs = scaler.transform(X)                                        # (n, 784) float32
    Xv = scaler.transform(X_val) if has_val else None               # (n_val, 784)
    background = float(scaler.transform(np.zeros(1))[0])           # a blank pixel, normalised
    rng = np.random.default_rng(hp["random_state"])
    model.init_params(rng, dtype=np.float32)
    model.scaler_ = scaler
    if hasattr(model, "best_epoch_"):
        del model.best_epoch_

    n, epochs, patience = len(Xs), hp["epochs"], hp["patience"]
    stride = -(-n // TRAIN_EVAL_ROWS)
    X_eval, y_eval = Xs[::stride], y[::stride]                      # (<= 10,000, 784)
    velocity = ({k: np.zeros_like(W) for k, W in model.params.items()}
                if hp["momentum"] > 0 else None)
    history = {k: [] for k in HISTORY_KEYS}
    model.history_ = history
    best_acc, best_epoch, best_params = -1.0, None, None

    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for epoch in range(1, epochs + 1):
            t0 = time.perf_counter()
            lr = learning_rate(hp["lr"], hp["lr_schedule"], epoch, epochs)
            train_epoch(model, Xs, y, rng, lr, epoch, velocity, background)

            train_loss, train_acc = model.evaluate(X_eval, y_eval)
            if not math.isfinite(train_loss):
                raise _diverged(epoch, None, train_loss, lr)
            val_loss, val_acc = model.evaluate(Xv, y_val) if has_val else (math.nan, math.nan)
            rec = {"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc,
                   "val_loss": val_loss, "val_acc": val_acc,
                   "seconds": time.perf_counter() - t0, "lr": lr}
            for k in HISTORY_KEYS:
                history[k].append(rec[k])
            if has_val and val_acc > best_acc:
                best_acc, best_epoch = val_acc, epoch
                if hp["restore_best"]:
                    best_params = {k: W.copy() for k, W in model.params.items()}
            if hp["verbose"]:
                print(format_record(rec, epochs), file=sys.stderr, flush=True)
            if callback is not None:
                callback(epoch, rec)
            if has_val and patience is not None and epoch - best_epoch >= patience:
                break

    if has_val:
        model.best_epoch_ = best_epoch
        if best_params is not None:
            for k, W in best_params.items():
                setattr(model, k, W)
    return model
