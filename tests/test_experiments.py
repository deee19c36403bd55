"""fmnist.experiments: the run cache (hits, invalidation, corruption, interruption), progress,
and the quick-mode pipeline end to end on small synthetic data."""

import json

import numpy as np
import pandas as pd
import pytest

from fmnist import experiments as ex
from fmnist._io import read_predictions


class FakeModel:
    """Stands in for LogisticRegression/MLP: same fit/history_/get_params/save interface, a
    deterministic history computed from the data and the configuration, and a fit counter."""

    fits = 0
    interrupt_on = None

    def __init__(self, **params):
        self.params = params

    def get_params(self):
        return dict(self.params)

    def fit(self, X, y, X_val=None, y_val=None, callback=None):
        if self.params.get("lr") == FakeModel.interrupt_on:
            raise KeyboardInterrupt
        FakeModel.fits += 1
        signal = float(X[:, :10].mean() + X_val[:, :10].mean()) / 1000.0
        epochs = list(range(1, self.params.get("epochs", 3) + 1))
        val_acc = [min(0.99, 0.5 + self.params["lr"] * e + signal) for e in epochs]
        val_acc[-1] -= 0.01  # best epoch is not always the last
        self.history_ = {
            "epoch": epochs,
            "train_loss": [1.0 / e for e in epochs],
            "train_acc": [a + 0.02 for a in val_acc],
            "val_loss": [1.0 / e + 0.1 for e in epochs],
            "val_acc": val_acc,
            "seconds": [0.01 for _ in epochs],
            "lr": [self.params["lr"] for _ in epochs],
        }
        self.W = np.full(3, self.params["lr"])
        for e in epochs:
            if callback:
                callback(e, {k: v[e - 1] for k, v in self.history_.items()})
        return self

    def predict(self, X):
        return np.asarray(X).sum(axis=1).astype(np.int64) % 10

    def save(self, path):
        np.savez(path, W=self.W, params=json.dumps(self.params))

    @classmethod
    def load(cls, path):
        with np.load(path) as f:
            m = cls(**json.loads(str(f["params"])))
            m.W = f["W"]
        return m


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setattr(ex, "_model_class", lambda kind: FakeModel)
    monkeypatch.setattr(ex, "_load_model", FakeModel.load)
    FakeModel.fits = 0
    FakeModel.interrupt_on = None
    return FakeModel


@pytest.fixture
def split():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(60, 784), dtype=np.uint8)
    y = np.arange(60, dtype=np.int64) % 10
    return ex.Split(X[:50], X[50:], y[:50], y[50:])


CONFIGS = [dict(lr=0.01, epochs=4), dict(lr=0.02, epochs=4), dict(lr=0.05, epochs=4)]
RESULT_COLUMNS = ["lr", "epochs", "val_acc", "val_loss", "best_epoch", "train_acc",
                  "epochs_run", "seconds", "status", "key"]


def sweep(split, tmp_path, configs=CONFIGS, **kw):
    return ex.run_sweep("lr", configs, split=split, cache=tmp_path / "cache", quick=False, **kw)


def test_results_frame_has_one_row_per_config_with_best_epoch(fake, split, tmp_path):
    df = sweep(split, tmp_path)
    assert list(df["lr"]) == [0.01, 0.02, 0.05]
    assert set(RESULT_COLUMNS) <= set(df.columns)
    assert (df["status"] == "ok").all() and not df["cached"].any() and not df["quick"].any()
    assert df.attrs["kind"] == "lr" and df.attrs["quick"] is False
    for _, row in df.iterrows():
        h = ex.history(row["key"], cache=tmp_path / "cache")
        assert list(h.columns[:5]) == list(ex.HISTORY_COLUMNS)
        best = h["val_acc"].idxmax()
        assert row["val_acc"] == h["val_acc"][best]
        assert row["best_epoch"] == h["epoch"][best] and row["val_loss"] == h["val_loss"][best]
        assert row["train_acc"] == h["train_acc"].iloc[-1] and row["epochs_run"] == len(h)
    assert set(ex.histories(df)) == set(df["key"])


def test_cache_returns_identical_results_without_recomputing(fake, split, tmp_path):
    first = sweep(split, tmp_path)
    assert fake.fits == 3
    second = sweep(split, tmp_path)
    assert fake.fits == 3
    assert second["cached"].all()
    pd.testing.assert_frame_equal(first[RESULT_COLUMNS], second[RESULT_COLUMNS])


def test_cache_is_invalidated_by_a_change_of_configuration(fake, split, tmp_path):
    first = sweep(split, tmp_path)
    changed = [CONFIGS[0], CONFIGS[1], dict(lr=0.05, epochs=5)]
    second = sweep(split, tmp_path, changed)
    assert fake.fits == 4
    assert list(second["cached"]) == [True, True, False]
    assert second["key"][2] != first["key"][2]


