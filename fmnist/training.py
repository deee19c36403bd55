"""Mini-batch gradient descent for both models, the per-epoch history, the divergence check,
data augmentation, and the `python -m fmnist train` command.

One seeded `numpy.random.Generator` (from the model's `random_state`) drives, in order, the
initial weights, each epoch's shuffle, and per batch the augmentation and the dropout mask; so
the same seed gives the same weights and history.
"""

from __future__ import annotations

import argparse
import inspect
import math
import os
import sys
import time

import numpy as np

from fmnist import functional as F
from fmnist.data import IMAGE_SHAPE, Standardizer

HISTORY_KEYS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds", "lr")


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


_BLOCK = 1 << 17  # elements (512 KB of float32) per block of rows that _update works on


def _update(params: dict, grads: dict, velocity: dict | None, lr: float, mu: float,
            nesterov: bool, penalties: dict | None = None, tmp: np.ndarray | None = None
            ) -> None:
    """In place: plain GD  W -= lr g;  momentum  v = mu v - lr g, W += v;
    Nesterov  W += mu v_new - lr g. Overwrites the gradient buffers.

    `penalties` {name: (l2, l1)} first adds the penalty gradient l2 W + l1 sign(W) to g (as
    `_Model._add_penalty_grads` does). `train_epoch` passes g already multiplied by its step
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
                velocity: dict | None = None, background: float = 0.0) -> None:
    """One full reshuffled pass of mini-batch updates over normalised Xs (n, 784), y (n,).

    `work` = model.workspace(batch_size) and xb (batch_size, 784) are reused by every batch
    (the batch is gathered into xb, never into a new array); `velocity` holds the momentum
    buffers (None for plain GD). Raises TrainingDiverged on a NaN or infinite batch loss.

    What it uses of the model: `get_params()` (dropout, momentum, nesterov, augment, l2, l1),
    `params`, `_PENALISED`, `hidden` (with dropout), and `_data_loss_grad(Xb, yb, mask, work,
    scale=lr)`, which returns the batch's mean cross-entropy and lr times its gradients; the
    penalty's gradient is added by `_update`, not by the model's `loss_grad`.
    """
    hp = model.get_params()
    n, bs = len(Xs), len(xb)
    p_drop = float(hp.get("dropout", 0.0))
    mu, augment = float(hp["momentum"]), hp["augment"]
    params = model.params
    penalties = {k: (lr * hp["l2"], lr * hp["l1"]) for k in model._PENALISED}
    mask_buf = np.empty((bs, model.hidden), Xs.dtype) if p_drop > 0 else None
    perm = rng.permutation(n)
    for batch, start in enumerate(range(0, n, bs), start=1):
        idx = perm[start:start + bs]
        m = len(idx)
        Xb = np.take(Xs, idx, axis=0, out=xb[:m], mode="clip")
        yb = y[idx]
        if augment:
            augment_batch(Xb, augment, rng, background)
        mask = (F.dropout_mask((m, model.hidden), p_drop, rng, Xs.dtype, out=mask_buf[:m])
                if p_drop > 0 else None)
        # lr * the data term's gradients (lr enters through dz, 128 x 10, instead of a pass
        # over W1); lr * the penalty's gradient is added inside _update, block by block
        loss, steps = model._data_loss_grad(Xb, yb, mask, work, scale=lr)
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
    """Train `model` (a `fmnist.models` model) in place by mini-batch gradient descent.

    Fits a `Standardizer` on X (attribute `scaler_`), converts X to float32 once, initialises
    the weights, then runs `epochs` full reshuffled passes. After each epoch it records in
    `model.history_` (lists keyed by HISTORY_KEYS): the mean cross-entropy WITHOUT the penalty
    and the accuracy over the whole training part with dropout off ("train_loss",
    "train_acc"; so they compare directly with "val_loss", "val_acc", NaN without a validation
    set), the step size, and the epoch's wall-clock seconds including that evaluation.
    `best_epoch_` (validation only) is the epoch with the highest validation accuracy
    (earliest on ties); with `restore_best` the weights end as they were after it.
    Raises TrainingDiverged if a batch loss or an epoch's loss is NaN or infinite.
    """
    from fmnist.models import _check_hyperparams, check_X, check_y

    hp = model.get_params()
    _check_hyperparams(hp)
    X = check_X(X)
    y = check_y(y, len(X))
    if (X_val is None) != (y_val is None):
        raise ValueError("give both X_val and y_val, or neither")
    has_val = X_val is not None
    if has_val:
        X_val = check_X(X_val, "X_val")
        y_val = check_y(y_val, len(X_val), "y_val")

    scaler = Standardizer().fit(X)
    Xs = scaler.transform(X)
    Xv = scaler.transform(X_val) if has_val else None
    background = float(scaler.transform(np.zeros(1))[0])
    rng = np.random.default_rng(model.random_state)
    model.init_params(rng, n_features=X.shape[1], dtype=np.float32)
    model.scaler_ = scaler
    if hasattr(model, "best_epoch_"):
        del model.best_epoch_

    n, epochs = len(Xs), hp["epochs"]
    bs = min(hp["batch_size"], n)
    work = model.workspace(bs)
    xb = np.empty((bs, Xs.shape[1]), dtype=Xs.dtype)
    velocity = ({k: np.zeros_like(W) for k, W in model.params.items()}
                if hp["momentum"] > 0 else None)
    history = {k: [] for k in HISTORY_KEYS}
    model.history_ = history
    best_acc, best_epoch, best_params = -1.0, None, None

    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for epoch in range(1, epochs + 1):
            t0 = time.perf_counter()
            lr = learning_rate(hp["lr"], hp["lr_schedule"], epoch, epochs)
            train_epoch(model, Xs, y, rng, lr, epoch, work, xb, velocity, background)

            train_loss, train_acc = model.evaluate(Xs, y)
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

    if has_val:
        model.best_epoch_ = best_epoch
        if best_params is not None:
            for k, W in best_params.items():
                setattr(model, k, W)
    return model


# ------------------------------------------------------------------------------- the CLI

_SHARED = ("lr", "batch_size", "epochs", "l2", "l1", "momentum", "lr_schedule", "augment")
_NN_ONLY = ("hidden", "activation", "dropout")


def _defaults(cls) -> dict:
    return {k: p.default for k, p in inspect.signature(cls).parameters.items()}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `python -m fmnist train`; model defaults come from the constructors."""
    from fmnist.functional import ACTIVATIONS
    from fmnist.models import LR_SCHEDULES, MLP, LogisticRegression

    nn, lr = _defaults(MLP), _defaults(LogisticRegression)

    def both(name):
        a, b = nn[name], lr[name]
        return f"default: {a}" if a == b else f"default: {a} for nn, {b} for lr"

    S = argparse.SUPPRESS
    parser.add_argument("--model", choices=("lr", "nn"), default="nn",
                        help="lr = logistic regression, nn = one-hidden-layer network")
    parser.add_argument("--hidden", type=int, default=S,
                        help=f"hidden units d (nn only; default: {nn['hidden']})")
    parser.add_argument("--activation", choices=tuple(ACTIVATIONS), default=S,
                        help=f"hidden activation g (nn only; default: {nn['activation']})")
    parser.add_argument("--dropout", type=float, default=S,
                        help=f"dropout probability on the hidden layer (nn only; default: "
                             f"{nn['dropout']})")
    parser.add_argument("--lr", type=float, default=S, help=f"learning rate ({both('lr')})")
    parser.add_argument("--batch-size", type=int, default=S,
                        help=f"mini-batch size ({both('batch_size')})")
    parser.add_argument("--epochs", type=int, default=S, help=f"epochs ({both('epochs')})")
    parser.add_argument("--l2", type=float, default=S,
                        help=f"L2 coefficient, penalty l2/2 ||W||^2 ({both('l2')})")
    parser.add_argument("--l1", type=float, default=S,
                        help=f"L1 coefficient, penalty l1 ||W||_1 ({both('l1')})")
    parser.add_argument("--momentum", type=float, default=S,
                        help=f"momentum, 0 = plain mini-batch GD ({both('momentum')})")
    parser.add_argument("--nesterov", action="store_true", default=S,
                        help="use Nesterov momentum (default: off)")
    parser.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=S,
                        help=f"learning-rate schedule over epochs ({both('lr_schedule')})")
    parser.add_argument("--augment", choices=("none", "flip", "shift", "flip+shift"),
                        default=S, help="random training-batch augmentation (default: none)")
    parser.add_argument("--restore-best", action="store_true", default=S,
                        help="end with the weights of the best validation epoch (default: off)")
    parser.add_argument("--val-fraction", type=float, default=0.1,
                        help="fraction of train.csv held out for validation")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the split, the initial weights, shuffling and dropout")
    parser.add_argument("--train", metavar="CSV", default=S,
                        help="training file (default: data/train.csv)")
    parser.add_argument("--test", metavar="CSV", default=S,
                        help="test file for --out (default: data/test.csv)")
    parser.add_argument("--out", metavar="FILE", default=S,
                        help="write test predictions here, one integer per line "
                             "(default: none written)")
    parser.add_argument("--save", metavar="NPZ", default=S,
                        help="save the trained model: weights, settings, scaler, history "
                             "(default: not saved)")


