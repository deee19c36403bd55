"""The training engine: divergence, schedules, updates, augmentation, restore-best (the
`train` command's tests are in test_cli.py)."""

import math
import warnings

import numpy as np
import pytest

from fmnist.data import IMAGE_SHAPE
from fmnist.models import MLP, LogisticRegression
from fmnist.training import (
    TrainingDiverged,
    augment_batch,
    format_record,
    learning_rate,
    sgd_step,
    train_epoch,
)
from tests.synth import toy_data


@pytest.fixture(scope="module")
def data():
    X, y = toy_data(600, seed=3)
    return X[:450], X[450:], y[:450], y[450:]


@pytest.mark.parametrize("model", [
    MLP(hidden=16, lr=1e6, epochs=3, batch_size=50),
    LogisticRegression(lr=1e30, epochs=3, batch_size=50),
])
def test_divergence_stops_with_one_clear_error_and_no_warnings(data, model):
    X, Xv, y, yv = data
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any RuntimeWarning from NumPy fails the test
        with pytest.raises(TrainingDiverged) as info:
            model.fit(X, y, Xv, yv)
    msg = str(info.value)
    assert "epoch 1" in msg and "batch" in msg and "lower the learning rate" in msg
    assert "--lr" in msg


def test_learning_rate_schedules():
    assert [learning_rate(0.1, "constant", e, 5) for e in (1, 5)] == [0.1, 0.1]
    cos = [learning_rate(0.1, "cosine", e, 4) for e in (1, 2, 3, 4)]
    assert cos[0] == pytest.approx(0.1) and cos[2] == pytest.approx(0.05)
    assert all(a > b > 0 for a, b in zip(cos, cos[1:], strict=False))
    with pytest.raises(ValueError, match="lr_schedule"):
        learning_rate(0.1, "step", 1, 4)


def test_history_records_the_schedule(data):
    X, Xv, y, yv = data
    m = LogisticRegression(epochs=3, lr=0.02, lr_schedule="cosine").fit(X, y, Xv, yv)
    np.testing.assert_allclose(m.history_["lr"], [learning_rate(0.02, "cosine", e, 3)
                                                  for e in (1, 2, 3)])


def test_update_rules_match_their_formulas():
    rng = np.random.default_rng(0)
    W, g, v = (rng.standard_normal((3, 4)) for _ in range(3))
    b, gb, vb = (rng.standard_normal(4) for _ in range(3))
    lr, beta = 0.1, 0.9

    P = {"W": W.copy(), "b": b.copy()}
    sgd_step(P, {"W": g, "b": gb}, lr)
    np.testing.assert_allclose(P["W"], W - lr * g)
    np.testing.assert_allclose(P["b"], b - lr * gb)

    P, V = {"W": W.copy(), "b": b.copy()}, {"W": v.copy(), "b": vb.copy()}
    sgd_step(P, {"W": g, "b": gb}, lr, V, beta)
    np.testing.assert_allclose(V["W"], beta * v - lr * g)
    np.testing.assert_allclose(P["W"], W + beta * v - lr * g)
    np.testing.assert_allclose(P["b"], b + beta * vb - lr * gb)

    P, V = {"W": W.copy()}, {"W": v.copy()}
    sgd_step(P, {"W": g}, lr, V, beta, nesterov=True)
    np.testing.assert_allclose(V["W"], beta * v - lr * g)
    np.testing.assert_allclose(P["W"], W + beta * (beta * v - lr * g) - lr * g)


