"""The exercise's two models, with scikit-learn's conventions.

    LogisticRegression:  y_hat = softmax(W^T x + b)                      W (784, 10), b (10,)
    MLP:                 h = g(W1^T x + b1),  y_hat = softmax(W2^T h + b2)
                         W1 (784, d), b1 (d,), W2 (d, 10), b2 (10,)

Rows are examples, so in code the products read `X @ W1` with X (n, 784). Both models take raw
pixels (uint8 (n, 784), 0..255) in `fit`/`predict`/`score`, and normalise them inside with a
`Standardizer` fitted on the X given to `fit`. This module holds each model's parameters, its
forward and backward passes, and loading; what both share (hyper-parameters and their checks,
fit, predict, score, save) is `fmnist.estimator.Estimator`, whose `fit` hands the model to
`fmnist.training.fit_model`, the mini-batch loop, which knows models only through the
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
from fmnist.data import N_CLASSES, N_PIXELS, DataError, Standardizer
from fmnist.estimator import AUGMENTATIONS, LR_SCHEDULES, Estimator, _bad, _is_int

__all__ = ["LogisticRegression", "MLP", "MODELS", "load_model", "Estimator", "AUGMENTATIONS",
           "LR_SCHEDULES"]


class LogisticRegression(Estimator):
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

    def param_shapes(self, n_features: int = N_PIXELS) -> dict[str, tuple]:
        """The shape of each weight array: W (n_features, 10), b (10,)."""
        return {"W": (n_features, N_CLASSES), "b": (N_CLASSES,)}

    def init_params(self, rng: np.random.Generator, n_features: int = N_PIXELS,
                    dtype=np.float32) -> None:
        """W = 0, b = 0."""
        for k, shape in self.param_shapes(n_features).items():
            setattr(self, k, np.zeros(shape, dtype=dtype))

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

    def data_loss_grad(self, X, y, keep=None, work=None, scale=1.0):
        """(mean cross-entropy, its gradients times `scale`); see `Estimator.loss_grad`."""
        m = len(X)
        z = np.matmul(X, self.W, out=None if work is None else work["z"][:m])  # (B, 10)
        z += self.b
        loss, y_hat = F.cross_entropy_forward(z, y, out=z)                     # (B, 10)
        dz = F.cross_entropy_backward(y_hat, y, out=y_hat, scale=scale)        # (B, 10)
        gW = np.matmul(X.T, dz, out=None if work is None else work["W"])       # (784, 10)
        gb = dz.sum(axis=0, out=None if work is None else work["b"])           # (10,)
        return loss, {"W": gW, "b": gb}


class MLP(Estimator):
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
        """The hidden units a batch of m examples keeps: bool (m, d), each False with
        probability `dropout` (`F.dropout_keep`), or None when dropout is 0; drawn into
        work["keep"] when a workspace is given. `data_loss_grad` applies the mask
        r = keep / (1 - p)."""
        if not self.dropout:
            return None
        out = None if work is None else work["keep"][:m]
        return F.dropout_keep((m, self.hidden), self.dropout, rng, out=out)

    def param_shapes(self, n_features: int = N_PIXELS) -> dict[str, tuple]:
        """The shape of each weight array: W1 (n_features, d), b1 (d,), W2 (d, 10), b2 (10,)."""
        d = self.hidden
        return {"W1": (n_features, d), "b1": (d,), "W2": (d, N_CLASSES), "b2": (N_CLASSES,)}

    def init_params(self, rng: np.random.Generator, n_features: int = N_PIXELS,
                    dtype=np.float32) -> None:
        """Draw W1, W2 from `rng` (see the class docstring); zero biases."""
        _, _, gain = F.get_activation(self.activation)
        shape = self.param_shapes(n_features)
        self.W1 = (rng.standard_normal(shape["W1"]) * (gain / np.sqrt(n_features))).astype(dtype)
        self.b1 = np.zeros(shape["b1"], dtype=dtype)
        self.W2 = (rng.standard_normal(shape["W2"]) * (0.1 / np.sqrt(self.hidden))).astype(dtype)
        self.b2 = np.zeros(shape["b2"], dtype=dtype)

    def workspace(self, batch_size: int) -> dict:
        """Buffers reused by every batch: z1, h, h_drop, dh, keep (B, d), z (B, 10), the
        gradients."""
        dt, d = self.W1.dtype, self.hidden
        return {"z1": np.empty((batch_size, d), dt), "h": np.empty((batch_size, d), dt),
                "h_drop": np.empty((batch_size, d), dt), "dh": np.empty((batch_size, d), dt),
                "keep": np.empty((batch_size, d), bool),
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

    def data_loss_grad(self, X, y, keep=None, work=None, scale=1.0):
        """(mean cross-entropy, its gradients times `scale`); see `Estimator.loss_grad`. `scale`
        multiplies dz (B, 10) only, so the training loop gets lr * gradient for free.

        `keep` (B, d), bool or 0/1, are the hidden units dropout keeps (None: no dropout). The
        mask r = keep / (1 - p) is applied in two factors, as the same products with fewer
        passes over the (B, d) arrays: the 0/1 `keep` there, c = 1 / (1 - p) on the (B, 10)
        logits and dz. For ReLU, keep * g'(z1) = 1[h * keep > 0], so the backward pass needs
        no dropout step of its own.
        """
        m = len(X)
        w = (lambda k: work[k][:m]) if work is not None else (lambda k: None)
        full = (lambda k: work[k]) if work is not None else (lambda k: None)
        _, backward, _ = F.get_activation(self.activation)
        z1, h = self._hidden(X, w("z1"), w("h"))                          # (B, d)
        h_keep = (h if keep is None                                        # (B, d): h * keep
                  else F.dropout_forward(h, keep, out=w("h_drop")))
        c = h.dtype.type(1.0 if keep is None else 1.0 / (1.0 - self.dropout))
        z = np.matmul(h_keep, self.W2, out=w("z"))                         # (B, 10)
        if keep is not None:
            z *= c                                                         # (h * r) W2
        z += self.b2
        loss, y_hat = F.cross_entropy_forward(z, y, out=z)                 # (B, 10)
        dz = F.cross_entropy_backward(y_hat, y, out=y_hat, scale=scale)    # (B, 10)
        gb2 = dz.sum(axis=0, out=full("b2"))                               # (10,)
        if keep is not None:
            dz *= c                                        # (B, 10): c dz, for W2 and h
        gW2 = np.matmul(h_keep.T, dz, out=full("W2"))                      # (d, 10)
        dh = np.matmul(dz, self.W2.T, out=w("dh"))                         # (B, d)
        if keep is not None and self.activation == "relu":
            dz1 = backward(dh, z1, h_keep, out=dh)         # (B, d): 1[h * keep > 0]
        else:
            if keep is not None:
                dh = F.dropout_backward(dh, keep, out=dh)
            dz1 = backward(dh, z1, h, out=dh)      # (B, d); g' uses h before dropout
        gW1 = np.matmul(X.T, dz1, out=full("W1"))                          # (784, d)
        gb1 = dz1.sum(axis=0, out=full("b1"))                              # (d,)
        return loss, {"W1": gW1, "b1": gb1, "W2": gW2, "b2": gb2}


# model kind (the CLI's --model, the experiment cache, file names) -> estimator class
MODELS = {"logreg": LogisticRegression, "nn": MLP}
_BY_CLASS_NAME = {cls.__name__: cls for cls in MODELS.values()}


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
    cls = _BY_CLASS_NAME.get(meta.get("class"))
    if cls is None:
        raise DataError(f"{path}: unknown model class {meta.get('class')!r}")
    try:
        model = cls(**meta["hyperparams"])
        model._validate()
        model.scaler_ = Standardizer.from_dict(meta["scaler"])
    except (KeyError, TypeError, ValueError) as err:
        raise DataError(f"{path}: its metadata is incomplete or invalid "
                        f"({type(err).__name__}: {err}); save the model again") from None
    missing = set(cls._PARAMS) - set(arrays)
    if missing:
        raise DataError(f"{path}: missing weights {sorted(missing)}; save the model again")
    for k, shape in model.param_shapes().items():
        if arrays[k].shape != shape:
            raise DataError(f"{path}: {k} has shape {arrays[k].shape}, its hyper-parameters "
                            f"need {shape}; save the model again")
        setattr(model, k, arrays[k])
    if meta.get("history") is not None:
        model.history_ = meta["history"]
    if meta.get("best_epoch") is not None:
        model.best_epoch_ = meta["best_epoch"]
    return model
