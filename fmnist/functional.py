"""The math of both models, each piece a small function with its derivative beside it.

Conventions (as in CS231n): a `*_forward` function computes a value; the matching `*_backward`
takes the upstream gradient and returns the gradient w.r.t. the forward's input. Every function
works in the dtype it is given (float32 in training, float64 in the gradient checks); several
accept `out=` so the training loop can reuse preallocated buffers.

Shapes: n examples, d hidden units, k = 10 classes. Logits z (n, k), labels y int (n,).
"""

from __future__ import annotations

import math

import numpy as np

# --------------------------------------------------------------------------- softmax and loss


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of logits z (n, k) -> probabilities (n, k).

    Uses softmax(z) = softmax(z - max(z)): the largest exponent is exp(0) = 1, so nothing
    overflows, and the row sum is at least 1, so nothing divides by zero.
    """
    e = z - z.max(axis=1, keepdims=True)
    np.exp(e, out=e)
    e /= e.sum(axis=1, keepdims=True)
    return e


def log_softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax (n, k) by log-sum-exp: z - max - log(sum(exp(z - max))).

    Never takes log(0): the sum inside the log is at least 1.
    """
    s = z - z.max(axis=1, keepdims=True)
    s -= np.log(np.exp(s).sum(axis=1, keepdims=True))
    return s


def _check_labels(z: np.ndarray, y: np.ndarray) -> None:
    if z.ndim != 2 or y.shape != (z.shape[0],):
        raise ValueError(f"logits must be (n, k) and labels (n,); got {z.shape} and {y.shape}")


def cross_entropy(z: np.ndarray, y: np.ndarray) -> float:
    """Mean cross-entropy -1/n sum_i log y_hat[i, y_i] computed from logits z (n, k), y (n,)."""
    _check_labels(z, y)
    rows = np.arange(len(y))
    m = z.max(axis=1)
    lse = m + np.log(np.exp(z - m[:, None]).sum(axis=1))
    return float(np.mean(lse - z[rows, y]))


def cross_entropy_forward(z: np.ndarray, y: np.ndarray, out: np.ndarray | None = None):
    """Mean cross-entropy from logits and the softmax it needs for the backward pass.

    z (n, k) logits, y (n,) int labels -> (loss: float, y_hat (n, k)). `out` (n, k) receives
    y_hat if given (it may be z itself).
    """
    _check_labels(z, y)
    y_hat = np.subtract(z, z.max(axis=1, keepdims=True), out=out)
    rows = np.arange(len(y))
    z_y = y_hat[rows, y]  # z_y - max, a copy taken before exponentiating
    np.exp(y_hat, out=y_hat)
    sums = y_hat.sum(axis=1, keepdims=True)
    loss = float(np.mean(np.log(sums[:, 0]) - z_y))
    y_hat /= sums
    return loss, y_hat


def cross_entropy_backward(y_hat: np.ndarray, y: np.ndarray, out: np.ndarray | None = None,
                           scale: float = 1.0):
    """Gradient of the mean cross-entropy w.r.t. the logits: (y_hat - onehot(y)) / n, (n, k),
    times `scale` (the training loop passes its step size here, so every gradient computed
    from this one comes out already multiplied by it, at no cost: dz is only n x k).

    `out` may be y_hat itself (the training loop overwrites the probabilities in place).
    """
    n = len(y)
    c = y_hat.dtype.type(scale / n)
    dz = np.multiply(y_hat, c, out=out)
    dz[np.arange(n), y] -= c
    return dz


# --------------------------------------------------------------------------- activations
# forward(a) -> h;  backward(dh, a, h) -> da = dh * g'(a). The backward gets both the
# pre-activation a and the output h, and uses whichever makes g' cheapest.


