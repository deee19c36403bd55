"""The experiment machinery: plans, the run cache (hits; invalidation by configuration, data,
code and seed; damaged entries), the sweep runner (progress, interruption, diverged runs,
worker processes), the statistics over seeds, and the quick pipeline end to end.

Real models on small synthetic data. Tests that patch anything train in this process
(FMNIST_WORKERS=0): a worker process would not see the patch.
"""

import json
import math
import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from fmnist import experiments as E
from fmnist import plans
from fmnist import runner as R
from fmnist.data import Standardizer
from fmnist.models import MLP, MODELS, LogisticRegression, load_model
from fmnist.plans import DataSpec, best_config_id, over_seeds, summary
from fmnist.runner import run_sweep
from fmnist.training import HISTORY_KEYS
from tests.synth import write_data_dir


def read_predictions(path):  # fmnist._io is gone: its writer is fmnist.data.write_predictions
    return np.loadtxt(path, dtype=np.int64, ndmin=1)

CONFIGS = [dict(lr=0.01, batch_size=32, epochs=3), dict(lr=0.05, batch_size=32, epochs=3),
           dict(lr=0.2, batch_size=32, epochs=3)]
SAME = ["lr", "batch_size", "epochs", "val_acc", "val_loss", "train_acc", "train_loss",
        "best_epoch", "epochs_run", "at_last_epoch", "cut_short", "status", "seconds", "key"]


@pytest.fixture
def spec(tmp_path):
    write_data_dir(tmp_path / "data", n_train=150, n_test=20, noise=120)
    return DataSpec(str(tmp_path / "data" / "train.csv"), val_fraction=0.2)


@pytest.fixture
def fits(monkeypatch):
    """In-process training, with a record of the configuration of every model fitted."""
    monkeypatch.setenv("FMNIST_WORKERS", "0")
    seen = []
    for cls in (LogisticRegression, MLP):
        real = cls.fit

        def counting(self, *args, _real=real, **kwargs):
            seen.append(self.get_params())
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(cls, "fit", counting)
    return seen


def sweep(spec, tmp_path, configs=CONFIGS, kind="logreg", **kw):
    kw.setdefault("progress", False)
    return run_sweep(kind, configs, spec, tmp_path / "cache", **kw)


# ------------------------------------------------------------------------------- plans

def test_one_at_a_time_grid_and_seeds():
    base = dict(a=1, b="x", c=0.5)
    runs = plans.one_at_a_time(base, dict(a=(1, 2), b=("y",)))
    assert runs == {"a": [base, {**base, "a": 2}], "b": [{**base, "b": "y"}]}
    assert plans.grid(a=(1, 2), b=(3,)) == [dict(a=1, b=3), dict(a=2, b=3)]
    assert plans.with_seeds([dict(a=1), dict(a=2)], (0, 5)) == [
        dict(a=1, random_state=0), dict(a=1, random_state=5),
        dict(a=2, random_state=0), dict(a=2, random_state=5)]


@pytest.mark.parametrize("p", [plans.FULL_PLAN, plans.QUICK_PLAN], ids=["full", "quick"])
def test_every_planned_configuration_is_a_valid_model(p):
    """A typo in a plan would otherwise surface only deep into a long run."""
    swept = plans.sweeps(p)
    configs = {"logreg": [*(c for cs in swept["logreg"].values() for c in cs),
                          *plans.variants(p.logreg_base, p.logreg_final).values()],
               "nn": [p.nn_final_base, *(c for cs in swept["nn"].values() for c in cs),
                      *plans.nn_search(p),
                      *plans.variants(p.nn_final_base, p.nn_ablation).values()]}
    assert len(swept["nn"]["activation"]) == sum(map(len, p.nn_activation_lrs.values()))
    for kind, cs in configs.items():
        for c in cs:
            MODELS[kind](**c)._validate()
    assert 0 in p.seeds and len(set(p.seeds)) == len(p.seeds) >= 2


def test_sweep_keys_differ_by_seed_and_only_by_what_differs():
    config = dict(lr=0.1, epochs=3)
    keys = [R.run_key("logreg", c, "data", "code") for c in plans.with_seeds([config], (0, 1, 2))]
    assert len(set(keys)) == 3
    assert keys[0] == R.run_key("logreg", {"epochs": 3, "random_state": 0, "lr": 0.1},
                                "data", "code")  # the order of the keys does not matter
    assert keys[0] != R.run_key("nn", {**config, "random_state": 0}, "data", "code")