def test_cache_is_invalidated_by_a_change_of_data(fake, split, tmp_path):
    first = sweep(split, tmp_path)
    X_val = split.X_val.copy()
    X_val[0, 0] ^= 1
    second = sweep(ex.Split(split.X_tr, X_val, split.y_tr, split.y_val), tmp_path)
    assert fake.fits == 6 and not second["cached"].any()
    assert set(first["key"]).isdisjoint(second["key"])


def test_cache_is_invalidated_by_a_change_of_code(fake, split, tmp_path, monkeypatch):
    sweep(split, tmp_path)
    monkeypatch.setattr(ex, "code_hash", lambda: "edited")
    second = sweep(split, tmp_path)
    assert fake.fits == 6 and not second["cached"].any()


def test_source_hash_follows_numeric_sources_only(tmp_path):
    for name in ("models.py", "training.py", "plots.py"):
        (tmp_path / name).write_text(f"# {name}\n")
    h0 = ex.source_hash(tmp_path)
    (tmp_path / "plots.py").write_text("# a new figure\n")
    (tmp_path / "experiments.py").write_text("# a new sweep\n")
    assert ex.source_hash(tmp_path) == h0
    (tmp_path / "training.py").write_text("# a changed update rule\n")
    assert ex.source_hash(tmp_path) != h0
    ex.code_hash.cache_clear()
    assert ex.code_hash() == ex.source_hash(ex.PACKAGE_DIR)


