"""The exercise's two models, with scikit-learn's conventions.

    LogisticRegression:  y_hat = softmax(W^T x + b)                      W (784, 10), b (10,)
    MLP:                 h = g(W1^T x + b1),  y_hat = softmax(W2^T h + b2)
                         W1 (784, d), b1 (d,), W2 (d, 10), b2 (10,)

Rows are examples, so in code the products read `X @ W1` with X (n, 784). Both models take raw
pixels (uint8 (n, 784), 0..255) in `fit`/`predict`/`score`, and normalise them inside with a
`Standardizer` fitted on the X given to `fit`. Training (mini-batch gradient descent) lives in
`fmnist.training`; this module holds the parameters, the forward and backward passes, and
saving/loading.

The objective minimised is the mean cross-entropy plus (l2 / 2) ||W||^2 + l1 ||W||_1 over the
weight matrices (never the biases); see `fmnist.functional`.
"""

from __future__ import annotations

import json
import numbers
import os
from pathlib import Path

import numpy as np

from fmnist import functional as F
from fmnist._io import atomic_write
from fmnist.data import N_CLASSES, N_PIXELS, DataError, Standardizer

AUGMENTATIONS = (None, "flip", "shift", "flip+shift")
LR_SCHEDULES = ("constant", "cosine")
_EVAL_CHUNK = 8192


def _check_hyperparams(p: dict) -> None:
    """Raise ValueError naming the first invalid hyper-parameter."""
    def bad(name, what):
        raise ValueError(f"{name} must be {what}, got {p[name]!r}")

    if not (isinstance(p["lr"], numbers.Real) and p["lr"] > 0):
        bad("lr", "a positive number")
    for name in ("batch_size", "epochs"):
        if not (isinstance(p[name], numbers.Integral) and not isinstance(p[name], bool)
                and p[name] >= 1):
            bad(name, "a positive integer")
    for name in ("l2", "l1"):
        if not (isinstance(p[name], numbers.Real) and p[name] >= 0):
            bad(name, "a number >= 0")
    if not (isinstance(p["momentum"], numbers.Real) and 0 <= p["momentum"] < 1):
        bad("momentum", "in [0, 1)")
    if p["lr_schedule"] not in LR_SCHEDULES:
        bad("lr_schedule", f"one of {LR_SCHEDULES}")
    if p["augment"] not in AUGMENTATIONS:
        bad("augment", f"one of {AUGMENTATIONS}")
    if "hidden" in p:
        if not (isinstance(p["hidden"], numbers.Integral) and p["hidden"] >= 1):
            bad("hidden", "a positive integer")
        F.get_activation(p["activation"])
        if not (isinstance(p["dropout"], numbers.Real) and 0 <= p["dropout"] < 1):
            bad("dropout", "in [0, 1)")


def check_X(X, name: str = "X") -> np.ndarray:
    """Raw pixels: a 2-D array (n, 784) of numbers in 0..255; returned as an array."""
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != N_PIXELS:
        raise ValueError(f"{name} must have shape (n, {N_PIXELS}) (raw pixels), got {X.shape}")
    if X.dtype.kind not in "uif":
        raise ValueError(f"{name} must hold numbers (raw pixels 0..255), got dtype {X.dtype}")
    if len(X) == 0:
        raise ValueError(f"{name} is empty")
    if X.dtype != np.uint8:
        lo, hi = X.min(), X.max()
        if not (np.isfinite(lo) and np.isfinite(hi)) or lo < 0 or hi > 255:
            raise ValueError(f"{name} must hold raw pixels in 0..255, found values in "
                             f"[{lo}, {hi}]")
    return X


def check_y(y, n: int, name: str = "y") -> np.ndarray:
    """Integer class labels (n,) in 0..9; returned as int64."""
    y = np.asarray(y)
    if y.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) to match X, got {y.shape}")
    if y.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integer class labels 0..9, got dtype {y.dtype}")
    if y.min() < 0 or y.max() >= N_CLASSES:
        raise ValueError(f"{name} must hold class labels 0..{N_CLASSES - 1}, found values in "
                         f"[{y.min()}, {y.max()}]")
    return y.astype(np.int64, copy=False)


