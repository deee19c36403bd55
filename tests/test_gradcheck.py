"""Central-difference gradient checks, in float64, of both models' full objective (the
`loss_grad` that training steps along: data term, penalties and dropout).

Every entry of the small arrays and 600 random entries of the large ones are perturbed (the
input has 784 features, as in the exercise; few hidden units and examples keep it fast). For
each parameter array the relative error ||a - n|| / (||a|| + ||n||) of the analytic gradient
a against the numeric n is below 1e-6 (norms over the checked entries: entrywise ratios of
gradients near 0 measure only rounding).
"""

import numpy as np
import pytest

from fmnist import functional as F
from fmnist.models import MLP, LogisticRegression

EPS = 1e-5
N = 6  # examples
MAX_ENTRIES = 600  # larger arrays are checked on this many random entries


def rel_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12)


def batch(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, 784)), rng.integers(0, 10, N)


def check(model, X, y, mask_seed=None):
    """Compare analytic and numeric gradients of the objective for every parameter entry.
    With `mask_seed`, every evaluation draws its dropout mask from a new generator with that
    seed: the same mask each time (CS231n's fixed dropout seed)."""

    def loss_grad():
        rng = None if mask_seed is None else np.random.default_rng(mask_seed)
        return model.loss_grad(X, y, rng)

    _, grads = loss_grad()
    grads = {k: g.copy() for k, g in grads.items()}
    pick = np.random.default_rng(99)
    for name, W in model.params.items():
        flat = W.reshape(-1)
        entries = (np.arange(flat.size) if flat.size <= MAX_ENTRIES
                   else pick.choice(flat.size, MAX_ENTRIES, replace=False))
        num = np.empty(len(entries))
        for j, i in enumerate(entries):
            old = flat[i]
            flat[i] = old + EPS
            lp, _ = loss_grad()
            flat[i] = old - EPS
            lm, _ = loss_grad()
            flat[i] = old
            num[j] = (lp - lm) / (2 * EPS)
        err = rel_error(grads[name].reshape(-1)[entries], num)
        assert err < 1e-6, f"{name}: relative error {err:.2e}"


def make(model, seed=1):
    model.init_params(np.random.default_rng(seed), dtype=np.float64)
    for name in ("b", "b1", "b2"):
        if hasattr(model, name):  # nonzero biases so their gradients are tested in general
            setattr(model, name, np.random.default_rng(seed + 1).standard_normal(
                getattr(model, name).shape) * 0.1)
    if hasattr(model, "W2"):
        model.W2 *= 10  # larger than the init's, so the hidden layer's gradient is not tiny
    if hasattr(model, "W"):
        model.W = np.random.default_rng(seed).standard_normal(model.W.shape) * 0.05
    return model


def away_from_zero(model):
    """Keep weights at least 1e-3 from 0, where |W| is differentiable (for the L1 check)."""
    for name in model.PENALISED:
        W = getattr(model, name)
        W[np.abs(W) < 1e-3] = 1e-3


@pytest.mark.parametrize("l2,l1", [(0.0, 0.0), (0.1, 0.0), (0.0, 0.05), (0.1, 0.05)])
def test_logistic_regression_gradients(l2, l1):
    model = make(LogisticRegression(l2=l2, l1=l1))
    if l1:
        away_from_zero(model)
    check(model, *batch())


@pytest.mark.parametrize("activation", sorted(F.ACTIVATIONS))
def test_mlp_gradients_every_activation(activation):
    check(make(MLP(hidden=5, activation=activation)), *batch(1))


@pytest.mark.parametrize("l2,l1", [(0.1, 0.0), (0.0, 0.05), (0.1, 0.05)])
def test_mlp_gradients_with_penalties(l2, l1):
    model = make(MLP(hidden=4, activation="tanh", l2=l2, l1=l1))
    if l1:
        away_from_zero(model)
    check(model, *batch(2))


@pytest.mark.parametrize("activation", sorted(F.ACTIVATIONS))
@pytest.mark.parametrize("p", [0.5, 0.3])
def test_mlp_gradients_with_dropout_fixed_mask(activation, p):
    """The objective with a fixed mask r (0 or 1 / (1 - p)), and an L2 penalty."""
    model = make(MLP(hidden=6, activation=activation, dropout=p, l2=0.01))
    X, y = batch(3)
    h = F.ACTIVATIONS[activation][0](X @ model.W1 + model.b1)
    _, r = F.dropout_forward(h, p, np.random.default_rng(7))
    assert 0 < np.count_nonzero(r) < r.size  # some units kept, some dropped
    check(model, X, y, mask_seed=7)


def test_dropout_scales_the_kept_units_by_1_over_1_minus_p():
    """The loss with dropout equals the plain network's on h * keep / (1 - p), written out."""
    model = make(MLP(hidden=6, activation="tanh", dropout=0.25, l2=0.0))
    X, y = batch(5)
    loss, _ = model.loss_grad(X, y, np.random.default_rng(4))
    h = np.tanh(X @ model.W1 + model.b1)
    keep = np.random.default_rng(4).random(h.shape) >= 0.25  # the draw dropout_forward makes
    assert 0 < np.count_nonzero(keep) < keep.size
    z2 = (h * keep / 0.75) @ model.W2 + model.b2
    assert loss == pytest.approx(F.cross_entropy_forward(z2, y)[0], rel=1e-12)
    assert model.loss_grad(X, y)[0] == pytest.approx(F.cross_entropy_forward(
        h @ model.W2 + model.b2, y)[0], rel=1e-12)  # no generator: no dropout


def test_penalties_enter_the_loss_and_only_the_weight_matrices():
    model = make(MLP(hidden=5, activation="relu", l2=0.1, l1=0.05))
    X, y = batch(6)
    loss, grads = model.loss_grad(X, y)
    data_loss, data_grads = model.data_loss_grad(X, y)
    penalty = sum(F.l2_penalty(W, 0.1) + F.l1_penalty(W, 0.05) for W in (model.W1, model.W2))
    assert loss == pytest.approx(data_loss + penalty, rel=1e-12)
    for k in ("b1", "b2"):
        np.testing.assert_array_equal(grads[k], data_grads[k])
    np.testing.assert_allclose(grads["W2"], data_grads["W2"] + 0.1 * model.W2
                               + 0.05 * np.sign(model.W2), rtol=1e-12)


def test_gradcheck_catches_a_wrong_gradient():
    """The checker itself can fail: a deliberately wrong gradient is detected."""
    model = make(LogisticRegression(l2=0.1))
    real = model.data_loss_grad

    def wrong(*args, **kwargs):
        loss, grads = real(*args, **kwargs)
        grads["W"] *= 1.001
        return loss, grads

    model.data_loss_grad = wrong
    with pytest.raises(AssertionError, match="W: relative error"):
        check(model, *batch())
