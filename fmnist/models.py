"""The exercise's two models, with scikit-learn's conventions.

    LogisticRegression:  y_hat = softmax(W^T x + b)                      W (784, 10), b (10,)
    MLP:                 h = g(W1^T x + b1),  y_hat = softmax(W2^T h + b2)
                         W1 (784, d), b1 (d,), W2 (d, 10), b2 (10,)

Rows are examples, so in code the products read `X @ W1` with X (n, 784). Both models take raw
pixels (uint8 (n, 784), 0..255) in `fit`/`predict`/`score`, and normalise them inside with a
`Standardizer` fitted on the X given to `fit`. This module holds the hyper-parameters and their
checks, the parameters, the forward and backward passes, and saving/loading; `fit` hands the
model to `fmnist.training.fit_model`, the mini-batch loop, which knows models only through the
interface in its docstring (it never imports this module).

The objective minimised is the mean cross-entropy plus (l2 / 2) ||W||^2 + l1 ||W||_1 over the
weight matrices (never the biases); see `fmnist.functional`.
"""

from __future__ import annotations

import json
import numbers
import os
import zipfile
from pathlib import Path

import numpy as np

from fmnist import functional as F
from fmnist._io import atomic_write
from fmnist.data import N_CLASSES, N_PIXELS, DataError, Standardizer, check_X, check_y
from fmnist.training import fit_model

AUGMENTATIONS = (None, "flip", "shift", "flip+shift")
LR_SCHEDULES = ("constant", "cosine")
_EVAL_CHUNK = 8192


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _bad(p: dict, name: str, what: str):
    raise ValueError(f"{name} must be {what}, got {p[name]!r}")