@pytest.mark.parametrize("n,bs", [(103, 10), (100, 10), (7, 32)])
def test_each_example_is_used_exactly_once_per_epoch(n, bs):
    """Every row, with its own label, goes into exactly one batch of an epoch, the last
    (partial) batch included, and the next epoch reshuffles."""
    Xs = np.zeros((n, 784), np.float32)
    Xs[:, 0] = np.arange(n)  # each row names itself
    y = np.arange(n) % 10
    model = MLP(hidden=4, batch_size=bs, dropout=0.5, momentum=0.9, augment="flip")
    rng = np.random.default_rng(0)
    model.init_params(rng)
    seen = []

    def spy(Xb, yb, rng_):
        # a flip moves pixel 0 to pixel 27 of the first image row
        ids = np.where(Xb[:, 27] != 0, Xb[:, 27], Xb[:, 0]).astype(int)
        np.testing.assert_array_equal(yb, y[ids])
        assert rng_ is rng  # the loop's generator draws the dropout mask
        seen.append(ids)
        return 0.0, {k: np.zeros_like(W) for k, W in model.params.items()}

    model.loss_grad = spy
    vel = {k: np.zeros_like(W) for k, W in model.params.items()}
    orders = []
    for epoch in (1, 2):
        seen.clear()
        train_epoch(model, Xs, y, rng, 0.1, epoch, vel)
        order = np.concatenate(seen)
        assert sorted(order.tolist()) == list(range(n))
        bs_ = min(bs, n)
        assert [len(b) for b in seen] == [bs_] * (n // bs_) + ([n % bs_] if n % bs_ else [])
        orders.append(order)
    assert n < 10 or not np.array_equal(*orders)


def test_same_seed_same_training_with_every_path(data):
    """Dropout masks, flips, both penalties and momentum: the same seed gives bit-identical
    weights, another seed different ones."""
    X, Xv, y, yv = data

    def fit(seed):
        return MLP(hidden=300, epochs=2, batch_size=64, lr=0.02, dropout=0.3, momentum=0.9,
                   l2=1e-3, l1=1e-5, augment="flip", random_state=seed).fit(X, y, Xv, yv)

    a, b, c = fit(5), fit(5), fit(6)
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
        assert not np.array_equal(a.params[k], c.params[k])
    assert a.history_["val_loss"] == b.history_["val_loss"]


def test_dropout_changes_training(data):
    X, Xv, y, yv = data
    plain = MLP(hidden=32, epochs=1, batch_size=50).fit(X, y)
    dropped = MLP(hidden=32, epochs=1, batch_size=50, dropout=0.5).fit(X, y)
    assert not np.array_equal(plain.W1, dropped.W1)


@pytest.mark.parametrize("make", [
    lambda: MLP(hidden=300, l2=1e-2, l1=1e-3, momentum=0.9, dropout=0.25),
    lambda: MLP(hidden=300, l2=1e-2, momentum=0.9, nesterov=True),
    lambda: MLP(hidden=300, l2=1e-2, momentum=0.0),
    lambda: LogisticRegression(l2=1e-2, l1=1e-3, momentum=0.5),
])
def test_one_training_step_is_the_formula(make):
    """train_epoch on one batch: v = beta v0 - lr dJ/dW, W += v (Nesterov: W += beta v - lr
    dJ/dW; plain: W -= lr dJ/dW), with dJ/dW from model.loss_grad, the path the gradient
    checks test, and the same draws (the permutation, then the dropout mask)."""
    model = make()
    rng = np.random.default_rng(3)
    model.init_params(rng)
    for W in model.params.values():  # nonzero biases and a non-trivial W
        W += rng.standard_normal(W.shape).astype(np.float32) * 0.05
    Xs = rng.standard_normal((64, 784), dtype=np.float32)
    y = rng.integers(0, 10, 64)
    lr, beta = 0.05, model.momentum
    v0 = {k: rng.standard_normal(W.shape).astype(np.float32) * 0.01
          for k, W in model.params.items()}
    W0 = {k: W.copy() for k, W in model.params.items()}
    twin = np.random.default_rng(9)
    perm = twin.permutation(64)
    _, grads = model.loss_grad(Xs[perm], y[perm], twin)
    v = {k: beta * v0[k] - lr * grads[k] for k in W0}
    step = {k: beta * v[k] - lr * grads[k] if model.nesterov else v[k] for k in W0}
    vel = {k: a.copy() for k, a in v0.items()} if beta else None
    train_epoch(model, Xs, y, np.random.default_rng(9), lr, 1, vel)
    for k, W in model.params.items():
        np.testing.assert_allclose(W, W0[k] + step[k], rtol=1e-6, atol=1e-7)
        if beta:
            np.testing.assert_allclose(vel[k], v[k], rtol=1e-6, atol=1e-9)


def test_momentum_trains(data):
    X, Xv, y, yv = data
    for nesterov in (False, True):
        m = MLP(hidden=16, epochs=3, lr=0.01, momentum=0.9, nesterov=nesterov, batch_size=32)
        m.fit(X, y, Xv, yv)
        assert m.score(Xv, yv) > 0.9


def images(m, seed=0):
    return np.random.default_rng(seed).standard_normal((m, 784)).astype(np.float32)


def test_flip_mirrors_about_half_the_images_left_right():
    X = images(400)
    out = augment_batch(X.copy(), "flip", np.random.default_rng(1), background=-1.0)
    a, b = X.reshape(-1, *IMAGE_SHAPE), out.reshape(-1, *IMAGE_SHAPE)
    same = np.all(a == b, axis=(1, 2))
    flipped = np.all(a[:, :, ::-1] == b, axis=(1, 2))
    assert np.all(same ^ flipped)
    assert 150 < flipped.sum() < 250


def test_flip_probability_is_one_half_and_works_in_place_on_any_layout():
    X = images(4000, seed=7)
    first = None
    for layout in (X.copy(), np.asfortranarray(X), np.repeat(X, 2, axis=0)[::2]):
        out = augment_batch(layout, "flip", np.random.default_rng(8), background=0.0)
        assert out is layout
        a, b = X.reshape(-1, *IMAGE_SHAPE), out.reshape(-1, *IMAGE_SHAPE)
        flipped = np.all(a[:, :, ::-1] == b, axis=(1, 2))
        assert np.all(flipped | np.all(a == b, axis=(1, 2)))
        # Binomial(4000, 1/2): mean 2000, sd 31.6; 4 sd either side
        assert 1874 < flipped.sum() < 2126
        if first is not None:  # every layout flips the same images for the same seed
            np.testing.assert_array_equal(flipped, first)
        first = flipped


def test_shift_translates_by_at_most_2_pixels_filling_background():
    X = images(300, seed=2)
    out = augment_batch(X.copy(), "shift", np.random.default_rng(3), background=-7.0)
    a, b = X.reshape(-1, *IMAGE_SHAPE), out.reshape(-1, *IMAGE_SHAPE)
    seen = set()
    for i in range(len(a)):
        matches = []
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                ref = np.full((32, 32), -7.0, np.float32)
                ref[2 + dy:30 + dy, 2 + dx:30 + dx] = a[i]
                if np.array_equal(ref[2:30, 2:30], b[i]):
                    matches.append((dy, dx))
        assert len(matches) == 1, i
        seen.add(matches[0])
    assert len(seen) == 25  # every shift in [-2, 2]^2 occurs


def test_flip_and_shift_together_and_seeded():
    X = images(64, seed=4)
    a = augment_batch(X.copy(), "flip+shift", np.random.default_rng(5), background=0.0)
    b = augment_batch(X.copy(), "flip+shift", np.random.default_rng(5), background=0.0)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, X)
    # a flip+shift image is a shifted copy of the image or of its mirror: same multiset of
    # pixels inside, background outside; its central 24x24 is inside for every shift
    imgs, orig = a.reshape(-1, 28, 28), X.reshape(-1, 28, 28)
    for i in range(64):
        centre = set(imgs[i, 2:26, 2:26].ravel().tolist())
        assert centre <= set(orig[i].ravel().tolist())