def test_remaking_predictions_without_saved_models_says_what_to_do(tmp_path, capsys):
    from fmnist import cli

    write_synthetic_csvs(tmp_path / "data")
    assert cli.main(["experiments", "--from-models", "--data", str(tmp_path / "data"),
                     "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "lr.npz" in err and "python -m fmnist experiments" in err


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "wrong_key"])
def test_a_damaged_entry_is_recomputed_not_trusted(fake, split, tmp_path, damage, capsys):
    first = sweep(split, tmp_path)
    path = tmp_path / "cache" / f"{first['key'][1]}.json"
    text = path.read_text()
    if damage == "flip":  # a plausible but wrong number, still valid JSON
        entry = json.loads(text)
        entry["history"]["val_acc"][0] = 0.123
        path.write_text(json.dumps(entry))
    elif damage == "truncate":
        path.write_text(text[: len(text) // 2])
    elif damage == "empty":
        path.write_text("")
    else:
        other = (tmp_path / "cache" / f"{first['key'][0]}.json").read_text()
        path.write_text(other)
    second = sweep(split, tmp_path)
    assert fake.fits == 4
    assert list(second["cached"]) == [True, False, True]
    same = [c for c in RESULT_COLUMNS if c != "seconds"]
    pd.testing.assert_frame_equal(first[same], second[same])
    assert "recomputing" in capsys.readouterr().err
    assert sweep(split, tmp_path)["cached"].all()


def test_a_damaged_model_file_is_recomputed(fake, split, tmp_path):
    first = sweep(split, tmp_path, keep_models=True)
    key = first["key"][0]
    model_path = tmp_path / "cache" / f"{key}.npz"
    model_path.write_bytes(model_path.read_bytes()[:20])
    with pytest.raises(ex.CacheError):
        ex.load_cached_model(key, cache=tmp_path / "cache")
    second = sweep(split, tmp_path, keep_models=True)
    assert fake.fits == 4 and list(second["cached"]) == [False, True, True]
    assert ex.load_cached_model(key, cache=tmp_path / "cache").W[0] == 0.01
    # a sweep that does not need models accepts entries without one
    sweep(split, tmp_path, [dict(lr=0.3, epochs=2)])
    assert sweep(split, tmp_path, [dict(lr=0.3, epochs=2)])["cached"].all()
    again = sweep(split, tmp_path, [dict(lr=0.3, epochs=2)], keep_models=True)
    assert not again["cached"].any() and fake.fits == 6


def test_an_interrupted_sweep_keeps_its_finished_runs(fake, split, tmp_path):
    fake.interrupt_on = 0.05
    with pytest.raises(KeyboardInterrupt):
        sweep(split, tmp_path)
    assert fake.fits == 2
    assert not list((tmp_path / "cache").glob("*.tmp*"))
    fake.interrupt_on = None
    df = sweep(split, tmp_path)
    assert fake.fits == 3 and list(df["cached"]) == [True, True, False]


def test_progress_reports_run_i_of_n_elapsed_estimate_and_cached(fake, split, tmp_path, capsys):
    sweep(split, tmp_path, label="grid")
    err = capsys.readouterr().err
    assert "[grid 1/3]" in err and "[grid 3/3]" in err
    assert "elapsed" in err and "left" in err and "lr=0.02" in err
    sweep(split, tmp_path, label="grid")
    assert capsys.readouterr().err == "[grid] all 3 runs cached\n"
    sweep(split, tmp_path, CONFIGS + [dict(lr=0.5, epochs=4)], baseline=CONFIGS[0])
    err = capsys.readouterr().err
    assert err.count("cached") == 3 and "[lr 1/4] baseline: cached" in err
    assert "[lr 4/4] lr=0.5: training" in err
    sweep(split, tmp_path, progress=False)
    assert capsys.readouterr().err == ""


def test_a_diverged_run_is_a_result_not_a_crash(fake, split, tmp_path, monkeypatch):
    from fmnist.training import TrainingDiverged

    def explode(self, *args, **kwargs):
        fake.fits += 1
        raise TrainingDiverged("loss is nan at epoch 2")

    df = sweep(split, tmp_path, CONFIGS[:1])
    monkeypatch.setattr(FakeModel, "fit", explode)
    df = sweep(split, tmp_path, CONFIGS[:1] + [dict(lr=9.0, epochs=3)])
    assert list(df["status"]) == ["ok", "diverged"] and np.isnan(df["val_acc"][1])
    assert ex._best_index(df) == 0
    assert sweep(split, tmp_path, [dict(lr=9.0, epochs=3)])["cached"].all()
    assert fake.fits == 2


def test_one_at_a_time_and_grid():
    base = dict(a=1, b="x", c=0.5)
    runs = ex.one_at_a_time(base, dict(a=(1, 2), b=("y",)))
    assert runs == {"a": [base, {**base, "a": 2}], "b": [{**base, "b": "y"}]}
    assert ex.grid(a=(1, 2), b=(3,)) == [dict(a=1, b=3), dict(a=2, b=3)]


def test_quick_mode_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("FMNIST_QUICK", "1")
    assert ex.quick_mode() and ex.plan() is ex.QUICK_PLAN
    assert ex.cache_dir().name == "experiments-quick"
    monkeypatch.setenv("FMNIST_QUICK", "0")
    assert not ex.quick_mode() and ex.plan() is ex.FULL_PLAN
    assert ex.quick_mode(True) and ex.cache_dir().name == "experiments"


def test_quick_markers_appear_and_disappear(tmp_path):
    f = tmp_path / "lr_pred.csv"
    f.write_text("1\n")
    ex._mark(f, quick=True)
    assert "quick mode" in (tmp_path / "lr_pred.csv.quick").read_text()
    ex._mark(f, quick=False)
    assert not (tmp_path / "lr_pred.csv.quick").exists()


def write_synthetic_csvs(folder, n_train=400, n_test=137):
    """Class-dependent synthetic images in the exercise's CSV format (no header)."""
    rng = np.random.default_rng(1)
    y = np.arange(n_train) % 10
    centres = rng.integers(0, 200, size=(10, 784))
    X = np.clip(centres[y] + rng.integers(0, 56, size=(n_train, 784)), 0, 255)
    X_test = np.clip(centres[np.arange(n_test) % 10] + rng.integers(0, 56, (n_test, 784)), 0, 255)
    folder.mkdir()
    np.savetxt(folder / "train.csv", np.column_stack([y, X]), fmt="%d", delimiter=",")
    np.savetxt(folder / "test.csv", X_test, fmt="%d", delimiter=",")
    return n_test


def test_quick_pipeline_end_to_end(tmp_path, monkeypatch, capsys):
    from fmnist import cli

    n_test = write_synthetic_csvs(tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FMNIST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("FMNIST_CACHE_DIR", raising=False)
    assert cli.main(["experiments", "--quick"]) == 0
    out = capsys.readouterr().out
    assert "QUICK MODE" in out and "best_nn: val_acc" in out
    for name in ("lr_pred.csv", "NN_pred.csv"):
        lines = (tmp_path / name).read_text().split("\n")
        assert lines[-1] == "" and len(lines) == n_test + 1
        assert all(ln in {str(c) for c in range(10)} for ln in lines[:-1])
        assert "quick mode" in (tmp_path / f"{name}.quick").read_text()
    for name in ("models/lr.npz", "models/nn.npz"):
        assert (tmp_path / name).exists() and (tmp_path / f"{name}.quick").exists()
    assert list((tmp_path / ".cache" / "experiments-quick").glob("*.json"))
    assert not (tmp_path / ".cache" / "experiments").exists()

    nn_before = read_predictions(tmp_path / "NN_pred.csv")
    (tmp_path / "NN_pred.csv").unlink()
    assert cli.main(["experiments", "--from-models"]) == 0
    np.testing.assert_array_equal(read_predictions(tmp_path / "NN_pred.csv"), nn_before)
    assert (tmp_path / "NN_pred.csv.quick").exists()

    # a warm rerun recomputes nothing and the frames say they are quick
    sweeps = ex.nn_sweeps(quick=True, progress=False)
    assert all(df["cached"].all() and df["quick"].all() for df in sweeps.values())
    assert set(sweeps) == set(ex.QUICK_PLAN.nn_factors)
    best = ex.best_lr(quick=True, progress=False)
    assert best.quick and best.candidates["cached"].all()
    assert best.val_acc == best.candidates["val_acc"].max()
    assert len(best.history) == best.candidates.loc[best.candidates["key"] == best.key,
                                                    "epochs_run"].item()
