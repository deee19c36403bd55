"""The exercise's two models, with scikit-learn's conventions.

    LogisticRegression:  y_hat = softmax(W^T x + b)                      W (784, 10), b (10,)
    MLP:                 h = g(W1^T x + b1),  y_hat = softmax(W2^T h + b2)
                         W1 (784, d), b1 (d,), W2 (d, 10), b2 (10,)

Rows are examples, so the products read `X @ W1` with X (B, 784). Each model gives its forward
and backward pass (`data_loss_grad`); `Estimator` adds the penalty and what both share (its
`fit` takes raw pixels and hands the model to `fmnist.training.fit_model`).
"""

from __future__ import annotations

import json
import math
import numbers
import os
import zipfile
from pathlib import Path

import numpy as np

from fmnist import functional as F
from fmnist.data import N_CLASSES, N_PIXELS, DataError, Standardizer, atomic_write, check_X, check_y
from fmnist.training import fit_model

AUGMENTATIONS = (None, "flip", "shift", "flip+shift")
LR_SCHEDULES = ("constant", "cosine")
GAIN = {"relu": math.sqrt(2.0), "tanh": 1.0, "sigmoid": 1.0}  # W1's std is gain / sqrt(784)


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _require(ok: bool, p: dict, name: str, what: str) -> None:
    if not ok:
        raise ValueError(f"{name} must be {what}, got {p[name]!r}")


