"""The math in fmnist.functional: values against direct formulas, stability, derivatives."""

import math

import numpy as np
import pytest

from fmnist import functional as F


def numeric_derivative(f, a, eps=1e-6):
    """Elementwise central difference of an elementwise function f at a (float64)."""
    return (f(a + eps) - f(a - eps)) / (2 * eps)


def test_softmax_matches_definition_and_sums_to_one():
    z = np.random.default_rng(0).standard_normal((5, 10))
    expected = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(F.softmax(z), expected, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_and_loss_stable_at_extreme_logits(dtype):
    z = np.array([[1e4, -1e4, 0, 1e4 - 1, -5, 3, 2, 1, 0, -1e4],
                  [-1e4] * 10], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        p = F.softmax(z)
        loss, y_hat = F.cross_entropy_forward(z, np.array([1, 0]))
    assert np.all(np.isfinite(p)) and math.isfinite(loss) and p.dtype == dtype
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_allclose(y_hat, p, rtol=1e-6)
    assert p[0, 0] == pytest.approx(1 / (1 + math.exp(-1)), rel=1e-5)
    np.testing.assert_allclose(p[1], 0.1, rtol=1e-6)
    # the true class of row 0 sits 2e4 below the maximum: the loss is 2e4, not inf
    assert loss == pytest.approx((2e4 + math.log(1 + math.exp(-1)) + math.log(10)) / 2, rel=1e-5)


def test_cross_entropy_forward_backward_match_formulas():
    rng = np.random.default_rng(2)
    z, y = rng.standard_normal((6, 10)), rng.integers(0, 10, 6)
    loss, y_hat = F.cross_entropy_forward(z, y)
    assert loss == pytest.approx(-np.mean(np.log(F.softmax(z)[np.arange(6), y])), rel=1e-12)
    np.testing.assert_allclose(y_hat, F.softmax(z), rtol=1e-12)
    dz = F.cross_entropy_backward(y_hat, y)
    onehot = np.eye(10)[y]
    np.testing.assert_allclose(dz, (F.softmax(z) - onehot) / 6, rtol=1e-10, atol=1e-15)
    np.testing.assert_array_equal(y_hat, F.softmax(z))  # the backward left y_hat as it was


def test_cross_entropy_keeps_float32():
    rng = np.random.default_rng(4)
    z, y = rng.standard_normal((6, 10)).astype(np.float32), rng.integers(0, 10, 6)
    _, y_hat = F.cross_entropy_forward(z, y)
    assert y_hat.dtype == np.float32 and F.cross_entropy_backward(y_hat, y).dtype == np.float32


def test_cross_entropy_gradient_numerically():
    rng = np.random.default_rng(3)
    z, y = rng.standard_normal((4, 10)), rng.integers(0, 10, 4)
    _, y_hat = F.cross_entropy_forward(z, y)
    dz = F.cross_entropy_backward(y_hat, y)
    num = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += 1e-6
        zm[idx] -= 1e-6
        num[idx] = (F.cross_entropy_forward(zp, y)[0] - F.cross_entropy_forward(zm, y)[0]) / 2e-6
    np.testing.assert_allclose(dz, num, rtol=1e-6, atol=1e-9)


def test_uniform_logits_give_ln10():
    loss, _ = F.cross_entropy_forward(np.zeros((3, 10)), np.array([0, 4, 9]))
    assert loss == pytest.approx(math.log(10))


def test_cross_entropy_rejects_mismatched_labels():
    with pytest.raises(ValueError, match="labels"):
        F.cross_entropy_forward(np.zeros((3, 10)), np.array([0, 1]))


@pytest.mark.parametrize("name", sorted(F.ACTIVATIONS))
def test_activation_derivative_numerically(name):
    forward, backward = F.ACTIVATIONS[name]
    z = np.random.default_rng(4).standard_normal(200) * 3
    z = z[np.abs(z) > 1e-3]  # away from ReLU's kink
    dh = np.random.default_rng(5).standard_normal(z.shape)
    dz = backward(dh, forward(z))
    np.testing.assert_allclose(dz, dh * numeric_derivative(forward, z), rtol=1e-6, atol=1e-9)


def test_activation_values():
    z = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    np.testing.assert_array_equal(F.relu_forward(z), [0, 0, 0, 0.5, 2])
    np.testing.assert_array_equal(F.relu_backward(np.ones(5), F.relu_forward(z)), [0, 0, 0, 1, 1])
    np.testing.assert_allclose(F.tanh_forward(z), np.tanh(z))
    np.testing.assert_allclose(F.sigmoid_forward(z), 1 / (1 + np.exp(-z)), rtol=1e-12)


def test_sigmoid_stable_at_extremes():
    z = np.array([-1e4, -800.0, 800.0, 1e4], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        h = F.sigmoid_forward(z)
    np.testing.assert_array_equal(h, [0, 0, 1, 1])


@pytest.mark.parametrize("name", sorted(F.ACTIVATIONS))
def test_activations_keep_float32(name):
    forward, backward = F.ACTIVATIONS[name]
    z = np.linspace(-1, 1, 8, dtype=np.float32)
    h = forward(z)
    assert h.dtype == np.float32 and backward(np.ones_like(z), h).dtype == np.float32


def test_dropout_forward_returns_h_times_r_and_backward_multiplies_by_r():
    h = np.random.default_rng(6).standard_normal((400, 500)).astype(np.float32)
    out, r = F.dropout_forward(h, 0.3, np.random.default_rng(7))
    again, r2 = F.dropout_forward(h, 0.3, np.random.default_rng(7))
    np.testing.assert_array_equal(r, r2)  # the seed decides the mask
    assert out.dtype == r.dtype == np.float32 and r.shape == h.shape
    np.testing.assert_allclose(np.unique(r), [0, 1 / 0.7], rtol=1e-7)
    np.testing.assert_array_equal(out, h * r)
    dout = np.full(h.shape, 2, np.float32)
    np.testing.assert_array_equal(F.dropout_backward(dout, r), 2 * r)


@pytest.mark.parametrize("p", [0.0, 0.3, 0.5, 0.9])
def test_dropout_rate_is_p_and_the_expectation_unchanged(p):
    h = np.ones((1000, 1000), np.float32)
    out, r = F.dropout_forward(h, p, np.random.default_rng(11))
    dropped = np.mean(r == 0)
    # Binomial(10^6, p): 5 standard deviations (at most 0.0025) either side
    assert abs(dropped - p) <= 5 * math.sqrt(p * (1 - p) / r.size)
    assert out.mean() == pytest.approx(1.0, abs=5 * math.sqrt(p / (1 - p) / r.size) + 1e-6)
    if p == 0.0:
        np.testing.assert_array_equal(out, h)


def test_dropout_masks_differ_between_rows_and_draws():
    rng = np.random.default_rng(13)
    _, r = F.dropout_forward(np.ones((64, 300)), 0.5, rng)
    _, r_next = F.dropout_forward(np.ones((64, 300)), 0.5, rng)
    assert len({row.tobytes() for row in r}) == 64
    assert not np.array_equal(r, r_next)


@pytest.mark.parametrize("p", [-0.1, 1.0])
def test_dropout_probability_checked(p):
    with pytest.raises(ValueError, match="dropout"):
        F.dropout_forward(np.ones((2, 2)), p, np.random.default_rng(0))


def test_penalties_and_gradients():
    W = np.array([[1.0, -2.0], [0.5, 3.0]])
    assert F.l2_penalty(W, 0.1) == pytest.approx(0.05 * (1 + 4 + 0.25 + 9))
    np.testing.assert_allclose(F.l2_grad(W, 0.1), 0.1 * W)
    assert F.l1_penalty(W, 0.1) == pytest.approx(0.1 * 6.5)
    np.testing.assert_allclose(F.l1_grad(W, 0.1), 0.1 * np.sign(W))
    for pen, grad in ((F.l2_penalty, F.l2_grad), (F.l1_penalty, F.l1_grad)):
        num = np.zeros_like(W)
        for idx in np.ndindex(W.shape):
            Wp, Wm = W.copy(), W.copy()
            Wp[idx] += 1e-6
            Wm[idx] -= 1e-6
            num[idx] = (pen(Wp, 0.1) - pen(Wm, 0.1)) / 2e-6
        np.testing.assert_allclose(grad(W, 0.1), num, rtol=1e-6)
    W32 = W.astype(np.float32)
    assert F.l2_grad(W32, 0.1).dtype == F.l1_grad(W32, 0.1).dtype == np.float32