def build_model(args: argparse.Namespace):
    """The model that `args` (parsed `train` options) describe; unset options keep defaults."""
    from fmnist.models import MLP, LogisticRegression

    kwargs = {k: getattr(args, k) for k in _SHARED if hasattr(args, k)}
    if kwargs.get("augment") == "none":
        kwargs["augment"] = None
    for flag in ("nesterov", "restore_best"):
        if getattr(args, flag, False):
            kwargs[flag] = True
    nn_given = [k for k in _NN_ONLY if hasattr(args, k)]
    if args.model == "lr":
        if nn_given:
            raise ValueError(f"--{nn_given[0]} applies to --model nn only")
        return LogisticRegression(random_state=args.seed, **kwargs)
    kwargs.update({k: getattr(args, k) for k in nn_given})
    return MLP(random_state=args.seed, **kwargs)


def run(args: argparse.Namespace) -> int:
    """Train one model on train.csv's training part, report each epoch, optionally predict."""
    from fmnist._io import write_predictions
    from fmnist.data import load_test, load_train, train_val_split

    try:
        model = build_model(args)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    X, y = load_train(getattr(args, "train", None))
    X_tr, X_val, y_tr, y_val = train_val_split(X, y, args.val_fraction, args.seed)
    if os.environ.get("FMNIST_QUICK") == "1":
        X_tr, y_tr = X_tr[:5000], y_tr[:5000]
        model.set_params(epochs=min(model.epochs, 2))
        print("quick mode (FMNIST_QUICK=1): 5000 training examples, at most 2 epochs",
              file=sys.stderr)
    print(f"{model!r}\ntraining on {len(X_tr)} examples, validating on {len(X_val)}",
          flush=True)

    def show(epoch, rec):
        print(format_record(rec, model.epochs), flush=True)

    t0 = time.perf_counter()
    model.fit(X_tr, y_tr, X_val, y_val, callback=show)
    h = model.history_
    print(f"validation accuracy {model.score(X_val, y_val):.4f} (best epoch {model.best_epoch_}: "
          f"{max(h['val_acc']):.4f}), {time.perf_counter() - t0:.1f} s in all", flush=True)
    if getattr(args, "save", None):
        print(f"saved the model to {model.save(args.save)}")
    if getattr(args, "out", None):
        X_test = load_test(getattr(args, "test", None))
        path = write_predictions(args.out, model.predict(X_test))
        print(f"wrote test predictions to {path}")
    return 0
