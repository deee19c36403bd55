"""Mini-batch gradient descent (the "Solver"): the loop, the per-epoch history, early stopping,
the divergence check and data augmentation.

Like CS231n's Solver it never imports a model class: it trains any object with this interface
(both `fmnist.models` estimators have it):

    get_params() -> dict      hyper-parameters; the loop reads lr, batch_size, epochs, l2, l1,
                              momentum, nesterov, lr_schedule, augment, restore_best,
                              patience, random_state, verbose
    init_params(rng, n_features, dtype)    draw the initial weights from `rng`
    params -> {name: array}   the weights, updated in place by the loop
    PENALISED -> names        the weights the L2/L1 penalties apply to
    workspace(batch_size) -> dict          buffers reused by every batch ("tmp": scratch)
    sample_dropout(m, rng, work) -> keep | None   the units dropout keeps in an m-example batch
    data_loss_grad(Xb, yb, keep, work, scale) -> (mean cross-entropy, {name: scale * grad})
                              the data term only: the loop adds the penalties' gradients
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

from fmnist import functional as F
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


def mirror_source(Xs: np.ndarray) -> np.ndarray:
    """Xs (n, 784) with its left-right mirror images below: (2n, 784), row n + i is image i
    mirrored. Made once per fit, it lets `train_epoch` flip an image by gathering row n + i
    instead of row i: the "flip" augmentation then costs nothing per batch."""
    n = len(Xs)
    out = np.empty((2 * n, Xs.shape[1]), Xs.dtype)
    out[:n] = Xs
    out[n:].reshape(n, *IMAGE_SHAPE)[...] = Xs.reshape(n, *IMAGE_SHAPE)[:, :, ::-1]
    return out


_BLOCK = 1 << 17  # elements (512 KB of float32) per block of rows that _update works on


def _update(params: dict, grads: dict, velocity: dict | None, lr: float, mu: float,
            nesterov: bool, penalties: dict | None = None, tmp: np.ndarray | None = None
            ) -> None:
    """In place: plain GD  W -= lr g;  momentum  v = mu v - lr g, W += v;
    Nesterov  W += mu v_new - lr g. Overwrites the gradient buffers.

    `penalties` {name: (l2, l1)} first adds the penalty gradient l2 W + l1 sign(W) to g (as
    `Estimator.loss_grad` does). `train_epoch` passes g already multiplied by its step
    size, the coefficients too, and lr = 1, which skips the multiplication. `tmp` (at least
    as large as a block) spares allocating its temporary. Each array is processed in blocks of
    rows of about `_BLOCK` elements, every step on one block before the next, so the block's
    W, g, v stay in cache between steps instead of each step streaming the whole 784 x d
    matrix through memory. Every element sees the same operations in the same order as
    whole-array code, so the blocks change no result.
    """
    penalties = penalties or {}
    for k, W in params.items():
        g, v = grads[k], None if velocity is None else velocity[k]
        l2, l1 = penalties.get(k, (0.0, 0.0))
        if not (l2 or l1 or v is not None):  # plain GD: nothing to keep in cache
            if lr != 1:
                g *= W.dtype.type(lr)
            W -= g
            continue
        rows = max(1, _BLOCK // max(1, W[0].size)) if W.ndim > 1 else len(W)
        for s in range(0, len(W), rows):
            b = slice(s, s + rows)
            t = None
            if l2 or l1:
                size, shape = W[b].size, W[b].shape
                t = (tmp.reshape(-1)[:size].reshape(shape) if tmp is not None
                     and tmp.size >= size and tmp.dtype == W.dtype else np.empty_like(W[b]))
            _update_block(W[b], g[b], None if v is None else v[b], lr, mu, nesterov, l2, l1, t)


def _update_block(W, g, v, lr, mu, nesterov, l2, l1, t) -> None:
    f = W.dtype.type
    if l2:
        g += F.l2_grad(W, l2, out=t)
    if l1:
        g += F.l1_grad(W, l1, out=t)
    if lr != 1:  # the training loop passes lr * g and lr = 1
        g *= f(lr)
    if v is None:
        W -= g
        return
    v *= f(mu)
    v -= g
    if nesterov:
        W -= g
        W += np.multiply(v, f(mu), out=g)
    else:
        W += v


def train_epoch(model, Xs, y, rng, lr: float, epoch: int, work: dict, xb: np.ndarray,
                velocity: dict | None = None, background: float = 0.0,
                mirrored: bool = False) -> None:
    """One full reshuffled pass of mini-batch updates over normalised Xs (n, 784), y (n,).

    `work` = model.workspace(batch_size) and xb (batch_size, 784) are reused by every batch
    (the batch is gathered into xb, never into a new array); `velocity` holds the momentum
    buffers (None for plain GD). `mirrored`: Xs is `mirror_source(X)` (2n rows), and the
    "flip" augmentation gathers the mirrored rows of the images it flips; the same random
    draws, so the same batches, as flipping in place. Raises TrainingDiverged on a NaN or
    infinite batch loss.

    The penalty's gradient is added by `_update`, block by block, from `model.PENALISED` and
    the l2, l1 hyper-parameters; the model gives lr times the data term's gradients.
    """
    hp = model.get_params()
    n, bs = len(y), len(xb)
    mu, augment = float(hp["momentum"]), hp["augment"]
    if mirrored and augment != "flip":
        raise ValueError(f"a mirrored source serves the 'flip' augmentation, not {augment!r}")
    params = model.params
    penalties = {k: (lr * hp["l2"], lr * hp["l1"]) for k in model.PENALISED}
    perm = rng.permutation(n)
    for batch, start in enumerate(range(0, n, bs), start=1):
        idx = perm[start:start + bs]
        m = len(idx)
        yb = y[idx]
        if mirrored:  # flip = rng.random(m) < 0.5, as augment_batch draws it
            idx = idx + n * (rng.random(m) < 0.5)
        Xb = np.take(Xs, idx, axis=0, out=xb[:m], mode="clip")
        if augment and not mirrored:
            augment_batch(Xb, augment, rng, background)
        keep = model.sample_dropout(m, rng, work)
        # lr * the data term's gradients (lr enters through dz, B x 10, instead of a pass
        # over W1); lr * the penalty's gradient is added inside _update, block by block
        loss, steps = model.data_loss_grad(Xb, yb, keep, work, scale=lr)
        if not math.isfinite(loss):
            raise _diverged(epoch, batch, loss, lr)
        _update(params, steps, velocity, 1.0, mu, hp["nesterov"], penalties, work.get("tmp"))


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
    mirrored = hp["augment"] == "flip"
    X_src = mirror_source(Xs) if mirrored else Xs                   # (2n or n, 784)
    Xs = X_src[:len(X)]
    Xv = scaler.transform(X_val) if has_val else None               # (n_val, 784)
    background = float(scaler.transform(np.zeros(1))[0])           # a blank pixel, normalised
    rng = np.random.default_rng(hp["random_state"])
    model.init_params(rng, n_features=X.shape[1], dtype=np.float32)
    model.scaler_ = scaler
    if hasattr(model, "best_epoch_"):
        del model.best_epoch_

    n, epochs, patience = len(Xs), hp["epochs"], hp.get("patience")
    stride = -(-n // TRAIN_EVAL_ROWS)
    X_eval, y_eval = Xs[::stride], y[::stride]                      # (<= 10,000, 784)
    bs = min(hp["batch_size"], n)
    work = model.workspace(bs)
    xb = np.empty((bs, Xs.shape[1]), dtype=Xs.dtype)                # (B, 784) batch buffer
    velocity = ({k: np.zeros_like(W) for k, W in model.params.items()}
                if hp["momentum"] > 0 else None)
    history = {k: [] for k in HISTORY_KEYS}
    model.history_ = history
    best_acc, best_epoch, best_params = -1.0, None, None

    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for epoch in range(1, epochs + 1):
            t0 = time.perf_counter()
            lr = learning_rate(hp["lr"], hp["lr_schedule"], epoch, epochs)
            train_epoch(model, X_src, y, rng, lr, epoch, work, xb, velocity, background,
                        mirrored)

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
