"""LogisticRegression and MLP: conventions, sanity checks, determinism, errors, save/load."""

import json
import math

import numpy as np
import pytest

from fmnist.data import DataError, Standardizer
from fmnist.models import MLP, MODELS, LogisticRegression, load_model
from tests.synth import toy_data


@pytest.fixture(scope="module")
def data():
    X, y = toy_data(700)
    return X[:500], X[500:], y[:500], y[500:]


def small_mlp(**kw):
    return MLP(**{"hidden": 32, "epochs": 3, "batch_size": 50, "lr": 0.05, **kw})


def test_hyperparameters_are_stored_unchanged():
    m = MLP(hidden=17, activation="tanh", dropout=0.25, lr=0.3, batch_size=7, epochs=4,
            l2=0.5, l1=0.1, random_state=3, momentum=0.9, lr_schedule="cosine",
            augment="flip", restore_best=True)
    p = m.get_params()
    assert p["hidden"] == 17 and p["activation"] == "tanh" and p["dropout"] == 0.25
    assert p["lr"] == 0.3 and p["batch_size"] == 7 and p["epochs"] == 4 and p["l2"] == 0.5
    assert p["momentum"] == 0.9 and p["lr_schedule"] == "cosine" and p["augment"] == "flip"
    assert MLP(**p).get_params() == p
    lr = LogisticRegression()
    assert lr.get_params()["momentum"] == 0.0 and lr.get_params()["lr_schedule"] == "constant"
    assert lr.set_params(lr=0.5) is lr and lr.lr == 0.5


def test_fit_shapes_dtypes_and_history(data):
    X, Xv, y, yv = data
    m = small_mlp(hidden=24).fit(X, y, Xv, yv)
    assert (m.W1.shape, m.b1.shape, m.W2.shape, m.b2.shape) == ((784, 24), (24,), (24, 10), (10,))
    assert all(W.dtype == np.float32 for W in m.params.values())
    lr = LogisticRegression(epochs=2, batch_size=50).fit(X, y)
    assert (lr.W.shape, lr.b.shape) == ((784, 10), (10,))
    assert set(m.history_) == {"epoch", "train_loss", "train_acc", "val_loss", "val_acc",
                               "seconds", "lr"}
    assert all(len(v) == 3 for v in m.history_.values())
    assert m.history_["epoch"] == [1, 2, 3]
    assert 1 <= m.best_epoch_ <= 3
    assert all(math.isnan(v) for v in lr.history_["val_loss"] + lr.history_["val_acc"])
    assert not hasattr(lr, "best_epoch_")


def test_training_metrics_are_real_not_running_averages(data):
    """The last epoch's train/val figures are those of the final weights, dropout off."""
    X, Xv, y, yv = data
    m = small_mlp(dropout=0.5).fit(X, y, Xv, yv)
    assert m.history_["train_acc"][-1] == pytest.approx(m.score(X, y))
    assert m.history_["val_acc"][-1] == pytest.approx(m.score(Xv, yv))
    p = m.predict_proba(Xv)
    assert m.history_["val_loss"][-1] == pytest.approx(-np.mean(np.log(p[np.arange(len(yv)),
                                                                         yv])), rel=1e-4)


def test_scaler_is_fitted_on_the_training_x(data):
    X, Xv, y, yv = data
    m = LogisticRegression(epochs=1).fit(X, y, Xv, yv)
    ref = Standardizer().fit(X)
    assert m.scaler_.mean_ == pytest.approx(ref.mean_) and m.scaler_.std_ == pytest.approx(ref.std_)


def test_initial_loss_is_close_to_ln10(data):
    X, _, y, _ = data
    Xs = Standardizer().fit_transform(X)
    for model in (LogisticRegression(), MLP(), MLP(activation="tanh"), MLP(activation="sigmoid")):
        model.init_params(np.random.default_rng(0))
        loss, _ = model.evaluate(Xs, y)
        assert abs(loss - math.log(10)) < 0.05, (model, loss)


def test_mlp_overfits_50_examples():
    rng = np.random.default_rng(1)
    X = rng.integers(0, 256, (50, 784)).astype(np.uint8)
    y = np.arange(50) % 10  # labels unrelated to the pixels: only memorising fits them
    m = MLP(hidden=128, lr=0.1, batch_size=10, epochs=60, l2=0.0).fit(X, y)
    assert m.score(X, y) == 1.0
    assert m.history_["train_loss"][-1] < 0.05


def test_learns_toy_data_and_loss_decreases(data):
    X, Xv, y, yv = data
    for m in (LogisticRegression(epochs=5, batch_size=32), small_mlp(epochs=5)):
        m.fit(X, y, Xv, yv)
        assert m.score(Xv, yv) > 0.9
        assert m.history_["train_loss"][-1] < m.history_["train_loss"][0]