class _Model:
    """What both models share: hyper-parameters, fitting, prediction, scoring, saving."""

    _PARAMS: tuple[str, ...] = ()      # names of the weight arrays, e.g. ("W", "b")
    PENALISED: tuple[str, ...] = ()   # the weight matrices the penalties apply to

    def _store(self, hyperparams: dict) -> None:
        """Keep the constructor's arguments as given (scikit-learn: validated in `fit`)."""
        self._hyper = tuple(k for k in hyperparams if k not in ("self", "__class__"))
        for k in self._hyper:
            setattr(self, k, hyperparams[k])

    def _validate(self) -> None:
        """Raise ValueError naming the first invalid hyper-parameter (the shared ones; a
        subclass adds its own)."""
        p = self.get_params()
        if not (isinstance(p["lr"], numbers.Real) and p["lr"] > 0):
            _bad(p, "lr", "a positive number")
        for name in ("batch_size", "epochs"):
            if not (_is_int(p[name]) and p[name] >= 1):
                _bad(p, name, "a positive integer")
        if not (p["patience"] is None or (_is_int(p["patience"]) and p["patience"] >= 1)):
            _bad(p, "patience", "None or a positive integer")
        for name in ("l2", "l1"):
            if not (isinstance(p[name], numbers.Real) and p[name] >= 0):
                _bad(p, name, "a number >= 0")
        if not (isinstance(p["momentum"], numbers.Real) and 0 <= p["momentum"] < 1):
            _bad(p, "momentum", "in [0, 1)")
        if p["lr_schedule"] not in LR_SCHEDULES:
            _bad(p, "lr_schedule", f"one of {LR_SCHEDULES}")
        if p["augment"] not in AUGMENTATIONS:
            _bad(p, "augment", f"one of {AUGMENTATIONS}")
        if not (p["random_state"] is None or (_is_int(p["random_state"])
                                               and p["random_state"] >= 0)):
            _bad(p, "random_state", "None or an integer >= 0")

    def get_params(self, deep: bool = True) -> dict:
        """The constructor's keyword arguments, as stored (scikit-learn convention)."""
        return {k: getattr(self, k) for k in self._hyper}

    def set_params(self, **params):
        unknown = set(params) - set(self._hyper)
        if unknown:
            raise ValueError(f"unknown hyper-parameter(s) {sorted(unknown)} for "
                             f"{type(self).__name__}; valid: {list(self._hyper)}")
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
        """Train by mini-batch gradient descent (`fmnist.training.fit_model`); returns self.

        X raw pixels (n, 784) 0..255, y int labels (n,); optional validation X_val, y_val.
        `callback(epoch, record)` is called after each epoch with that epoch's history row.
        Sets `scaler_`, the weights, `history_` (per epoch: "epoch", "train_loss",
        "train_acc", "val_loss", "val_acc", "seconds", "lr"; the losses are the mean
        cross-entropy WITHOUT the penalty, over the whole training part with dropout off) and,
        with a validation set, `best_epoch_`.
        """
        self._validate()
        X = check_X(X)
        y = check_y(y, len(X))
        if (X_val is None) != (y_val is None):
            raise ValueError("give both X_val and y_val, or neither")
        if X_val is not None:
            X_val = check_X(X_val, "X_val")
            y_val = check_y(y_val, len(X_val), "y_val")
        return fit_model(self, X, y, X_val, y_val, callback=callback)

    def sample_dropout(self, m: int, rng: np.random.Generator, work: dict | None = None):
        """The dropout mask of a batch of m examples, or None (no dropout)."""
        return None

    @property
    def n_params(self) -> int:
        """Number of learned parameters (weights and biases)."""
        self._check_fitted()
        return sum(W.size for W in self.params.values())

    # ---------------------------------------------------------------- math on normalised X
    def penalty(self) -> float:
        """(l2 / 2) sum ||W||^2 + l1 sum |W| over the weight matrices."""
        total = 0.0
        for k in self.PENALISED:
            W = getattr(self, k)
            if self.l2:
                total += F.l2_penalty(W, self.l2)
            if self.l1:
                total += F.l1_penalty(W, self.l1)
        return total

    def loss_grad(self, X, y, dropout_mask=None, work=None, penalty=True):
        """Objective and its gradients for normalised inputs X (B, 784), labels y (B,): the
        path the gradient checks test (training adds the penalty's gradient in its update).

        Returns (loss, grads): loss = mean cross-entropy + penalty (the penalty's value is
        skipped when `penalty=False`, its gradient never is), grads = {name: array shaped like
        the parameter}, in the parameters' dtype; `dropout_mask` (B, d) is the MLP's only.
        """
        loss, grads = self.data_loss_grad(X, y, dropout_mask, work)
        for k in self.PENALISED:
            W = getattr(self, k)
            if self.l2:
                grads[k] += F.l2_grad(W, self.l2)
            if self.l1:
                grads[k] += F.l1_grad(W, self.l1)
        if penalty:
            loss += self.penalty()
        return loss, grads

    def logits(self, X: np.ndarray) -> np.ndarray:
        """Logits (n, 10) for normalised inputs X (n, 784), evaluated in chunks."""
        out = np.empty((len(X), N_CLASSES), dtype=X.dtype)
        for i in range(0, len(X), _EVAL_CHUNK):
            out[i:i + _EVAL_CHUNK] = self._logits(X[i:i + _EVAL_CHUNK])
        return out

    def evaluate(self, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """(mean cross-entropy without penalty, accuracy) on normalised inputs, dropout off."""
        z = self.logits(X)
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
    the epoch with the best validation accuracy), patience (stop after that many epochs without
    a better validation accuracy; None = run all epochs), random_state, verbose (one line per
    epoch on stderr). W starts at zero (the problem is convex), so the initial loss is exactly
    ln 10.
    """

    _PARAMS = ("W", "b")
    PENALISED = ("W",)

    def __init__(self, lr: float = 0.01, batch_size: int = 128, epochs: int = 20,
                 l2: float = 1e-4, l1: float = 0.0, momentum: float = 0.0,
                 nesterov: bool = False, lr_schedule: str = "constant",
                 augment: str | None = None, restore_best: bool = False,
                 patience: int | None = None, random_state: int | None = 0,
                 verbose: bool = False):
        self._store(locals())

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

    def _logits(self, X):
        z = X @ self.W                                        # (B, 10)
        z += self.b
        return z

    def data_loss_grad(self, X, y, dropout_mask=None, work=None, scale=1.0):
        """(mean cross-entropy, its gradients times `scale`); see `_Model.loss_grad`."""
        m = len(X)
        z = np.matmul(X, self.W, out=None if work is None else work["z"][:m])  # (B, 10)
        z += self.b
        loss, y_hat = F.cross_entropy_forward(z, y, out=z)                     # (B, 10)
        dz = F.cross_entropy_backward(y_hat, y, out=y_hat, scale=scale)        # (B, 10)
        gW = np.matmul(X.T, dz, out=None if work is None else work["W"])       # (784, 10)
        gb = dz.sum(axis=0, out=None if work is None else work["b"])           # (10,)
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
    PENALISED = ("W1", "W2")

    def __init__(self, hidden: int = 256, activation: str = "relu", dropout: float = 0.0,
                 lr: float = 0.1, batch_size: int = 64, epochs: int = 20, l2: float = 1e-4,
                 l1: float = 0.0, momentum: float = 0.0, nesterov: bool = False,
                 lr_schedule: str = "constant", augment: str | None = None,
                 restore_best: bool = False, patience: int | None = None,
                 random_state: int | None = 0, verbose: bool = False):
        self._store(locals())

    def _validate(self) -> None:
        super()._validate()
        p = self.get_params()
        if not (_is_int(p["hidden"]) and p["hidden"] >= 1):
            _bad(p, "hidden", "a positive integer")
        F.get_activation(p["activation"])
        if not (isinstance(p["dropout"], numbers.Real) and 0 <= p["dropout"] < 1):
            _bad(p, "dropout", "in [0, 1)")

    def sample_dropout(self, m: int, rng: np.random.Generator, work: dict | None = None):
        """Inverted-dropout mask (m, d) for the hidden layer, or None when dropout is 0; drawn
        into work["mask"] when a workspace is given."""
        if not self.dropout:
            return None
        out = None if work is None else work["mask"][:m]
        return F.dropout_mask((m, self.hidden), self.dropout, rng, self.W1.dtype, out=out)

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
        """Buffers reused by every batch: z1, h, h_drop, dh, mask (B, d), z (B, 10), the
        gradients."""
        dt, d = self.W1.dtype, self.hidden
        return {"z1": np.empty((batch_size, d), dt), "h": np.empty((batch_size, d), dt),
                "h_drop": np.empty((batch_size, d), dt), "dh": np.empty((batch_size, d), dt),
                "mask": np.empty((batch_size, d), dt),
                "z": np.empty((batch_size, N_CLASSES), dt),
                "W1": np.empty_like(self.W1), "b1": np.empty_like(self.b1),
                "W2": np.empty_like(self.W2), "b2": np.empty_like(self.b2),
                "tmp": np.empty_like(self.W1)}

    def _hidden(self, X, z1_out=None, h_out=None):
        """z1 = X W1 + b1 and h = g(z1) for normalised X (B, 784): both (B, d)."""
        forward, _, _ = F.get_activation(self.activation)
        z1 = np.matmul(X, self.W1, out=z1_out)                 # (B, d)
        z1 += self.b1
        return z1, forward(z1, out=h_out)                     # (B, d)

    def _logits(self, X):
        _, h = self._hidden(X)
        z = h @ self.W2                                       # (B, 10)
        z += self.b2
        return z

    def data_loss_grad(self, X, y, dropout_mask=None, work=None, scale=1.0):
        """(mean cross-entropy, its gradients times `scale`); see `_Model.loss_grad`. `scale`
        multiplies dz (B, 10) only, so the training loop gets lr * gradient for free."""
        m = len(X)
        w = (lambda k: work[k][:m]) if work is not None else (lambda k: None)
        full = (lambda k: work[k]) if work is not None else (lambda k: None)
        _, backward, _ = F.get_activation(self.activation)
        z1, h = self._hidden(X, w("z1"), w("h"))                          # (B, d)
        h_drop = (h if dropout_mask is None                                # (B, d): h * mask
                  else F.dropout_forward(h, dropout_mask, out=w("h_drop")))
        z = np.matmul(h_drop, self.W2, out=w("z"))                         # (B, 10)
        z += self.b2
        loss, y_hat = F.cross_entropy_forward(z, y, out=z)                 # (B, 10)
        dz = F.cross_entropy_backward(y_hat, y, out=y_hat, scale=scale)    # (B, 10)
        gW2 = np.matmul(h_drop.T, dz, out=full("W2"))                      # (d, 10)
        gb2 = dz.sum(axis=0, out=full("b2"))                               # (10,)
        dh = np.matmul(dz, self.W2.T, out=w("dh"))                         # (B, d)
        if dropout_mask is not None:
            dh = F.dropout_backward(dh, dropout_mask, out=dh)
        dz1 = backward(dh, z1, h, out=dh)          # (B, d); g' uses h before dropout
        gW1 = np.matmul(X.T, dz1, out=full("W1"))                          # (784, d)
        gb1 = dz1.sum(axis=0, out=full("b1"))                              # (d,)
        return loss, {"W1": gW1, "b1": gb1, "W2": gW2, "b2": gb2}


# model kind (the CLI's --model, the experiment cache, file names) -> estimator class
MODELS = {"logreg": LogisticRegression, "nn": MLP}
_BY_CLASS_NAME = {cls.__name__: cls for cls in MODELS.values()}


def load_model(path: str | os.PathLike) -> _Model:
    """Load a model written by `save`; it predicts on raw pixels without the training data."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"]))
            arrays = {k: npz[k] for k in npz.files if k != "meta"}
    except FileNotFoundError:
        raise DataError(f"{path}: no such file; train and save a model first") from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise DataError(f"{path}: not a model saved by fmnist, or damaged ({err}); train and "
                        f"save it again") from None
    cls = _BY_CLASS_NAME.get(meta.get("class"))
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