def relu_forward(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """g(a) = max(a, 0).

    Against a row of zeros broadcast down the rows, not the scalar 0: NumPy's maximum with a
    scalar takes a path about 3 times slower (same values).
    """
    return np.maximum(a, np.zeros(a.shape[-1:], a.dtype), out=out)


def relu_backward(dh, a, h, out=None):
    """g'(a) = 1 where a > 0 else 0 (the subgradient 0 is used at a = 0)."""
    return np.multiply(dh, h > 0, out=out)


def leaky_relu_forward(a, out=None, slope: float = 0.01):
    """g(a) = a for a > 0, slope * a otherwise."""
    return np.maximum(a, a * a.dtype.type(slope), out=out)


def leaky_relu_backward(dh, a, h, out=None, slope: float = 0.01):
    """g'(a) = 1 for a > 0, slope otherwise."""
    return np.multiply(dh, np.where(a > 0, a.dtype.type(1), a.dtype.type(slope)), out=out)


def tanh_forward(a, out=None):
    """g(a) = tanh(a)."""
    return np.tanh(a, out=out)


def tanh_backward(dh, a, h, out=None):
    """g'(a) = 1 - tanh(a)^2 = 1 - h^2."""
    one = h.dtype.type(1)
    return np.multiply(dh, one - h * h, out=out)


def sigmoid_forward(a, out=None):
    """g(a) = 1 / (1 + exp(-a)), computed as (1 + tanh(a/2)) / 2: no overflow for any a."""
    half = a.dtype.type(0.5)
    h = np.multiply(a, half, out=out)
    np.tanh(h, out=h)
    h += 1
    h *= half
    return h


def sigmoid_backward(dh, a, h, out=None):
    """g'(a) = sigmoid(a) (1 - sigmoid(a)) = h (1 - h)."""
    one = h.dtype.type(1)
    return np.multiply(dh, h * (one - h), out=out)


_GELU_C = math.sqrt(2.0 / math.pi)


def gelu_forward(a, out=None):
    """GELU, tanh approximation: g(a) = a/2 (1 + tanh(c (a + 0.044715 a^3))), c = sqrt(2/pi)."""
    t = np.tanh(a.dtype.type(_GELU_C) * (a + a.dtype.type(0.044715) * a**3))
    t += 1
    return np.multiply(a * a.dtype.type(0.5), t, out=out)


def gelu_backward(dh, a, h, out=None):
    """g'(a) = (1 + t)/2 + a/2 (1 - t^2) c (1 + 3 * 0.044715 a^2),
    with t = tanh(c (a + 0.044715 a^3))."""
    f = a.dtype.type
    t = np.tanh(f(_GELU_C) * (a + f(0.044715) * a**3))
    g = f(0.5) * (1 + t) + f(0.5) * a * (1 - t * t) * f(_GELU_C) * (1 + f(3 * 0.044715) * a * a)
    return np.multiply(dh, g, out=out)


# name -> (forward, backward, gain for the initial weights' scale: std = gain / sqrt(fan_in))
ACTIVATIONS = {
    "relu": (relu_forward, relu_backward, math.sqrt(2.0)),
    "leaky_relu": (leaky_relu_forward, leaky_relu_backward, math.sqrt(2.0)),
    "tanh": (tanh_forward, tanh_backward, 1.0),
    "sigmoid": (sigmoid_forward, sigmoid_backward, 1.0),
    "gelu": (gelu_forward, gelu_backward, math.sqrt(2.0)),
}


def get_activation(name: str):
    """(forward, backward, gain) for an activation name; a clear error for an unknown one."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}"
        ) from None


# --------------------------------------------------------------------------- dropout


def dropout_keep(shape, p: float, rng: np.random.Generator,
                 out: np.ndarray | None = None) -> np.ndarray:
    """Boolean array (shape): False ("drop") with probability p, independently per entry.

    Each entry compares a uniform 32-bit integer u with T = round(p 2^32) (drop iff u < T; so
    the probability is p to within 2^-33, finer than a float32 uniform's 2^-24). Only the top
    8 bits of u are drawn for every entry, straight from the bit generator (one 64-bit draw
    for 8 entries, no conversion to float); they decide unless they equal T's top 8 bits,
    which happens for 1 entry in 256, and only those entries draw their remaining 24 bits.
    `out` (bool, shape) receives the result if given.
    """
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {p}")
    n = math.prod(shape)
    T = min(round(p * 2**32), 2**32 - 1)
    t_hi, t_lo = T >> 24, T & 0xFFFFFF
    bits = rng.bit_generator.random_raw(-(-n // 8)).view(np.uint8)[:n]
    keep = np.greater(bits, t_hi, out=None if out is None else out.reshape(-1))
    ties = np.flatnonzero(bits == t_hi)
    if len(ties):
        low = rng.bit_generator.random_raw(len(ties)) & np.uint64(0xFFFFFF)
        keep[ties] = low >= t_lo
    return keep.reshape(shape)


def dropout_forward(h, keep, out=None):
    """h * keep (training only), keep bool or 0/1 (`dropout_keep`). The inverted-dropout mask
    is r = keep / (1 - p): scaling the kept units keeps E[h * r] = h, so prediction uses the
    network unchanged; the caller applies the 1 / (1 - p) (`MLP.data_loss_grad`)."""
    return np.multiply(h, keep, out=out)


def dropout_backward(dh, keep, out=None):
    """d(h * keep)/dh = keep."""
    return np.multiply(dh, keep, out=out)


# --------------------------------------------------------------------------- penalties
# Only weight matrices are penalised, never biases.


def l2_penalty(W: np.ndarray, lam: float) -> float:
    """(lam / 2) * ||W||_F^2; the 1/2 makes the gradient lam * W (weight decay)."""
    return 0.5 * lam * float(np.vdot(W, W))


def l2_grad(W: np.ndarray, lam: float, out: np.ndarray | None = None) -> np.ndarray:
    """d/dW (lam / 2) ||W||^2 = lam * W."""
    return np.multiply(W, W.dtype.type(lam), out=out)


def l1_penalty(W: np.ndarray, lam: float) -> float:
    """lam * sum |W|."""
    return lam * float(np.abs(W).sum())


def l1_grad(W: np.ndarray, lam: float, out: np.ndarray | None = None) -> np.ndarray:
    """A subgradient of lam * sum |W|: lam * sign(W) (0 at W = 0)."""
    s = np.sign(W, out=out)
    s *= W.dtype.type(lam)
    return s