# ------------------------------------------------------------------------------- the cache

def test_results_frame_one_row_per_config_at_the_best_epoch(fits, spec, tmp_path):
    df = sweep(spec, tmp_path)
    assert len(fits) == 3 and list(df["lr"]) == [0.01, 0.05, 0.2]
    assert (df["status"] == "ok").all() and not df["cached"].any()
    assert df.attrs["kind"] == "logreg" and df.attrs["quick"] is False
    for _, row in df.iterrows():
        h = E.history(df, row["key"])
        assert list(h.columns) == list(HISTORY_KEYS) and len(h) == row["epochs_run"] == 3
        best = int(h["val_acc"].idxmax())  # the earliest best epoch
        assert row["best_epoch"] == h["epoch"][best] and row["val_acc"] == h["val_acc"][best]
        # training figures are taken AT the best epoch, not the last
        assert row["train_acc"] == h["train_acc"][best]
        assert row["train_loss"] == h["train_loss"][best]
        assert row["at_last_epoch"] == (best == len(h) - 1)


def test_cache_returns_identical_results_without_training(fits, spec, tmp_path):
    first = sweep(spec, tmp_path)
    second = sweep(spec, tmp_path)
    assert len(fits) == 3 and second["cached"].all()
    pd.testing.assert_frame_equal(first[SAME], second[SAME])


def test_cache_is_invalidated_by_a_change_of_configuration(fits, spec, tmp_path):
    first = sweep(spec, tmp_path)
    second = sweep(spec, tmp_path, [*CONFIGS[:2], {**CONFIGS[2], "epochs": 4}])
    assert len(fits) == 4 and list(second["cached"]) == [True, True, False]
    assert second["key"][2] != first["key"][2]


def test_cache_is_invalidated_by_the_seed(fits, spec, tmp_path):
    seeded = plans.with_seeds(CONFIGS[:1], (0, 1))
    df = sweep(spec, tmp_path, seeded)
    assert len(fits) == 2 and df["key"].nunique() == 2
    assert df["val_loss"][0] != df["val_loss"][1]  # another seed, another shuffle
    again = sweep(spec, tmp_path, plans.with_seeds(CONFIGS[:1], (1, 2)))
    assert list(again["cached"]) == [True, False] and len(fits) == 3
    assert again["key"][0] == df["key"][1]


def test_cache_is_invalidated_by_a_change_of_data(fits, spec, tmp_path):
    first = sweep(spec, tmp_path)
    # the same file name with one pixel changed, in the same process (a long-lived kernel)
    path = tmp_path / "data" / "train.csv"
    lines = path.read_text().splitlines()
    cells = lines[0].split(",")
    cells[400] = str(255 - int(cells[400]))
    path.write_text("\n".join([",".join(cells), *lines[1:]]) + "\n")
    second = sweep(spec, tmp_path)
    assert len(fits) == 6 and not second["cached"].any()
    assert set(first["key"]).isdisjoint(second["key"])
    # another part of the same file: other arrays
    third = sweep(replace(spec, n_val=20), tmp_path)
    assert len(fits) == 9 and not third["cached"].any()
    assert set(third["key"]).isdisjoint([*first["key"], *second["key"]])


def test_cache_is_invalidated_by_a_change_of_code(fits, spec, tmp_path, monkeypatch):
    first = sweep(spec, tmp_path)
    monkeypatch.setattr(R, "code_hash", lambda: "edited")
    second = sweep(spec, tmp_path)
    assert len(fits) == 6 and not second["cached"].any()
    assert set(first["key"]).isdisjoint(second["key"])