def test_augmentation_runs_in_training(data):
    X, Xv, y, yv = data
    plain = MLP(hidden=16, epochs=2, batch_size=50).fit(X, y, Xv, yv)
    aug = MLP(hidden=16, epochs=2, batch_size=50, augment="flip+shift").fit(X, y, Xv, yv)
    assert not np.array_equal(plain.W1, aug.W1)
    assert np.all(np.isfinite(aug.W1))
    # the toy images are random pixels, so moved copies are other images; still, it learns
    assert aug.history_["train_loss"][1] < aug.history_["train_loss"][0] < np.log(10)


def test_restore_best_keeps_the_best_validation_epoch(data):
    X, Xv, y, yv = data
    # a large, constant step makes validation accuracy jump around between epochs
    m = MLP(hidden=16, epochs=8, lr=0.5, batch_size=16, restore_best=True, random_state=2)
    m.fit(X, y, Xv, yv)
    h = m.history_
    assert m.best_epoch_ == int(np.argmax(h["val_acc"])) + 1
    assert m.score(Xv, yv) == pytest.approx(h["val_acc"][m.best_epoch_ - 1])
    assert len(h["epoch"]) == 8


def test_callback_and_verbose(data, capsys):
    X, Xv, y, yv = data
    seen = []
    LogisticRegression(epochs=2, verbose=True).fit(X, y, Xv, yv,
                                                   callback=lambda e, r: seen.append((e, r)))
    assert [e for e, _ in seen] == [1, 2]
    assert set(seen[0][1]) >= {"train_loss", "val_acc", "seconds", "lr"}
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and err[0].startswith("epoch   1/2") and "val loss" in err[0]


def test_format_record_without_validation():
    rec = {"epoch": 3, "train_loss": 0.5, "train_acc": 0.8, "val_loss": math.nan,
           "val_acc": math.nan, "seconds": 1.25, "lr": 0.1}
    line = format_record(rec, 10)
    assert line.startswith("epoch   3/10  train loss 0.5000 acc 0.8000") and "val" not in line