class _Model:
    """What both models share: hyper-parameters, prediction, scoring, saving."""

    _PARAMS: tuple[str, ...] = ()      # names of the weight arrays, e.g. ("W", "b")
    _PENALISED: tuple[str, ...] = ()   # the weight matrices the penalties apply to

    def _store(self, hyperparams: dict) -> None:
        _check_hyperparams(hyperparams)
        self._hyper = tuple(hyperparams)
        for k, v in hyperparams.items():
            setattr(self, k, v)

    def get_params(self, deep: bool = True) -> dict:
        """The constructor's keyword arguments, as stored (scikit-learn convention)."""
        return {k: getattr(self, k) for k in self._hyper}

    def set_params(self, **params):
        unknown = set(params) - set(self._hyper)
        if unknown:
            raise ValueError(f"unknown hyper-parameter(s) {sorted(unknown)} for "
                             f"{type(self).__name__}; valid: {list(self._hyper)}")
        _check_hyperparams({**self.get_params(), **params})
        for k, v in params.items():
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    @property
    def params(self) -> dict[str, np.ndarray]:
        """The weight arrays by name (the arrays themselves, not copies)."""
        return {k: getattr(self, k) for k in self._PARAMS}

    def _check_fitted(self) -> None:
        if getattr(self, "scaler_", None) is None:
            raise RuntimeError(f"this {type(self).__name__} is not fitted; call fit(X, y) first")

    # ---------------------------------------------------------------- training entry point
    def fit(self, X, y, X_val=None, y_val=None, callback=None):
        """Train by mini-batch gradient descent; see `fmnist.training.fit_model`. Returns self.

        X raw pixels (n, 784) 0..255, y int labels (n,); optional validation X_val, y_val.
        `callback(epoch, record)` is called after each epoch with that epoch's history row.
        Sets `scaler_`, the weights, `history_` (per epoch: "epoch", "train_loss",
        "train_acc", "val_loss", "val_acc", "seconds", "lr"; the losses are the mean
        cross-entropy WITHOUT the penalty, over the whole training part with dropout off) and,
        with a validation set, `best_epoch_`.
        """
        from fmnist.training import fit_model
        return fit_model(self, X, y, X_val, y_val, callback=callback)

    # ---------------------------------------------------------------- math on normalised X
    def penalty(self) -> float:
        """(l2 / 2) sum ||W||^2 + l1 sum |W| over the weight matrices."""
        total = 0.0
        for k in self._PENALISED:
            W = getattr(self, k)
            if self.l2:
                total += F.l2_penalty(W, self.l2)
            if self.l1:
                total += F.l1_penalty(W, self.l1)
        return total

    def _add_penalty_grads(self, grads: dict, tmp: np.ndarray | None = None) -> None:
        """grads[W] += the L2 and L1 (sub)gradients, for each penalised W; `tmp` (shaped like
        the largest W) spares an allocation per batch."""
        for k in self._PENALISED:
            W, g = getattr(self, k), grads[k]
            buf = tmp if tmp is not None and tmp.shape == W.shape else None
            if self.l2:
                g += F.l2_grad(W, self.l2, out=buf)
            if self.l1:
                g += F.l1_grad(W, self.l1, out=buf)

    def loss_grad(self, Xs, y, dropout_mask=None, work=None, penalty=True):
        """Objective and its gradients for normalised inputs Xs (n, 784), labels y (n,).

        Returns (loss, grads): loss = mean cross-entropy + penalty (the penalty's value is
        skipped when `penalty=False`, its gradient never is), grads = {name: array shaped like
        the parameter}. Works in the parameters' dtype. `work` is a dict of preallocated
        buffers from `workspace()`; `dropout_mask` (n, d) is used by the MLP only.
        """
        loss, grads = self._data_loss_grad(Xs, y, dropout_mask, work)
        self._add_penalty_grads(grads, None if work is None else work.get("tmp"))
        if penalty:
            loss += self.penalty()
        return loss, grads

    def logits(self, Xs: np.ndarray) -> np.ndarray:
        """Logits (n, 10) for normalised inputs Xs (n, 784), evaluated in chunks."""
        out = np.empty((len(Xs), N_CLASSES), dtype=Xs.dtype)
        for i in range(0, len(Xs), _EVAL_CHUNK):
            out[i:i + _EVAL_CHUNK] = self._logits(Xs[i:i + _EVAL_CHUNK])
        return out

    def evaluate(self, Xs: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """(mean cross-entropy without penalty, accuracy) on normalised inputs, dropout off."""
        z = self.logits(Xs)
        return F.cross_entropy(z, y), float(np.mean(z.argmax(axis=1) == y))

    # ---------------------------------------------------------------- raw-pixel API
    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (n, 10) for raw pixels X (n, 784)."""
        self._check_fitted()
        return F.softmax(self.logits(self.scaler_.transform(check_X(X))))

    def predict(self, X) -> np.ndarray:
        """Predicted classes, int64 (n,), for raw pixels X (n, 784)."""
        self._check_fitted()
        z = self.logits(self.scaler_.transform(check_X(X)))
        return z.argmax(axis=1).astype(np.int64)

    def score(self, X, y) -> float:
        """Accuracy on raw pixels X (n, 784) with labels y (n,)."""
        X = check_X(X)
        return float(np.mean(self.predict(X) == check_y(y, len(X))))

    # ---------------------------------------------------------------- persistence
    def save(self, path: str | os.PathLike) -> Path:
        """Write weights, hyper-parameters, scaler and history to one `.npz` file (atomically)."""
        self._check_fitted()
        meta = {
            "class": type(self).__name__,
            "hyperparams": self.get_params(),
            "scaler": self.scaler_.to_dict(),
            "history": getattr(self, "history_", None),
            "best_epoch": getattr(self, "best_epoch_", None),
        }
        arrays = {k: getattr(self, k) for k in self._PARAMS}
        with atomic_write(path, "wb") as f:
            np.savez(f, meta=np.array(json.dumps(meta)), **arrays)
        return Path(path)


class LogisticRegression(_Model):
    """Multinomial logistic regression y_hat = softmax(W^T x + b); W (784, 10), b (10,).

    Hyper-parameters: lr (step size), batch_size, epochs, l2 and l1 (penalty coefficients on W),
    momentum (0 = plain mini-batch gradient descent), nesterov, lr_schedule ("constant" or
    "cosine"), augment (None, "flip", "shift", "flip+shift"), restore_best (keep the weights of
    the epoch with the best validation accuracy), random_state, verbose (one line per epoch on
    stderr). W starts at zero (the problem is convex), so the initial loss is exactly ln 10.
    """

    _PARAMS = ("W", "b")
    _PENALISED = ("W",)

    def __init__(self, lr: float = 0.01, batch_size: int = 128, epochs: int = 20,
                 l2: float = 1e-4, l1: float = 0.0, momentum: float = 0.0,
                 nesterov: bool = False, lr_schedule: str = "constant",
                 augment: str | None = None, restore_best: bool = False,
                 random_state: int | None = 0, verbose: bool = False):
        self._store(dict(lr=lr, batch_size=batch_size, epochs=epochs, l2=l2, l1=l1,
                         momentum=momentum, nesterov=nesterov, lr_schedule=lr_schedule,
                         augment=augment, restore_best=restore_best,
                         random_state=random_state, verbose=verbose))

    def init_params(self, rng: np.random.Generator, n_features: int = N_PIXELS,
                    dtype=np.float32) -> None:
        """W = 0 (n_features, 10), b = 0 (10,)."""
        self.W = np.zeros((n_features, N_CLASSES), dtype=dtype)
        self.b = np.zeros(N_CLASSES, dtype=dtype)

    def workspace(self, batch_size: int) -> dict:
        """Buffers reused by every batch: logits (batch, 10) and the gradients."""
        dt = self.W.dtype
        return {"z": np.empty((batch_size, N_CLASSES), dt),
                "W": np.empty_like(self.W), "b": np.empty_like(self.b),
                "tmp": np.empty_like(self.W)}

    def _logits(self, Xs):
        z = Xs @ self.W
        z += self.b
        return z

    def _data_loss_grad(self, Xs, y, dropout_mask, work, scale=1.0):
        """(mean cross-entropy, its gradients times `scale`); see `_Model.loss_grad`."""
        m = len(Xs)
        z = np.matmul(Xs, self.W, out=None if work is None else work["z"][:m])
        z += self.b
        loss, y_hat = F.cross_entropy_forward(z, y, out=z)
        dz = F.cross_entropy_backward(y_hat, y, out=y_hat, scale=scale)
        gW = np.matmul(Xs.T, dz, out=None if work is None else work["W"])
        gb = dz.sum(axis=0, out=None if work is None else work["b"])
        return loss, {"W": gW, "b": gb}


class MLP(_Model):
    """One hidden layer: h = g(W1^T x + b1), y_hat = softmax(W2^T h + b2).

    W1 (784, d), b1 (d,), W2 (d, 10), b2 (10,) with d = `hidden`; g = `activation` ("relu",
    "leaky_relu", "tanh", "sigmoid", "gelu"); `dropout` is the probability of zeroing a hidden
    unit during training (inverted dropout, so prediction needs no rescaling). The other
    hyper-parameters are those of `LogisticRegression`. W1 starts at N(0, gain^2 / 784) (He for
    ReLU-like g, LeCun for tanh/sigmoid), W2 at N(0, 0.01 / d) so the initial logits are small
    and the initial loss is close to ln 10; biases start at 0.
    """

    _PARAMS = ("W1", "b1", "W2", "b2")
    _PENALISED = ("W1", "W2")

    def __init__(self, hidden: int = 256, activation: str = "relu", dropout: float = 0.0,
                 lr: float = 0.1, batch_size: int = 64, epochs: int = 20, l2: float = 1e-4,
                 l1: float = 0.0, momentum: float = 0.0, nesterov: bool = False,
                 lr_schedule: str = "constant", augment: str | None = None,
                 restore_best: bool = False, random_state: int | None = 0,
                 verbose: bool = False):
        self._store(dict(hidden=hidden, activation=activation, dropout=dropout, lr=lr,
                         batch_size=batch_size, epochs=epochs, l2=l2, l1=l1,
                         momentum=momentum, nesterov=nesterov, lr_schedule=lr_schedule,
                         augment=augment, restore_best=restore_best,
                         random_state=random_state, verbose=verbose))

    def init_params(self, rng: np.random.Generator, n_features: int = N_PIXELS,
                    dtype=np.float32) -> None:
        """Draw W1, W2 from `rng` (see the class docstring); zero biases."""
        _, _, gain = F.get_activation(self.activation)
        d = self.hidden
        self.W1 = (rng.standard_normal((n_features, d)) * (gain / np.sqrt(n_features))
                   ).astype(dtype)
        self.b1 = np.zeros(d, dtype=dtype)
        self.W2 = (rng.standard_normal((d, N_CLASSES)) * (0.1 / np.sqrt(d))).astype(dtype)
        self.b2 = np.zeros(N_CLASSES, dtype=dtype)

    def workspace(self, batch_size: int) -> dict:
        """Buffers reused by every batch: a, h (batch, d), logits (batch, 10), the gradients."""
        dt, d = self.W1.dtype, self.hidden
        return {"a": np.empty((batch_size, d), dt), "h": np.empty((batch_size, d), dt),
                "hd": np.empty((batch_size, d), dt), "dh": np.empty((batch_size, d), dt),
                "z": np.empty((batch_size, N_CLASSES), dt),
                "W1": np.empty_like(self.W1), "b1": np.empty_like(self.b1),
                "W2": np.empty_like(self.W2), "b2": np.empty_like(self.b2),
                "tmp": np.empty_like(self.W1)}

    def _hidden(self, Xs, a_out=None, h_out=None):
        forward, _, _ = F.get_activation(self.activation)
        a = np.matmul(Xs, self.W1, out=a_out)
        a += self.b1
        return a, forward(a, out=h_out)

    def _logits(self, Xs):
        _, h = self._hidden(Xs, h_out=None)
        z = h @ self.W2
        z += self.b2
        return z

    def _data_loss_grad(self, Xs, y, dropout_mask, work, scale=1.0):
        """(mean cross-entropy, its gradients times `scale`); see `_Model.loss_grad`. `scale`
        multiplies dz (n x 10) only, so the training loop gets lr * gradient for free."""
        m = len(Xs)
        w = (lambda k: work[k][:m]) if work is not None else (lambda k: None)
        _, backward, _ = F.get_activation(self.activation)
        a, h = self._hidden(Xs, w("a"), w("h"))
        hd = h if dropout_mask is None else F.dropout_forward(h, dropout_mask, out=w("hd"))
        z = np.matmul(hd, self.W2, out=w("z"))
        z += self.b2
        loss, y_hat = F.cross_entropy_forward(z, y, out=z)
        dz = F.cross_entropy_backward(y_hat, y, out=y_hat, scale=scale)
        gW2 = np.matmul(hd.T, dz, out=None if work is None else work["W2"])
        gb2 = dz.sum(axis=0, out=None if work is None else work["b2"])
        dh = np.matmul(dz, self.W2.T, out=w("dh"))
        if dropout_mask is not None:
            dh = F.dropout_backward(dh, dropout_mask, out=dh)
        da = backward(dh, a, h, out=dh)
        gW1 = np.matmul(Xs.T, da, out=None if work is None else work["W1"])
        gb1 = da.sum(axis=0, out=None if work is None else work["b1"])
        return loss, {"W1": gW1, "b1": gb1, "W2": gW2, "b2": gb2}


_CLASSES = {"LogisticRegression": LogisticRegression, "MLP": MLP}


def load_model(path: str | os.PathLike) -> _Model:
    """Load a model written by `save`; it predicts on raw pixels without the training data."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"]))
            arrays = {k: npz[k] for k in npz.files if k != "meta"}
    except FileNotFoundError:
        raise DataError(f"{path}: no such file; train and save a model first") from None
    except (OSError, ValueError, KeyError) as err:
        raise DataError(f"{path}: not a model saved by fmnist ({err}); save it again with "
                        f"model.save(path)") from None
    cls = _CLASSES.get(meta.get("class"))
    if cls is None:
        raise DataError(f"{path}: unknown model class {meta.get('class')!r}")
    model = cls(**meta["hyperparams"])
    missing = set(cls._PARAMS) - set(arrays)
    if missing:
        raise DataError(f"{path}: missing weights {sorted(missing)}; save the model again")
    for k in cls._PARAMS:
        setattr(model, k, arrays[k])
    model.scaler_ = Standardizer.from_dict(meta["scaler"])
    if meta.get("history") is not None:
        model.history_ = meta["history"]
    if meta.get("best_epoch") is not None:
        model.best_epoch_ = meta["best_epoch"]
    return model