def test_source_hash_follows_the_numeric_modules_only(tmp_path):
    for name in ("models.py", "training.py", "plots.py"):
        (tmp_path / name).write_text(f"# {name}\n")
    h0 = R.source_hash(tmp_path)
    (tmp_path / "plots.py").write_text("# a new figure\n")
    (tmp_path / "experiments.py").write_text("# a new runner\n")
    assert R.source_hash(tmp_path) == h0
    (tmp_path / "training.py").write_text("# a changed update rule\n")
    assert R.source_hash(tmp_path) != h0
    assert {"models.py", "training.py", "functional.py", "data.py"} <= set(
        R.NUMERIC_MODULES)
    R.code_hash.cache_clear()
    assert R.code_hash() == R.source_hash(R.PACKAGE_DIR)


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "wrong_key", "not_json"])
def test_a_damaged_entry_is_recomputed_not_trusted(fits, spec, tmp_path, damage, capsys):
    first = sweep(spec, tmp_path)
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
    elif damage == "not_json":
        path.write_bytes(b"\xff\xfe\x00garbage")
    else:
        path.write_text((tmp_path / "cache" / f"{first['key'][0]}.json").read_text())
    second = sweep(spec, tmp_path, progress=True)
    assert len(fits) == 4 and list(second["cached"]) == [True, False, True]
    same = [c for c in SAME if c != "seconds"]
    pd.testing.assert_frame_equal(first[same], second[same])
    assert f"cache entry {first['key'][1]} is unusable" in capsys.readouterr().err
    assert sweep(spec, tmp_path)["cached"].all()


def test_a_damaged_model_file_is_recomputed(fits, spec, tmp_path):
    first = sweep(spec, tmp_path, keep_models=True)
    key = first["key"][0]
    model_path = tmp_path / "cache" / f"{key}.npz"
    good = load_model(model_path)
    model_path.write_bytes(model_path.read_bytes()[:200])
    with pytest.raises(R.CacheError, match="model"):
        R.read_entry(tmp_path / "cache", key, need_model=True)
    second = sweep(spec, tmp_path, keep_models=True)
    assert len(fits) == 4 and list(second["cached"]) == [False, True, True]
    np.testing.assert_array_equal(load_model(model_path).W, good.W)
    # a sweep that needs no model accepts an entry without one; one that needs it retrains
    sweep(spec, tmp_path, [dict(lr=0.3, epochs=2)])
    assert sweep(spec, tmp_path, [dict(lr=0.3, epochs=2)])["cached"].all()
    again = sweep(spec, tmp_path, [dict(lr=0.3, epochs=2)], keep_models=True)
    assert not again["cached"].any() and len(fits) == 6


def test_an_interrupted_sweep_keeps_its_finished_runs(fits, spec, tmp_path, monkeypatch):
    real = LogisticRegression.fit

    def interrupt_third(self, *args, **kwargs):
        if self.lr == 0.2:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(LogisticRegression, "fit", interrupt_third)
    with pytest.raises(KeyboardInterrupt):
        sweep(spec, tmp_path)
    assert len(fits) == 2  # the third was interrupted before it counted
    assert len(list((tmp_path / "cache").glob("*.json"))) == 2
    assert not [p for p in (tmp_path / "cache").iterdir() if p.suffix != ".json"]
    monkeypatch.setattr(LogisticRegression, "fit", real)
    df = sweep(spec, tmp_path)
    assert list(df["cached"]) == [True, True, False]


def test_progress_lines(fits, spec, tmp_path, capsys):
    sweep(spec, tmp_path, label="grid", base=CONFIGS[0], progress=True)
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "[grid] training 3 of 3 runs (in this process)"
    assert [ln.split("]")[0] for ln in err[1:]] == ["[grid 1/3", "[grid 2/3", "[grid 3/3"]
    assert re.match(r"\[grid 1/3\] baseline: ok, val_acc [01]\.\d{4} at epoch \d in \d+ s "
                    r"\(elapsed 0:0\d, ~0:0\d left\)$", err[1]), err[1]
    assert err[2].startswith("[grid 2/3] lr=0.05: ok, val_acc ")
    assert err[3].endswith("(elapsed 0:00)") or "left" not in err[3]
    sweep(spec, tmp_path, label="grid", progress=True)
    assert capsys.readouterr().err == "[grid] all 3 runs cached\n"
    sweep(spec, tmp_path, [*CONFIGS, dict(lr=0.5, epochs=2)], label="more", progress=True)
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "[more] training 1 of 4 runs (in this process)" and len(err) == 2
    assert err[1].startswith("[more 1/1] lr=0.5 epochs=2: ok")
    sweep(spec, tmp_path, [dict(lr=0.7, epochs=1)])
    assert capsys.readouterr().err == ""


