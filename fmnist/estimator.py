"""The base both models share, with scikit-learn's conventions: the constructor stores the
hyper-parameters as given, `fit` validates them and returns self, learned state ends in `_`.

It holds the hyper-parameters and their checks, fitting (handed to
`fmnist.training.fit_model`), prediction and scoring on raw pixels, the objective with its
penalty, and saving; each model (`fmnist.models`) adds its parameters, forward and backward
passes.
"""

from __future__ import annotations

import json
import numbers
import os
from pathlib import Path

import numpy as np

from fmnist import functional as F
from fmnist.data import N_CLASSES, atomic_write, check_X, check_y
from fmnist.training import fit_model

AUGMENTATIONS = (None, "flip", "shift", "flip+shift")
LR_SCHEDULES = ("constant", "cosine")
_EVAL_CHUNK = 8192


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _bad(p: dict, name: str, what: str):
    raise ValueError(f"{name} must be {what}, got {p[name]!r}")


class Estimator:
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
        cross-entropy WITHOUT the penalty, with dropout off, the training ones on at most
        10,000 training images spread over the part) and, with a validation set,
        `best_epoch_`.
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
        """Which hidden units a batch of m examples keeps, or None (no dropout)."""
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

    def loss_grad(self, X, y, keep=None, work=None, penalty=True):
        """Objective and its gradients for normalised inputs X (B, 784), labels y (B,): the
        path the gradient checks test (training adds the penalty's gradient in its update).

        Returns (loss, grads): loss = mean cross-entropy + penalty (the penalty's value is
        skipped when `penalty=False`, its gradient never is), grads = {name: array shaped like
        the parameter}, in the parameters' dtype; `keep` (B, d), the hidden units dropout
        keeps, is the MLP's only.
        """
        loss, grads = self.data_loss_grad(X, y, keep, work)
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
