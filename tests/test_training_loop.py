"""The training loop (`fmnist.training.fit_model`) seen from outside: it trains any object with
the interface of its docstring, uses every example exactly once per epoch, stops early after
`patience` epochs without a better validation accuracy, and is driven by one seed."""

import math

import numpy as np
import pytest

from fmnist.data import Standardizer
from fmnist.models import MLP, LogisticRegression
from fmnist.training import fit_model
from tests.synth import toy_data


class Recording:
    """A model with only the documented interface of `fmnist.training` (it delegates to a real
    model) that records, for every batch `loss_grad` receives, the indices of its rows."""

    def __init__(self, inner, X):
        self.inner = inner
        Xs = Standardizer().fit(X).transform(X)  # what fit_model will hand to loss_grad
        self.index = {row.tobytes(): i for i, row in enumerate(Xs)}
        assert len(self.index) == len(X), "the rows must be distinct"
        self.batches: list[np.ndarray] = []
        self.labels: list[np.ndarray] = []

    def get_params(self):
        return self.inner.get_params()

    def init_params(self, rng, dtype):
        self.inner.init_params(rng, dtype=dtype)

    @property
    def params(self):
        return self.inner.params

    def loss_grad(self, Xb, yb, rng):
        self.batches.append(np.array([self.index[row.tobytes()] for row in Xb]))
        self.labels.append(np.array(yb))
        return self.inner.loss_grad(Xb, yb, rng)

    def evaluate(self, Xs, y):
        return self.inner.evaluate(Xs, y)