def test_a_diverged_run_is_a_result_not_a_crash(fits, spec, tmp_path):
    df = sweep(spec, tmp_path, [CONFIGS[0], dict(lr=1e30, epochs=3)])
    assert list(df["status"]) == ["ok", "diverged"]
    assert math.isnan(df["val_acc"][1]) and math.isnan(df["val_loss"][1])
    entry = R.read_entry(tmp_path / "cache", df["key"][1])
    assert "diverged at epoch" in entry["message"] and "lower the learning rate" in entry["message"]
    # the outcome is cached like any other: not retried on the next run
    again = sweep(spec, tmp_path, [dict(lr=1e30, epochs=3)])
    assert again["cached"].all() and again["status"][0] == "diverged" and len(fits) == 2


def test_a_run_ending_above_ln10_counts_as_diverged(fits, spec, tmp_path, monkeypatch):
    """Finite but worse than uniform guessing (where every run starts): it did not learn."""
    def fit_badly(self, X, y, X_val=None, y_val=None, callback=None):
        fits.append(self.get_params())
        self.history_ = {"epoch": [1, 2], "train_loss": [2.0, 2.31], "train_acc": [0.3, 0.1],
                         "val_loss": [2.1, 2.4], "val_acc": [0.3, 0.1], "seconds": [0.0, 0.0],
                         "lr": [self.lr, self.lr]}
        return self

    monkeypatch.setattr(LogisticRegression, "fit", fit_badly)
    assert math.log(10) < 2.31
    df = sweep(spec, tmp_path, [dict(lr=50.0, epochs=2)])
    assert df["status"][0] == "diverged" and math.isnan(df["val_acc"][0])
    assert df["epochs_run"][0] == 2


def test_summary_of_a_run():
    hist = {"epoch": [1, 2, 3], "train_loss": [1.0, 0.5, 0.4], "train_acc": [0.6, 0.8, 0.9],
            "val_loss": [1.1, 0.6, 0.7], "val_acc": [0.6, 0.8, 0.8], "seconds": [0, 0, 0],
            "lr": [0.1] * 3}
    row = summary({"status": "ok", "history": hist})
    assert math.isnan(row.pop("peak_before"))
    assert row == {"val_acc": 0.8, "val_loss": 0.6, "train_acc": 0.8, "train_loss": 0.5,
                   "best_epoch": 2, "epochs_run": 3, "at_last_epoch": False, "cut_short": False,
                   "status": "ok"}
    # ran its 3 epochs, the best 1 before the end, with patience 2: the limit stopped it
    limited = summary({"status": "ok", "history": hist,
                       "config": {"epochs": 3, "patience": 2}})
    assert limited["cut_short"] is True
    stopped = summary({"status": "ok", "history": hist, "config": {"epochs": 3, "patience": 1}})
    assert stopped["cut_short"] is False  # patience 1 ran out at epoch 3: early stopping
    fixed = summary({"status": "ok", "history": hist, "config": {"epochs": 3, "patience": None}})
    assert fixed["cut_short"] is False  # a fixed-length run (cosine schedule)
    diverged = summary({"status": "diverged", "history": {k: [] for k in HISTORY_KEYS}})
    assert diverged["status"] == "diverged" and diverged["epochs_run"] == 0
    assert math.isnan(diverged["val_acc"])
    above = summary({"status": "ok", "history": {**hist, "train_loss": [1.0, 0.5, 2.4]}})
    assert above["status"] == "diverged" and math.isnan(above["val_acc"])
    assert above["peak_before"] == 0.8  # what it reached before diverging is kept apart


# ------------------------------------------------------------------------------- over seeds

