"""The math of both models, each piece with its derivative beside it.

Conventions (CS231n's): `*_forward` computes a value; the matching `*_backward` takes the
upstream gradient and returns the gradient with respect to the forward's input. Every function
works in the dtype it is given (float32 in training, float64 in the gradient checks).

Shapes: B examples, d hidden units, 10 classes. Logits z (B, 10), labels y int (B,).
"""

from __future__ import annotations

import numpy as np

# --------------------------------------------------------------------------- softmax and loss


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of logits z (B, 10) -> probabilities y_hat (B, 10).

    softmax(z) = softmax(z - max(z)): the largest exponent is exp(0) = 1, so nothing
    overflows, and each row's sum is at least 1, so nothing divides by zero.
    """
    e = np.exp(z - z.max(axis=1, keepdims=True))       # (B, 10)
    return e / e.sum(axis=1, keepdims=True)


def cross_entropy_forward(z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of logits z (B, 10) for labels y (B,), and the softmax y_hat (B, 10)
    the backward pass needs.

    By log-sum-exp, -log y_hat[i, y_i] = log(sum_k exp(s_ik)) - s_i,y_i with s = z - max(z):
    the sum is at least 1, so the log never sees 0.
    """
    if z.ndim != 2 or y.shape != (z.shape[0],):
        raise ValueError(f"logits must be (B, k) and labels (B,); got {z.shape} and {y.shape}")
    s = z - z.max(axis=1, keepdims=True)                # (B, 10), each row's max is 0
    e = np.exp(s)
    sums = e.sum(axis=1)                                # (B,), each >= 1
    loss = float(np.mean(np.log(sums) - s[np.arange(len(y)), y]))
    return loss, e / sums[:, None]


def cross_entropy_backward(y_hat: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Gradient of the mean cross-entropy with respect to the logits: (y_hat - Y) / B, (B, 10),
    Y the one-hot labels."""
    B = len(y)
    delta = y_hat.copy()
    delta[np.arange(B), y] -= 1                         # y_hat - Y
    return delta / B


# --------------------------------------------------------------------------- activations
# forward(z) -> h = g(z);  backward(dh, h) -> dz = dh * g'(z), with g'(z) written in h.


def relu_forward(z: np.ndarray) -> np.ndarray:
    """g(z) = max(z, 0)."""
    return np.maximum(z, 0)


def relu_backward(dh: np.ndarray, h: np.ndarray) -> np.ndarray:
    """g'(z) = [z > 0] = [h > 0] (the subgradient 0 at z = 0)."""
    return dh * (h > 0)


def tanh_forward(z: np.ndarray) -> np.ndarray:
    """g(z) = tanh(z)."""
    return np.tanh(z)


def tanh_backward(dh: np.ndarray, h: np.ndarray) -> np.ndarray:
    """g'(z) = 1 - tanh(z)^2 = 1 - h^2."""
    return dh * (1 - h * h)


def sigmoid_forward(z: np.ndarray) -> np.ndarray:
    """g(z) = 1 / (1 + exp(-z)), computed as (1 + tanh(z / 2)) / 2, which never overflows."""
    return 0.5 * (1 + np.tanh(0.5 * z))


def sigmoid_backward(dh: np.ndarray, h: np.ndarray) -> np.ndarray:
    """g'(z) = sigmoid(z) (1 - sigmoid(z)) = h (1 - h)."""
    return dh * (h * (1 - h))


# name -> (forward, backward)
ACTIVATIONS = {
    "relu": (relu_forward, relu_backward),
    "tanh": (tanh_forward, tanh_backward),
    "sigmoid": (sigmoid_forward, sigmoid_backward),
}


# --------------------------------------------------------------------------- dropout


def dropout_forward(h: np.ndarray, p: float, rng: np.random.Generator):
    """Inverted dropout of the hidden units h (B, d) with rate p, in training only.

    Returns (h * r, r): r (B, d) is 0 with probability p and 1 / (1 - p) otherwise, drawn from
    `rng`. Scaling the kept units keeps E[h * r] = h, so prediction uses the network unchanged.
    """
    if not 0 <= p < 1:
        raise ValueError(f"dropout must be in [0, 1), got {p}")
    keep = rng.random(h.shape, dtype=h.dtype) >= p      # (B, d), True with probability 1 - p
    r = keep * h.dtype.type(1 / (1 - p))               # (B, d), in h's dtype
    return h * r, r


def dropout_backward(dout: np.ndarray, r: np.ndarray) -> np.ndarray:
    """d(h * r)/dh = r, so the gradient with respect to h is dout * r."""
    return dout * r


# --------------------------------------------------------------------------- penalties
# On the weight matrices only, never the biases.


def l2_penalty(W: np.ndarray, lam: float) -> float:
    """(lam / 2) ||W||^2; the 1/2 makes the gradient lam * W (weight decay)."""
    return 0.5 * lam * float(np.sum(W * W))


def l2_grad(W: np.ndarray, lam: float) -> np.ndarray:
    """d/dW (lam / 2) ||W||^2 = lam * W."""
    return lam * W


def l1_penalty(W: np.ndarray, lam: float) -> float:
    """lam * sum |W|."""
    return lam * float(np.sum(np.abs(W)))


def l1_grad(W: np.ndarray, lam: float) -> np.ndarray:
    """A subgradient of lam * sum |W|: lam * sign(W) (0 at W = 0)."""
    return lam * np.sign(W)