class Estimator:
    """What both models share, with scikit-learn's conventions: the constructor stores the
    hyper-parameters as given, `fit` validates them and returns self, learned state ends in `_`."""

    PENALISED: tuple[str, ...] = ()   # the weight matrices the penalties apply to

    def _store(self, hyperparams: dict) -> None:
        self._hyper = tuple(k for k in hyperparams if k not in ("self", "__class__"))
        vars(self).update({k: hyperparams[k] for k in self._hyper})

    def _validate(self) -> None:
        """Raise ValueError naming the first invalid hyper-parameter."""
        p = self.get_params()
        _require(isinstance(p["lr"], numbers.Real) and p["lr"] > 0, p, "lr", "a positive number")
        for name in ("batch_size", "epochs"):
            _require(_is_int(p[name]) and p[name] >= 1, p, name, "a positive integer")
        _require(p["patience"] is None or (_is_int(p["patience"]) and p["patience"] >= 1), p,
                 "patience", "None or a positive integer")
        for name in ("l2", "l1"):
            _require(isinstance(p[name], numbers.Real) and p[name] >= 0, p, name, "a number >= 0")
        _require(isinstance(p["momentum"], numbers.Real) and 0 <= p["momentum"] < 1, p,
                 "momentum", "in [0, 1)")
        _require(p["lr_schedule"] in LR_SCHEDULES, p, "lr_schedule", f"one of {LR_SCHEDULES}")
        _require(p["augment"] in AUGMENTATIONS, p, "augment", f"one of {AUGMENTATIONS}")
        seed = p["random_state"]
        _require(seed is None or (_is_int(seed) and seed >= 0), p, "random_state",
                 "None or an integer >= 0")

    def get_params(self, deep: bool = True) -> dict:
        """The constructor's keyword arguments, as stored."""
        return {k: getattr(self, k) for k in self._hyper}

    def set_params(self, **params):
        unknown = set(params) - set(self._hyper)
        if unknown:
            raise ValueError(f"unknown hyper-parameter(s) {sorted(unknown)} for "
                             f"{type(self).__name__}; valid: {list(self._hyper)}")
        vars(self).update(params)
        return self

    @property
    def params(self) -> dict[str, np.ndarray]:
        """The weight arrays by name (the arrays themselves, which training updates in place)."""
        return {k: getattr(self, k) for k in self.param_shapes()}

    @property
    def n_params(self) -> int:
        """Number of learned parameters (weights and biases), from the hyper-parameters."""
        return sum(math.prod(shape) for shape in self.param_shapes().values())

    def fit(self, X, y, X_val=None, y_val=None, callback=None):
        """Train on raw pixels X (n, 784), labels y (n,), optional validation X_val, y_val, by
        `fmnist.training.fit_model` (`callback(epoch, record)` after each epoch); returns self.
        Sets `scaler_`, the weights, `history_` and, with a validation set, `best_epoch_`."""
        self._validate()
        X = check_X(X)
        y = check_y(y, len(X))
        if (X_val is None) != (y_val is None):
            raise ValueError("give both X_val and y_val, or neither")
        if X_val is not None:
            X_val = check_X(X_val, "X_val")
            y_val = check_y(y_val, len(X_val), "y_val")
        return fit_model(self, X, y, X_val, y_val, callback=callback)

    def loss_grad(self, X, y, rng=None):
        """The objective J = mean cross-entropy + (l2 / 2) ||W||^2 + l1 ||W||_1 (W: the weight
        matrices, not the biases) on normalised X (B, 784), labels y (B,), and its gradients
        {name: dJ/dparam}: the data term's (`data_loss_grad`; `rng` draws the dropout mask)
        plus the penalties' (sub)gradients l2 W + l1 sign(W)."""
        loss, grads = self.data_loss_grad(X, y, rng)
        for k in self.PENALISED:
            W = getattr(self, k)
            if self.l2:
                loss += F.l2_penalty(W, self.l2)
                grads[k] += F.l2_grad(W, self.l2)
            if self.l1:
                loss += F.l1_penalty(W, self.l1)
                grads[k] += F.l1_grad(W, self.l1)
        return loss, grads

    def evaluate(self, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """(mean cross-entropy without the penalty, accuracy) on normalised X, dropout off."""
        z = self.logits(X)                                 # (n, 10)
        return F.cross_entropy_forward(z, y)[0], float(np.mean(z.argmax(axis=1) == y))

    def _check_fitted(self) -> None:
        if getattr(self, "scaler_", None) is None:
            raise RuntimeError(f"this {type(self).__name__} is not fitted; call fit(X, y) first")

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (n, 10) for raw pixels X (n, 784)."""
        self._check_fitted()
        return F.softmax(self.logits(self.scaler_.transform(check_X(X))))

    def predict(self, X) -> np.ndarray:
        """Predicted classes, int64 (n,), for raw pixels X (n, 784)."""
        self._check_fitted()
        return self.logits(self.scaler_.transform(check_X(X))).argmax(axis=1).astype(np.int64)

    def score(self, X, y) -> float:
        """Accuracy on raw pixels X (n, 784) with labels y (n,)."""
        X = check_X(X)
        return float(np.mean(self.predict(X) == check_y(y, len(X))))

    def save(self, path: str | os.PathLike) -> Path:
        """Write weights, hyper-parameters, scaler and history to one `.npz` file (atomically)."""
        self._check_fitted()
        meta = {"class": type(self).__name__, "hyperparams": self.get_params(),
                "scaler": self.scaler_.to_dict(), "history": getattr(self, "history_", None),
                "best_epoch": getattr(self, "best_epoch_", None)}
        with atomic_write(path, "wb") as f:
            np.savez(f, meta=np.array(json.dumps(meta)), **self.params)
        return Path(path)


class LogisticRegression(Estimator):
    """Multinomial logistic regression y_hat = softmax(W^T x + b); W (784, 10), b (10,).

    Hyper-parameters: lr (step size), batch_size, epochs, l2 and l1 (penalties on W), momentum
    (0: plain mini-batch GD), nesterov, lr_schedule, augment, restore_best (keep the weights of
    the best validation epoch), patience (stop after that many epochs without a better
    validation accuracy; None: never), random_state, verbose (a line per epoch on stderr).
    W starts at zero (the problem is convex), so the initial loss is ln 10.
    """

    PENALISED = ("W",)

    def __init__(self, lr: float = 0.01, batch_size: int = 128, epochs: int = 20,
                 l2: float = 1e-4, l1: float = 0.0, momentum: float = 0.0, nesterov: bool = False,
                 lr_schedule: str = "constant", augment: str | None = None,
                 restore_best: bool = False, patience: int | None = None,
                 random_state: int | None = 0, verbose: bool = False):
        self._store(locals())

    def param_shapes(self) -> dict[str, tuple]:
        return {"W": (N_PIXELS, N_CLASSES), "b": (N_CLASSES,)}

    def init_params(self, rng: np.random.Generator, dtype=np.float32) -> None:
        """W = 0, b = 0 (`rng` is not needed)."""
        self.W, self.b = np.zeros((N_PIXELS, N_CLASSES), dtype), np.zeros(N_CLASSES, dtype)

    def logits(self, X: np.ndarray) -> np.ndarray:
        """z = X W + b (n, 10) for normalised X (n, 784)."""
        return X @ self.W + self.b

    def data_loss_grad(self, X, y, rng=None):
        """Mean cross-entropy of a batch and its gradients (`rng` unused: no dropout)."""
        z = X @ self.W + self.b                            # (B, 10)
        loss, y_hat = F.cross_entropy_forward(z, y)        # (B, 10)
        delta = F.cross_entropy_backward(y_hat, y)         # (B, 10)
        dW = X.T @ delta                                   # (784, 10)
        db = delta.sum(axis=0)                             # (10,)
        return loss, {"W": dW, "b": db}


class MLP(Estimator):
    """One hidden layer: h = g(W1^T x + b1), y_hat = softmax(W2^T h + b2).

    d = `hidden`, g = `activation` ("relu", "tanh", "sigmoid"), `dropout` the probability of
    zeroing a hidden unit in training; the other hyper-parameters are `LogisticRegression`'s.
    W1 starts at N(0, gain^2 / 784) (He for ReLU, LeCun for tanh and sigmoid), W2 at
    N(0, 0.01 / d), so the first logits are small and the loss close to ln 10; biases at 0.
    """

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
        _require(_is_int(p["hidden"]) and p["hidden"] >= 1, p, "hidden", "a positive integer")
        _require(p["activation"] in F.ACTIVATIONS, p, "activation",
                 f"one of {tuple(F.ACTIVATIONS)}")
        _require(isinstance(p["dropout"], numbers.Real) and 0 <= p["dropout"] < 1, p,
                 "dropout", "in [0, 1)")

    def param_shapes(self) -> dict[str, tuple]:
        d = self.hidden
        return {"W1": (N_PIXELS, d), "b1": (d,), "W2": (d, N_CLASSES), "b2": (N_CLASSES,)}

    def init_params(self, rng: np.random.Generator, dtype=np.float32) -> None:
        """Draw W1, then W2, from `rng` (see the class docstring); zero biases."""
        d, gain = self.hidden, GAIN[self.activation]
        self.W1 = (rng.standard_normal((N_PIXELS, d)) * (gain / math.sqrt(N_PIXELS))).astype(dtype)
        self.b1 = np.zeros(d, dtype)
        self.W2 = (rng.standard_normal((d, N_CLASSES)) * (0.1 / math.sqrt(d))).astype(dtype)
        self.b2 = np.zeros(N_CLASSES, dtype)

    def logits(self, X: np.ndarray) -> np.ndarray:
        """z2 = g(X W1 + b1) W2 + b2 (n, 10) for normalised X (n, 784), dropout off."""
        g, _ = F.ACTIVATIONS[self.activation]
        return g(X @ self.W1 + self.b1) @ self.W2 + self.b2

    def data_loss_grad(self, X, y, rng=None):
        """Mean cross-entropy of a batch and its gradients by backpropagation, as the report
        derives them in batch form. `rng` draws the dropout mask r (None: no dropout)."""
        g, g_backward = F.ACTIVATIONS[self.activation]
        z1 = X @ self.W1 + self.b1                         # (B, d)
        h = g(z1)                                          # (B, d)
        h_r, r = h, None                                   # no dropout: r all ones
        if self.dropout and rng is not None:
            h_r, r = F.dropout_forward(h, self.dropout, rng)   # (B, d): h * r
        z2 = h_r @ self.W2 + self.b2                       # (B, 10)
        loss, y_hat = F.cross_entropy_forward(z2, y)       # (B, 10)
        delta2 = F.cross_entropy_backward(y_hat, y)        # (B, 10): (y_hat - Y) / B
        dW2 = h_r.T @ delta2                               # (d, 10)
        db2 = delta2.sum(axis=0)                           # (10,)
        dh = delta2 @ self.W2.T                            # (B, d): dL/d(h * r)
        if r is not None:
            dh = F.dropout_backward(dh, r)                 # (B, d): dL/dh
        delta1 = g_backward(dh, h)                         # (B, d): dh * g'(z1)
        dW1 = X.T @ delta1                                 # (784, d)
        db1 = delta1.sum(axis=0)                           # (d,)
        return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


# model kind (the CLI's --model, the experiment cache, file names) -> estimator class
MODELS = {"logreg": LogisticRegression, "nn": MLP}


def load_model(path: str | os.PathLike) -> Estimator:
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
    if not isinstance(meta, dict):
        raise DataError(f"{path}: its metadata is not a JSON object; save the model again")
    try:
        model = {c.__name__: c for c in MODELS.values()}[meta["class"]](**meta["hyperparams"])
        model._validate()
        model.scaler_ = Standardizer.from_dict(meta["scaler"])
    except (KeyError, TypeError, ValueError) as err:
        raise DataError(f"{path}: its metadata is incomplete or invalid "
                        f"({type(err).__name__}: {err}); save the model again") from None
    for k, shape in model.param_shapes().items():
        found = arrays[k].shape if k in arrays else "nothing"
        if found != shape:
            raise DataError(f"{path}: its hyper-parameters need {k} of shape {shape}, found "
                            f"{found}; save the model again")
        setattr(model, k, arrays[k])
    for attr in ("history", "best_epoch"):
        if meta.get(attr) is not None:
            setattr(model, attr + "_", meta[attr])
    return model