def seeds_frame(val_accs: dict[int, list[float]], status=None) -> pd.DataFrame:
    """A results frame as Context.sweep makes it: config_id, lr, random_state, results."""
    rows = [{"config_id": cid, "lr": [0.01, 0.1, 1.0][cid], "random_state": s, "val_acc": a,
             "train_acc": a + 0.05, "val_loss": 1 - a, "train_loss": 0.9 - a,
             "best_epoch": 3, "epochs_run": 4, "at_last_epoch": s == 0, "cut_short": False,
             "peak_before": float("nan"),
             "status": "ok" if status is None else status(cid, s), "key": f"k{cid}{s}"}
            for cid, accs in val_accs.items() for s, a in enumerate(accs)]
    df = pd.DataFrame(rows)
    df.attrs.update(kind="logreg", label="test",
                    configs=[dict(lr=lr, epochs=4) for lr in (0.01, 0.1, 1.0)][:len(val_accs)])
    return df


def test_over_seeds_mean_sd_and_n():
    df = seeds_frame({0: [0.80, 0.82, 0.84], 1: [0.70, 0.90, float("nan")]})
    stats = over_seeds(df)
    assert list(stats["config_id"]) == [0, 1] and list(stats["lr"]) == [0.01, 0.1]
    assert stats["mean"].tolist() == pytest.approx([0.82, 0.80])
    assert stats["sd"].tolist() == pytest.approx([0.02, np.std([0.7, 0.9], ddof=1)])
    assert stats["n"].tolist() == [3, 2] and stats["seeds"].tolist() == [3, 3]
    assert stats["train_acc"].tolist() == pytest.approx([0.87, 0.85])
    assert stats["at_last_epoch"].tolist() == [1, 1]


def test_best_config_is_the_best_mean_not_the_best_single_seed():
    # config 0 has the single best run (0.95) but the lower mean
    df = seeds_frame({0: [0.95, 0.70, 0.70], 1: [0.85, 0.84, 0.86], 2: [0.80, 0.80, 0.81]})
    assert df.loc[df["val_acc"].idxmax(), "config_id"] == 0
    assert best_config_id(df) == 1
    assert plans.best_config(df) == dict(lr=0.1, epochs=4)


def test_best_config_skips_configurations_with_a_diverged_seed():
    df = seeds_frame({0: [0.80, 0.80, 0.80], 1: [0.90, 0.90, float("nan")]},
                     status=lambda cid, s: "diverged" if (cid, s) == (1, 2) else "ok")
    assert over_seeds(df)["diverged"].tolist() == [0, 1]
    assert best_config_id(df) == 0
    with pytest.raises(RuntimeError, match="no configuration of test finished"):
        best_config_id(seeds_frame({0: [0.8]}, status=lambda cid, s: "diverged"))


# ------------------------------------------------------------------------------- Context

def small_context(tmp_path, spec_dir, **plan_changes) -> E.Context:
    p = replace(plans.QUICK_PLAN, seeds=(0, 1), n_train=None, n_val=None, search_n_train=80,
                **plan_changes)
    return E.Context(quick=True, plan=p, data_dir=spec_dir, cache=tmp_path / "cache",
                     progress=False)


def test_shared_runs_of_one_at_a_time_sweeps_train_once(fits, spec, tmp_path):
    ctx = small_context(tmp_path, tmp_path / "data")
    base = dict(lr=0.1, batch_size=32, epochs=2)
    per_factor = plans.one_at_a_time(base, dict(lr=(0.01, 0.1), batch_size=(16, 32)))
    runs, out = E._sweeps(ctx, "logreg", per_factor, base, "logreg sweeps")
    # 4 configurations listed, 3 distinct (the baseline is in both factors), 2 seeds each
    assert len(fits) == 3 * 2 and runs["config_id"].nunique() == 3
    assert sum({k: c[k] for k in base} == base and c["random_state"] == 0 for c in fits) == 1
    assert set(out) == {"lr", "batch_size"}
    assert list(out["lr"]["lr"]) == [0.01, 0.01, 0.1, 0.1]
    assert list(out["batch_size"]["batch_size"]) == [16, 16, 32, 32]
    base_keys = set(runs.loc[(runs["lr"] == 0.1) & (runs["batch_size"] == 32), "key"])
    assert set(out["lr"]["key"][2:]) == set(out["batch_size"]["key"][2:]) == base_keys
    assert out["lr"].attrs["factor"] == "lr" and out["lr"].attrs["kind"] == "logreg"
    assert best_config_id(out["lr"]) in set(out["lr"]["config_id"])