@pytest.mark.parametrize("make", [
    lambda s: small_mlp(dropout=0.3, augment="flip+shift", momentum=0.5, random_state=s),
    lambda s: LogisticRegression(epochs=2, batch_size=64, random_state=s),
])
def test_same_seed_same_weights_and_history(data, make):
    X, Xv, y, yv = data
    a, b, c = make(7).fit(X, y, Xv, yv), make(7).fit(X, y, Xv, yv), make(8).fit(X, y, Xv, yv)
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    for k in a.history_:
        if k != "seconds":
            assert a.history_[k] == b.history_[k], k
    assert a.history_["train_loss"] != c.history_["train_loss"]


def test_predict_and_predict_proba(data):
    X, Xv, y, yv = data
    m = small_mlp().fit(X, y)
    p = m.predict_proba(Xv)
    assert p.shape == (len(Xv), 10)
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)
    pred = m.predict(Xv)
    assert pred.dtype == np.int64 and pred.shape == (len(Xv),)
    np.testing.assert_array_equal(pred, p.argmax(axis=1))
    assert m.score(Xv, yv) == pytest.approx(np.mean(pred == yv))
    # lists and other integer types of raw pixels are accepted
    np.testing.assert_array_equal(m.predict(Xv[:3].astype(np.int64).tolist()), pred[:3])


@pytest.mark.parametrize("model", [
    lambda: small_mlp(activation="tanh", dropout=0.2),
    lambda: LogisticRegression(epochs=2, l1=1e-4),
])
def test_save_load_round_trip(tmp_path, data, model):
    X, Xv, y, yv = data
    m = model().fit(X, y, Xv, yv)
    path = m.save(tmp_path / "model.npz")
    assert not [p for p in tmp_path.iterdir() if p.name != "model.npz"]  # no temporary left
    back = load_model(path)
    assert type(back) is type(m) and back.get_params() == m.get_params()
    np.testing.assert_array_equal(back.predict(Xv), m.predict(Xv))
    np.testing.assert_array_equal(back.predict_proba(Xv), m.predict_proba(Xv))
    assert back.best_epoch_ == m.best_epoch_
    for k in m.history_:
        np.testing.assert_array_equal(back.history_[k], m.history_[k])


