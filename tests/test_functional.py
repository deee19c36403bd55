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
        lp = F.log_softmax(z)
        loss = F.cross_entropy(z, np.array([1, 0]))
    assert np.all(np.isfinite(p)) and np.all(np.isfinite(lp)) and math.isfinite(loss)
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-6)
    assert p[0, 0] == pytest.approx(1 / (1 + math.exp(-1)), rel=1e-5)
    np.testing.assert_allclose(p[1], 0.1, rtol=1e-6)
    # the true class of row 0 sits 2e4 below the maximum: the loss is 2e4, not inf
    assert loss == pytest.approx((2e4 + math.log(1 + math.exp(-1)) + math.log(10)) / 2, rel=1e-5)


def test_log_softmax_is_log_of_softmax():
    z = np.random.default_rng(1).standard_normal((4, 10)) * 3
    np.testing.assert_allclose(F.log_softmax(z), np.log(F.softmax(z)), rtol=1e-12)


def test_cross_entropy_forward_backward_match_formulas():
    rng = np.random.default_rng(2)
    z, y = rng.standard_normal((6, 10)), rng.integers(0, 10, 6)
    loss, y_hat = F.cross_entropy_forward(z.copy(), y)
    assert loss == pytest.approx(-np.mean(np.log(F.softmax(z)[np.arange(6), y])), rel=1e-12)
    assert loss == pytest.approx(F.cross_entropy(z, y), rel=1e-12)
    dz = F.cross_entropy_backward(y_hat, y)
    onehot = np.eye(10)[y]
    np.testing.assert_allclose(dz, (F.softmax(z) - onehot) / 6, rtol=1e-10, atol=1e-15)


def test_cross_entropy_backward_scale():
    rng = np.random.default_rng(4)
    z, y = rng.standard_normal((6, 10)).astype(np.float32), rng.integers(0, 10, 6)
    _, y_hat = F.cross_entropy_forward(z, y)
    plain = F.cross_entropy_backward(y_hat, y)
    np.testing.assert_array_equal(F.cross_entropy_backward(y_hat, y, scale=1.0), plain)
    np.testing.assert_allclose(F.cross_entropy_backward(y_hat, y, scale=0.03), 0.03 * plain,
                               rtol=1e-6)


def test_cross_entropy_gradient_numerically():
    rng = np.random.default_rng(3)
    z, y = rng.standard_normal((4, 10)), rng.integers(0, 10, 4)
    _, y_hat = F.cross_entropy_forward(z.copy(), y)
    dz = F.cross_entropy_backward(y_hat, y)
    num = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += 1e-6
        zm[idx] -= 1e-6
        num[idx] = (F.cross_entropy(zp, y) - F.cross_entropy(zm, y)) / 2e-6
    np.testing.assert_allclose(dz, num, rtol=1e-6, atol=1e-9)


def test_uniform_logits_give_ln10():
    assert F.cross_entropy(np.zeros((3, 10)), np.array([0, 4, 9])) == pytest.approx(math.log(10))


def test_cross_entropy_rejects_mismatched_labels():
    with pytest.raises(ValueError, match="labels"):
        F.cross_entropy(np.zeros((3, 10)), np.array([0, 1]))


@pytest.mark.parametrize("name", sorted(F.ACTIVATIONS))
def test_activation_derivative_numerically(name):
    forward, backward, _ = F.get_activation(name)
    a = np.random.default_rng(4).standard_normal(200) * 3
    a = a[np.abs(a) > 1e-3]  # away from ReLU's kink
    h = forward(a)
    dh = np.random.default_rng(5).standard_normal(a.shape)
    da = backward(dh, a, h)
    np.testing.assert_allclose(da, dh * numeric_derivative(forward, a), rtol=1e-6, atol=1e-9)


def test_activation_values():
    a = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    np.testing.assert_array_equal(F.relu_forward(a), [0, 0, 0, 0.5, 2])
    np.testing.assert_allclose(F.tanh_forward(a), np.tanh(a))
    np.testing.assert_allclose(F.sigmoid_forward(a), 1 / (1 + np.exp(-a)), rtol=1e-12)
    np.testing.assert_allclose(F.leaky_relu_forward(a), np.where(a > 0, a, 0.01 * a))


def test_sigmoid_stable_at_extremes():
    a = np.array([-1e4, -800.0, 800.0, 1e4], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        h = F.sigmoid_forward(a)
    np.testing.assert_array_equal(h, [0, 0, 1, 1])


def test_activation_forward_works_in_place_and_keeps_dtype():
    a = np.linspace(-1, 1, 8, dtype=np.float32)
    for name in F.ACTIVATIONS:
        forward, backward, _ = F.get_activation(name)
        out = np.empty_like(a)
        h = forward(a, out=out)
        assert h is out and h.dtype == np.float32
        assert backward(np.ones_like(a), a, h).dtype == np.float32


def test_unknown_activation_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown activation 'swish'.*relu"):
        F.get_activation("swish")


def test_dropout_keep_is_seeded_and_multiplies_forward_and_backward():
    keep = F.dropout_keep((400, 500), 0.3, np.random.default_rng(6))
    np.testing.assert_array_equal(keep, F.dropout_keep((400, 500), 0.3,
                                                       np.random.default_rng(6)))
    h, dh = np.ones((400, 500), np.float32), np.full((400, 500), 2, np.float32)
    np.testing.assert_array_equal(F.dropout_forward(h, keep), keep.astype(np.float32))
    np.testing.assert_array_equal(F.dropout_backward(dh, keep), 2 * keep.astype(np.float32))
    assert F.dropout_forward(h, keep).dtype == np.float32


@pytest.mark.parametrize("p", [0.0, 0.3, 0.5, 0.9])
def test_dropout_keep_rate_is_1_minus_p(p):
    keep = F.dropout_keep((1000, 1000), p, np.random.default_rng(11))
    assert keep.dtype == bool and keep.shape == (1000, 1000)
    # Binomial(10^6, p): 5 standard deviations (at most 0.0025) either side
    assert abs((~keep).mean() - p) <= 5 * math.sqrt(p * (1 - p) / keep.size)
    if p == 0.0:
        assert keep.all()


def test_dropout_keep_draws_more_bits_where_8_do_not_decide():
    """p = 0.5 / 256 drops only entries whose first 8 random bits are all 0 (1 in 256) AND
    whose next 24 bits are below 2^23 (1 in 2): p exactly. Without the extra bits the rate
    would be 0 or 1/256."""
    p = 0.5 / 256
    keep = F.dropout_keep((2000, 1000), p, np.random.default_rng(12))
    dropped = keep.size - np.count_nonzero(keep)
    mean, sd = keep.size * p, math.sqrt(keep.size * p * (1 - p))  # 7812.5, 88.2
    assert abs(dropped - mean) < 5 * sd


def test_dropout_keep_into_a_buffer_and_its_rows_independent():
    rng = np.random.default_rng(13)
    buf = np.empty((64, 300), bool)
    keep = F.dropout_keep((64, 300), 0.5, rng, out=buf)
    assert np.shares_memory(keep, buf) and keep.shape == (64, 300)
    # a mask is not one row repeated, nor the next mask the same as this one
    assert len({row.tobytes() for row in buf}) == 64
    assert not np.array_equal(F.dropout_keep((64, 300), 0.5, rng), buf)


@pytest.mark.parametrize("p", [-0.1, 1.0])
def test_dropout_probability_checked(p):
    with pytest.raises(ValueError, match="dropout"):
        F.dropout_keep((2, 2), p, np.random.default_rng(0))


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