def test_context_create_reads_quick_mode_and_folders(tmp_path, monkeypatch):
    monkeypatch.delenv("FMNIST_CACHE_DIR", raising=False)
    monkeypatch.delenv("FMNIST_DATA_DIR", raising=False)
    for value, quick in (("1", True), ("true", True), ("yes", True), ("0", False), ("", False)):
        monkeypatch.setenv("FMNIST_QUICK", value)
        ctx = E.Context.create()
        assert ctx.quick is quick and ctx.plan is (plans.QUICK_PLAN if quick else plans.FULL_PLAN)
        assert str(ctx.cache) == (".cache/experiments-quick" if quick else ".cache/experiments")
    assert E.Context.create(quick=True).quick  # an explicit choice beats the environment
    monkeypatch.setenv("FMNIST_QUICK", "1")
    assert not E.Context.create(quick=False).quick
    monkeypatch.setenv("FMNIST_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.setenv("FMNIST_DATA_DIR", str(tmp_path / "d"))
    ctx = E.Context.create()
    assert ctx.cache == tmp_path / "c" / "experiments-quick" and ctx.data_dir == tmp_path / "d"


def test_quick_pipeline_end_to_end(fits, tmp_path, monkeypatch, capsys):
    from fmnist import __main__ as cli

    _, _, X_test = write_data_dir(tmp_path / "data", n_train=200, n_test=37, noise=120)
    ctx = E.Context.create(quick=True, data_dir=tmp_path / "data", cache=tmp_path / "cache",
                           progress=False)
    results = E.run_all(ctx)
    n_fits = len(fits)
    files = E.write_deliverables(results, out=tmp_path / "out")
    out = tmp_path / "out"
    assert set(files) == {"logreg", "nn", "logreg_model", "nn_model"}
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == sorted(
        [*E.PREDICTION_FILES.values(), *E.MODEL_FILES.values(), "models",
         *(f"{n}.quick" for n in [*E.PREDICTION_FILES.values(), *E.MODEL_FILES.values()])])
    for kind, name in E.PREDICTION_FILES.items():
        lines = (out / name).read_text().split("\n")
        assert lines[-1] == "" and len(lines) == len(X_test) + 1
        assert all(ln in {str(c) for c in range(10)} for ln in lines[:-1])
        np.testing.assert_array_equal(read_predictions(out / name),
                                      results.best[kind].submitted.predict(X_test))
        assert "quick mode" in (out / f"{name}.quick").read_text()
    for name in E.MODEL_FILES.values():
        assert (out / name).exists() and (out / f"{name}.quick").exists()

    # the submitted models: seed 0 of the best candidate by mean, kept at their best epoch
    for kind, finals in (("logreg", results.logreg_finals), ("nn", None)):
        best = results.best[kind]
        assert best.runs["random_state"].tolist() == list(ctx.plan.seeds)
        assert best.val_acc == best.seed0["val_acc"] == pytest.approx(
            best.model.score(*_val(ctx)))
        assert best.best_epoch == best.model.best_epoch_ and len(best.history) >= best.best_epoch
        if finals is not None:
            assert best.config == plans.best_config(finals)
        # submitted: the chosen configuration refitted with seed 0 on the training and the
        # validation part together: a constant step for the mean kept epoch count over
        # seeds, a cosine schedule whole
        cosine = best.config.get("lr_schedule") == "cosine"
        epochs = best.config["epochs"] if cosine else max(1, round(best.runs["best_epoch"].mean()))
        assert best.refit["random_state"] == 0 and best.refit["epochs"] == epochs
        assert best.refit["epochs_run"] == epochs and not best.refit["restore_best"]
        assert best.submitted.get_params().items() >= {
            **best.config, "epochs": epochs, "patience": None, "restore_best": False,
            "random_state": 0}.items()
        (X_tr, X_val, _, _), _ = ctx.spec(search=False).load()
        assert best.submitted.scaler_.mean_ == pytest.approx(
            Standardizer().fit(np.concatenate([X_tr, X_val])).mean_)
        # the refit's check without labels: agreement with seed 0's model, beside seed 1's
        seed1 = best.runs.loc[best.runs["random_state"] == 1, "key"].iloc[0]
        agree = E.agreement(ctx, best, X_test)
        ref = best.model.predict(X_test)
        assert agree == {"refit": np.mean(best.submitted.predict(X_test) == ref),
                         "seed 1": np.mean(load_model(ctx.cache / f"{seed1}.npz")
                                           .predict(X_test) == ref)}
    assert set(results.logreg) == set(ctx.plan.logreg_factors)
    assert set(results.nn) == {*ctx.plan.nn_factors, "activation"}
    assert results.nn_ablation["variant"].iloc[0] == "final"

    # a warm rerun trains nothing and gives the same numbers (not the same seconds: on data
    # this small the search subset is the whole training part, so the finals retrained the
    # chosen search runs to keep their models, with the same results)
    again = E.run_all(ctx)
    assert len(fits) == n_fits
    pd.testing.assert_frame_equal(again.nn_search.drop(columns=["cached", "seconds"]),
                                  results.nn_search.drop(columns=["cached", "seconds"]))

    # the prediction files can be remade from the saved models alone
    before = read_predictions(out / "NN_pred.csv")
    (out / "NN_pred.csv").unlink()
    E.remake_predictions(ctx, out=out)
    np.testing.assert_array_equal(read_predictions(out / "NN_pred.csv"), before)
    assert (out / "NN_pred.csv.quick").exists()

    # FMNIST_QUICK=true means quick mode for the command too: same plan, same (warm) cache
    monkeypatch.setenv("FMNIST_QUICK", "true")
    out2 = tmp_path / "out2"
    assert cli.main(["experiments", "--data-dir", str(tmp_path / "data"), "--cache",
                     str(tmp_path / "cache"), "--out", str(out2), "--quiet"]) == 0
    assert "QUICK MODE" in capsys.readouterr().out and len(fits) == n_fits
    for name in [*E.PREDICTION_FILES.values(), *E.MODEL_FILES.values()]:
        assert (out2 / f"{name}.quick").exists()
    np.testing.assert_array_equal(read_predictions(out2 / "NN_pred.csv"), before)


def _val(ctx):
    """The validation part of a context's full-training-part runs: (X_val, y_val)."""
    (_, X_val, _, y_val), _ = ctx.spec(search=False).load()
    return X_val, y_val


# ------------------------------------------------------------------------------- workers

def test_workers_setting(monkeypatch):
    monkeypatch.setenv("FMNIST_WORKERS", "0")
    assert R.workers() == 0
    monkeypatch.setenv("FMNIST_WORKERS", "3")
    assert R.workers() == 3
    monkeypatch.setenv("FMNIST_WORKERS", "two")
    with pytest.raises(ValueError, match="FMNIST_WORKERS must be an integer"):
        R.workers()
    monkeypatch.delenv("FMNIST_WORKERS")
    assert R.workers() == 2


def test_two_workers_give_the_numbers_of_one(spec, tmp_path, monkeypatch, capsys):
    """Each run trains in a worker with one BLAS thread, whatever the number of workers."""
    configs = plans.with_seeds([dict(hidden=16, dropout=0.3, epochs=2, batch_size=32,
                                     momentum=0.9, augment="flip"),
                                dict(hidden=8, epochs=2, batch_size=16)], (0, 1))
    frames, histories = {}, {}
    for n in ("1", "2"):
        monkeypatch.setenv("FMNIST_WORKERS", n)
        df = run_sweep("nn", configs, spec, tmp_path / f"cache{n}", progress=True)
        assert f"({n} worker process" in capsys.readouterr().err
        frames[n] = df.drop(columns=["seconds", "cached"])
        histories[n] = [E.history(df, k).drop(columns="seconds") for k in df["key"]]
    pd.testing.assert_frame_equal(frames["1"], frames["2"])
    for a, b in zip(histories["1"], histories["2"], strict=True):
        pd.testing.assert_frame_equal(a, b)
    assert frames["1"]["val_loss"].nunique() == 4


def test_an_error_in_a_worker_is_raised_here(spec, tmp_path, monkeypatch):
    monkeypatch.setenv("FMNIST_WORKERS", "2")
    with pytest.raises(ValueError, match="lr"):
        sweep(spec, tmp_path, [dict(lr=0.1, epochs=1), dict(lr=-1.0, epochs=1)])
    assert not [p for p in (tmp_path / "cache").iterdir() if p.suffix != ".json"]