@pytest.mark.parametrize("n,batch_size", [(103, 10), (100, 10), (7, 32), (64, 63)])
@pytest.mark.parametrize("inner", [
    lambda bs: LogisticRegression(batch_size=bs, epochs=3, lr=0.01),
    lambda bs: MLP(hidden=8, batch_size=bs, epochs=3, dropout=0.5, momentum=0.9),
], ids=["logreg", "mlp"])
def test_each_example_is_used_exactly_once_per_epoch(n, batch_size, inner):
    """A loop that dropped the last partial batch (or repeated or skipped a row) fails."""
    X, y = toy_data(n, seed=n, noise=80)
    model = Recording(inner(batch_size), X)
    per_epoch = []

    def end_of_epoch(epoch, record):
        per_epoch.append((model.batches[:], model.labels[:]))
        model.batches.clear()
        model.labels.clear()

    fit_model(model, X, y, callback=end_of_epoch)
    assert len(per_epoch) == 3
    bs = min(batch_size, n)
    orders = []
    for batches, labels in per_epoch:
        counts = np.bincount(np.concatenate(batches), minlength=n)
        assert counts.tolist() == [1] * n  # every row exactly once
        assert [len(b) for b in batches] == [bs] * (n // bs) + ([n % bs] if n % bs else [])
        for idx, yb in zip(batches, labels, strict=True):
            np.testing.assert_array_equal(yb, y[idx])  # each row with its own label
        orders.append(np.concatenate(batches))
    assert not np.array_equal(orders[0], orders[1])  # reshuffled every epoch


def test_the_loop_imports_no_model_and_trains_a_stranger():
    """fit_model reads the documented interface only: a wrapper learns like the real model."""
    X, y = toy_data(200, seed=1)
    real = LogisticRegression(epochs=2, batch_size=32).fit(X, y)
    wrapped = Recording(LogisticRegression(epochs=2, batch_size=32), X)
    fit_model(wrapped, X, y)
    for k in real.params:
        np.testing.assert_array_equal(wrapped.params[k], real.params[k])
    assert wrapped.history_["train_loss"] == real.history_["train_loss"]


# ------------------------------------------------------------------------------- early stopping

def scripted(cls, val_accs):
    """A subclass of `cls` whose validation accuracy after epoch e is val_accs[e - 1] (training
    is real); its `snapshots` hold a copy of the weights after each epoch."""

    class Scripted(cls):
        def evaluate(self, Xs, y):
            loss, acc = super().evaluate(Xs, y)
            if len(Xs) == self.n_val_:
                acc = val_accs[len(self.history_["epoch"])]
            return loss, acc

    return Scripted


def fit_scripted(val_accs, *, patience, restore_best, epochs=10, cls=LogisticRegression):
    X, y = toy_data(230, seed=4)
    model = scripted(cls, val_accs)(epochs=epochs, patience=patience, batch_size=50,
                                    restore_best=restore_best)
    model.n_val_ = 30
    snapshots = []
    model.fit(X[:200], y[:200], X[200:], y[200:],
              callback=lambda e, r: snapshots.append({k: W.copy()
                                                      for k, W in model.params.items()}))
    return model, snapshots


ACCS = [0.50, 0.60, 0.55, 0.60, 0.58, 0.90, 0.95, 0.70, 0.70, 0.70]


@pytest.mark.parametrize("cls", [LogisticRegression, MLP])
def test_training_stops_after_patience_epochs_without_improvement(cls):
    # best at epoch 2; epochs 3, 4 (a tie is not better) and 5 do not beat it: stop after 5
    model, snaps = fit_scripted(ACCS, patience=3, restore_best=True, cls=cls)
    assert model.history_["epoch"] == [1, 2, 3, 4, 5]
    assert model.history_["val_acc"] == ACCS[:5]
    assert model.best_epoch_ == 2
    for k, W in model.params.items():  # the weights as they were after epoch 2
        np.testing.assert_array_equal(W, snaps[1][k])
        assert not np.array_equal(W, snaps[4][k])


def test_early_stopping_without_restore_keeps_the_last_epoch():
    model, snaps = fit_scripted(ACCS, patience=3, restore_best=False)
    assert len(model.history_["epoch"]) == 5 and model.best_epoch_ == 2
    for k, W in model.params.items():
        np.testing.assert_array_equal(W, snaps[4][k])


@pytest.mark.parametrize("patience,epochs_run,best", [(None, 10, 7), (4, 10, 7), (2, 4, 2),
                                                      (1, 3, 2)])
def test_patience_counts_epochs_since_the_best(patience, epochs_run, best):
    model, snaps = fit_scripted(ACCS, patience=patience, restore_best=True)
    assert len(model.history_["epoch"]) == epochs_run and model.best_epoch_ == best
    for k, W in model.params.items():
        np.testing.assert_array_equal(W, snaps[best - 1][k])


def test_no_early_stop_while_improving_or_without_validation_data():
    improving = [0.1 * e for e in range(1, 11)]
    model, _ = fit_scripted(improving, patience=1, restore_best=True)
    assert len(model.history_["epoch"]) == 10 and model.best_epoch_ == 10
    X, y = toy_data(200, seed=4)
    m = LogisticRegression(epochs=6, patience=1, lr=5.0, restore_best=True).fit(X, y)
    assert m.history_["epoch"] == [1, 2, 3, 4, 5, 6]
    assert not hasattr(m, "best_epoch_")
    assert all(math.isnan(v) for v in m.history_["val_acc"])


def test_early_stopping_on_real_training():
    """Not scripted: the kept weights score the best validation accuracy of the history."""
    X, y = toy_data(400, seed=6, noise=140)
    m = MLP(hidden=32, epochs=40, lr=0.5, batch_size=16, patience=2, restore_best=True,
            random_state=1).fit(X[:300], y[:300], X[300:], y[300:])
    h = m.history_
    assert len(h["epoch"]) < 40  # it stopped early
    assert len(h["epoch"]) == m.best_epoch_ + 2
    assert h["val_acc"][m.best_epoch_ - 1] == max(h["val_acc"])
    assert m.score(X[300:], y[300:]) == pytest.approx(max(h["val_acc"]))


# ------------------------------------------------------------------------------- seeds

@pytest.mark.parametrize("make", [
    lambda s: MLP(hidden=16, epochs=2, batch_size=32, dropout=0.3, augment="flip+shift",
                  random_state=s),
    lambda s: LogisticRegression(epochs=2, batch_size=32, random_state=s),
], ids=["mlp", "logreg"])
def test_the_seed_decides_everything(make):
    X, y = toy_data(200, seed=2)
    a, b, c = make(3).fit(X, y), make(3).fit(X, y), make(4).fit(X, y)
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
        if k != "b":  # the logistic regression's biases may agree by symmetry
            assert not np.array_equal(a.params[k], c.params[k]), k
    assert a.history_["train_loss"] == b.history_["train_loss"] != c.history_["train_loss"]


def test_the_initial_weights_depend_on_the_seed_only():
    W = {}
    for s in (0, 0, 1):
        m = MLP(hidden=5, random_state=s)
        m.init_params(np.random.default_rng(s))
        W.setdefault(s, []).append(m.W1)
    np.testing.assert_array_equal(*W[0])
    assert not np.array_equal(W[0][0], W[1][0])