def test_load_model_errors(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_model(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a model saved by fmnist"):
        load_model(bad)
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(DataError, match="not a model saved by fmnist"):
        load_model(tmp_path / "other.npz")


GOOD_META = {"class": "LogisticRegression", "hyperparams": {"lr": 0.1},
             "scaler": {"mean": 0.5, "std": 0.25}, "history": None, "best_epoch": None}


@pytest.mark.parametrize("meta,weights", [
    ("[1, 2]", True),                                            # JSON, but not an object
    ("{", True),                                                 # not JSON
    (json.dumps({k: v for k, v in GOOD_META.items() if k != "hyperparams"}), True),
    (json.dumps({**GOOD_META, "hyperparams": {"learning_rate": 0.1}}), True),
    (json.dumps({**GOOD_META, "hyperparams": {"lr": -1}}), True),
    (json.dumps({**GOOD_META, "scaler": {"mean": 0.5}}), True),
    (json.dumps({**GOOD_META, "scaler": "z"}), True),
    (json.dumps(GOOD_META), False),                              # weights of the wrong shape
])
def test_load_model_with_bad_metadata_names_the_file_not_a_traceback(tmp_path, meta, weights):
    """A zip that np.load reads but whose metadata or weights fmnist did not write."""
    path = tmp_path / "odd.npz"
    W = np.zeros((784, 10), np.float32) if weights else np.zeros((3, 3), np.float32)
    np.savez(path, meta=np.array(meta), W=W, b=np.zeros(10, np.float32))
    with pytest.raises(DataError, match=r"odd\.npz: .*save (it|the model) again"):
        load_model(path)


def test_unfitted_model_says_so(tmp_path):
    with pytest.raises(RuntimeError, match="not fitted"):
        MLP().predict(np.zeros((1, 784), np.uint8))
    with pytest.raises(RuntimeError, match="not fitted"):
        LogisticRegression().save(tmp_path / "m.npz")


BAD_HYPERPARAMETERS = [
    ({"activation": "swish"}, "activation must be one of .*'relu'"),
    ({"hidden": 0}, "hidden must be a positive integer"),
    ({"hidden": 2.0}, "hidden must be a positive integer"),
    ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
    ({"lr": -1}, "lr must be a positive number"),
    ({"lr": float("nan")}, "lr must be a positive number"),
    ({"batch_size": 2.5}, "batch_size must be a positive integer"),
    ({"epochs": 0}, "epochs must be a positive integer"),
    ({"epochs": True}, "epochs must be a positive integer"),
    ({"patience": 0}, "patience must be None or a positive integer"),
    ({"patience": 1.5}, "patience must be None or a positive integer"),
    ({"l2": -0.1}, "l2 must be a number >= 0"),
    ({"l1": "0.1"}, "l1 must be a number >= 0"),
    ({"momentum": 1.0}, r"momentum must be in \[0, 1\)"),
    ({"lr_schedule": "step"}, "lr_schedule must be one of"),
    ({"augment": "rotate"}, "augment must be one of"),
    ({"random_state": -1}, "random_state must be None or an integer >= 0"),
]


@pytest.mark.parametrize("kwargs,match", BAD_HYPERPARAMETERS)
def test_bad_hyperparameters_are_stored_then_refused_by_fit(kwargs, match):
    """scikit-learn's convention: the constructor stores, `fit` validates."""
    X, y = toy_data(20)
    m = MLP(**kwargs)
    assert {k: m.get_params()[k] for k in kwargs} == kwargs
    with pytest.raises(ValueError, match=match):
        m.fit(X, y)
    assert not hasattr(m, "scaler_")  # refused before any work


@pytest.mark.parametrize("kwargs,match", [
    kw for kw in BAD_HYPERPARAMETERS if set(kw[0]) <= set(LogisticRegression().get_params())])
def test_logistic_regression_validates_its_shared_hyperparameters(kwargs, match):
    X, y = toy_data(20)
    with pytest.raises(ValueError, match=match):
        LogisticRegression(**kwargs).fit(X, y)


def test_each_model_validates_only_its_own_hyperparameters():
    assert "hidden" not in LogisticRegression().get_params()
    with pytest.raises(TypeError):
        LogisticRegression(hidden=3)
    X, y = toy_data(20)
    MLP(hidden=3, epochs=1, patience=None).fit(X, y)  # None: no early stopping
    LogisticRegression(epochs=1, patience=2, random_state=None).fit(X, y)


def test_set_params_checks_names_and_fit_checks_values():
    with pytest.raises(ValueError, match="unknown hyper-parameter"):
        LogisticRegression().set_params(hidden=3)
    m = MLP().set_params(epochs=-1)
    assert m.epochs == -1
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        m.fit(*toy_data(20))


def test_registry_and_n_params():
    assert MODELS == {"logreg": LogisticRegression, "nn": MLP}
    assert LogisticRegression().n_params == 784 * 10 + 10 == 7850
    assert MLP(hidden=128).n_params == 784 * 128 + 128 + 128 * 10 + 10 == 101_770
    X, y = toy_data(40)
    for m in (LogisticRegression(epochs=1), MLP(hidden=7, epochs=1)):
        assert m.n_params == sum(W.size for W in m.fit(X, y).params.values())


def test_scaled_pixels_are_refused_with_a_clear_error(data):
    """A model fitted on raw pixels would silently misread X / 255 as nearly black images."""
    X, Xv, y, yv = data
    m = MLP(hidden=8, epochs=1).fit(X, y)
    for call in (lambda: m.score(Xv / 255, yv), lambda: m.predict(Xv / 255),
                 lambda: m.predict_proba(Xv / 255), lambda: MLP(epochs=1).fit(X / 255, y)):
        with pytest.raises(ValueError, match=r"fractional values .*already scaled \(X / 255\?\)"):
            call()
    assert m.score(Xv.astype(np.float64), yv) == m.score(Xv, yv)  # whole-number floats are fine


@pytest.mark.parametrize("X,y,match", [
    (np.zeros((5, 783), np.uint8), np.zeros(5, int), r"X must have shape \(n, 784\)"),
    (np.zeros(784, np.uint8), np.zeros(1, int), r"X must have shape \(n, 784\)"),
    (np.full((5, 784), 300.0), np.zeros(5, int), "raw pixels in 0..255"),
    (np.full((5, 784), -1), np.zeros(5, int), "raw pixels in 0..255"),
    (np.full((5, 784), "a"), np.zeros(5, int), "must hold numbers"),
    (np.zeros((5, 784), np.uint8), np.zeros(4, int), r"y must have shape \(5,\)"),
    (np.zeros((5, 784), np.uint8), np.zeros((5, 1), int), r"y must have shape \(5,\)"),
    (np.zeros((5, 784), np.uint8), np.zeros(5), "integer class labels"),
    (np.zeros((5, 784), np.uint8), np.array([0, 1, 2, 3, 10]), "class labels 0..9"),
    (np.zeros((5, 784), np.uint8), np.array([0, 1, 2, 3, -1]), "class labels 0..9"),
])
def test_bad_inputs_are_clear_errors(X, y, match):
    with pytest.raises(ValueError, match=match):
        MLP(epochs=1).fit(X, y)


def test_validation_inputs_checked(data):
    X, Xv, y, yv = data
    with pytest.raises(ValueError, match="both X_val and y_val"):
        MLP(epochs=1).fit(X, y, Xv)
    with pytest.raises(ValueError, match="y_val must have shape"):
        MLP(epochs=1).fit(X, y, Xv, yv[:-1])
