"""fmnist.verdicts: the noise rule, the verdict on each factor, the network's grid, ablation and
search, the loss trend and the confusion helpers, checked as values.

The results are synthetic, built the way `experiments.Context.sweep` builds them (one row per
(configuration, seed): `config_id`, the configuration, `random_state`, the summary columns;
`attrs` with kind and configs), so every verdict can be set by hand: a tie, a real difference,
a diverged setting, a run the epoch limit cut short. One test runs the real quick pipeline on
toy data to check that every verdict is made from real frames too.
"""

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from fmnist import verdicts as V

N_VAL = 5600  # binomial SE at 85%: 0.48 points
NAN = float("nan")


# --------------------------------------------------------------------------- synthetic results


def runs(kind, configs, accs, gap=0.02, **extra):
    """A results frame: configs[i] trained with len(accs[i]) seeds; NaN accuracy = diverged.
    Training accuracy is validation + `gap` (one number, or one per configuration). `extra`:
    columns added after the configuration (as `candidate` and `variant` are)."""
    gaps = gap if isinstance(gap, list) else [gap] * len(configs)
    rows = []
    for cid, (config, seed_accs) in enumerate(zip(configs, accs, strict=True)):
        for seed, a in enumerate(seed_accs):
            ok = bool(np.isfinite(a))
            rows.append({"config_id": cid, **config, "random_state": seed, "val_acc": a,
                         "val_loss": 1 - a, "train_acc": a + gaps[cid] if ok else NAN,
                         "train_loss": 0.9 - a if ok else NAN, "best_epoch": 5 if ok else NAN,
                         "epochs_run": 10, "at_last_epoch": False, "cut_short": False,
                         "peak_before": NAN,
                         "status": "ok" if ok else "diverged", "seconds": 1.0, "cached": False,
                         "key": f"{kind}-{cid}-{seed}"})
    df = pd.DataFrame(rows)
    for pos, (name, values) in enumerate(extra.items(), start=1):
        df.insert(pos, name, [values[i] for i in df["config_id"]])
    df.attrs.update(kind=kind, label="test", quick=True, cache_dir="/nonexistent",
                    configs=list(configs))
    return df


def sweep(kind, factor, values, accs, base=None, **kw):
    return runs(kind, [{**(base or {}), factor: v} for v in values], accs, **kw)


def spread(mean, sd=0.001, n=3):
    """n seed accuracies with the given mean and (about) that sd."""
    return list(mean + sd * np.linspace(-1, 1, n))


def context(n_val=N_VAL, n_train=50_000):
    data = (np.zeros((n_train, 1)), np.zeros((n_val, 1)), np.zeros(n_train), np.zeros(n_val))
    spec = SimpleNamespace(load=lambda: (data, "fingerprint"))
    plan = SimpleNamespace(nn_final_search={"dropout": (0.2, 0.4)})
    return SimpleNamespace(spec=lambda search: spec, plan=plan)


def history(val_loss, train_loss=None, train_acc=None, val_acc=None):
    n = len(val_loss)
    return pd.DataFrame({"epoch": range(1, n + 1), "val_loss": val_loss,
                         "train_loss": train_loss or list(np.linspace(1.0, 0.3, n)),
                         "train_acc": train_acc or [0.9] * n, "val_acc": val_acc or [0.85] * n})


def best_model(kind, config, accs, hist=None):
    """What `experiments.BestModel` gives the verdicts and tables: seed 0 kept at epoch 5."""
    r = runs(kind, [config], [accs])
    return SimpleNamespace(kind=kind, config=config, runs=r, model=None,
                           history=hist if hist is not None else history([0.5, 0.4, 0.45]),
                           best_epoch=5, val_acc=float(accs[0]), refit=pd.Series({"epochs": 5}))


NN_BASE = dict(hidden=128, activation="relu", lr=0.1, dropout=0.0)
FINAL = dict(hidden=512, activation="relu", lr=0.05, dropout=0.3)


def make_results(ablation=None, grid=None):
    """Results with hand-set means: logistic regression's lr sweep has a tie, a real difference
    and a diverged rate; the grid's dropout hurts 32 units and helps 512."""
    logreg = {
        "lr": sweep("logreg", "lr", [0.1, 0.001, 0.01, 1.0],
                    [spread(0.85), spread(0.80), spread(0.849), [NAN] * 3]),
        "l2": sweep("logreg", "l2", [0.0, 1e-3], [spread(0.850), spread(0.851)])}
    nn = {
        "hidden": sweep("nn", "hidden", [32, 128], [spread(0.85), spread(0.87)], NN_BASE),
        "activation": runs("nn", [{**NN_BASE, "activation": a, "lr": lr} for a, lr in
                                  (("relu", 0.03), ("relu", 0.1), ("tanh", 0.1),
                                   ("sigmoid", 0.3), ("sigmoid", 3.0))],
                           [spread(0.86), spread(0.87), spread(0.868), spread(0.84), [NAN] * 3])}
    grid = grid if grid is not None else runs(
        "nn", [{**NN_BASE, "hidden": h, "dropout": d} for h in (32, 512) for d in (0.0, 0.4)],
        [spread(0.85), spread(0.84), spread(0.86), spread(0.87)],
        gap=[0.03, 0.01, 0.10, 0.06])
    search = runs("nn", [{**FINAL, "dropout": d} for d in (0.2, 0.4)],
                  [spread(0.88), [0.95, 0.95, NAN]])  # 0.4 has the top mean but a seed diverged
    variants = ablation or {"final": spread(0.88), "no_dropout": spread(0.86),
                            "with_flips": spread(0.879), "narrow": spread(0.90),
                            "no_momentum_schedule": [NAN] * 3}
    abl = runs("nn", [FINAL] * len(variants), list(variants.values()), variant=list(variants))
    finals = runs("logreg", [dict(lr=0.1), dict(lr=0.1, momentum=0.9)],
                  [spread(0.850), spread(0.849)], candidate=["swept", "cosine"])
    return SimpleNamespace(
        ctx=context(), logreg=logreg, logreg_finals=finals, nn=nn, nn_grid=grid,
        nn_search=search, nn_ablation=abl,
        best={"logreg": best_model("logreg", dict(lr=0.1), spread(0.850)),
              "nn": best_model("nn", FINAL, spread(0.880))})


def stats(df, factor):
    """The `over_seeds` rows of a sweep of `factor`, as the verdicts read them."""
    return V.stats({factor: df})[factor]


def row(mean, sd=0.002, n=3):
    """A row of `over_seeds` as `compare` reads it."""
    return pd.Series({"mean": mean, "sd": sd, "n": n})


# --------------------------------------------------------------------------- the noise rule


def test_binomial_se():
    assert V.binomial_se(0.9, 5600) == pytest.approx(math.sqrt(0.09 / 5600))
    assert V.binomial_se(0.9, 5600) == pytest.approx(0.004, abs=5e-5)
    assert V.binomial_se(1.0, 100) == 0


def test_compare_a_difference_within_the_binomial_error_is_a_tie():
    # seeds agree exactly (sd 0) but 0.3 points is less than one binomial SE (~0.48 points)
    c = V.compare(row(0.853, 0.0), row(0.850, 0.0), N_VAL)
    assert c.tie and not c.higher and not c.lower and c.se == 0
    assert c.threshold == pytest.approx(V.binomial_se(0.8515, N_VAL))


def test_compare_a_difference_within_twice_the_seed_se_is_a_tie():
    # 1 point apart, sd 1 point on 3 seeds each: SE = 0.82 points, 2 SE = 1.6 points
    c = V.compare(row(0.86, 0.01), row(0.85, 0.01), N_VAL)
    assert c.se == pytest.approx(math.sqrt(2 * 0.01 ** 2 / 3))
    assert c.threshold == pytest.approx(2 * c.se) and c.tie


def test_compare_beyond_both_is_higher_or_lower_and_symmetric():
    up = V.compare(row(0.87), row(0.85), N_VAL)
    down = V.compare(row(0.85), row(0.87), N_VAL)
    assert up.higher and not up.lower and not up.tie
    assert down.lower and not down.higher and not down.tie
    assert up.diff == pytest.approx(0.02) and down.diff == pytest.approx(-0.02)
    assert up.threshold == pytest.approx(down.threshold) and up.se == pytest.approx(down.se)


def test_a_difference_equal_to_the_threshold_is_a_tie():
    assert V.Comparison(0.01, 0.0, 0.01).tie and V.Comparison(-0.01, 0.0, 0.01).tie
    assert V.Comparison(0.0101, 0.0, 0.01).higher and V.Comparison(-0.0101, 0.0, 0.01).lower


def test_compare_one_seed_has_no_sd_and_falls_back_to_the_binomial_error():
    c = V.compare(row(0.86, NAN, 1), row(0.85, NAN, 1), N_VAL)
    assert c.se == 0 and c.higher  # 1 point > one binomial SE (0.47 points)
    assert V.compare(row(0.852, NAN, 1), row(0.85, 0.01, 3), N_VAL).tie


def test_compare_fewer_validation_images_widen_the_threshold():
    a, b = row(0.86, 0.0), row(0.85, 0.0)
    assert V.compare(a, b, 5600).higher and V.compare(a, b, 500).tie


def test_compare_refuses_a_diverged_setting():
    with pytest.raises(ValueError):
        V.compare(row(NAN), row(0.85), N_VAL)
    with pytest.raises(ValueError):
        V.compare(row(0.85), row(NAN), N_VAL)


def test_finished_means_no_seed_diverged():
    st = stats(runs("nn", [{"lr": 0.1}, {"lr": 1.0}, {"lr": 10.0}],
                    [spread(0.85), [0.84, NAN, 0.85], [NAN] * 3]), "lr")
    assert [V.finished(r) for _, r in st.iterrows()] == [True, False, False]


# --------------------------------------------------------------------------- one factor


def test_stats_rows_in_order_of_value_activation_left_out():
    res = make_results()
    st = V.stats(res.logreg)
    assert list(st) == ["lr", "l2"]
    assert list(st["lr"]["lr"]) == [0.001, 0.01, 0.1, 1.0]
    assert st["lr"]["mean"].tolist()[:3] == pytest.approx([0.80, 0.849, 0.85])
    assert list(st["lr"].index) == [0, 1, 2, 3]
    assert "activation" not in V.stats(res.nn) and "hidden" in V.stats(res.nn)
    cats = {"augment": runs("nn", [{"augment": a} for a in ("flip", "none", "crop")],
                            [spread(0.8), spread(0.81), spread(0.82)])}
    assert list(V.stats(cats)["augment"]["augment"]) == ["flip", "none", "crop"]  # as given


def test_factor_best_tied_worse_and_diverged():
    f = V.factors(make_results().logreg, N_VAL)["lr"]
    assert f.name == "lr" and f.best == 0.1
    assert f.tied == (0.01,) and f.worse == (0.001,) and f.diverged == (1.0,)
    assert f.values == [0.001, 0.01, 0.1, 1.0]
    assert f.mean(0.1) == pytest.approx(0.85) and f.mean(0.001) == pytest.approx(0.80)
    assert math.isnan(f.mean(1.0))


def test_factor_all_tied():
    f = V.factors(make_results().logreg, N_VAL)["l2"]
    assert f.best == 1e-3 and f.tied == (0.0,) and f.worse == () and f.diverged == ()
    assert f.tied_with_best([0.0, 1e-3])


def test_factor_a_setting_with_one_diverged_seed_is_diverged_even_with_the_top_mean():
    st = stats(sweep("nn", "lr", [0.1, 0.3], [spread(0.85), [0.95, 0.95, NAN]]), "lr")
    f = V.factor(st, "lr", N_VAL)
    assert f.best == 0.1 and f.diverged == (0.3,) and f.tied == () and f.worse == ()


def test_factor_when_every_value_diverged_has_no_best():
    st = stats(sweep("logreg", "lr", [10.0, 100.0], [[NAN] * 3, [NAN] * 3]), "lr")
    f = V.factor(st, "lr", N_VAL)
    assert f.best is None and f.tied == () and f.worse == () and f.diverged == (10.0, 100.0)
    assert not f.tied_with_best([10.0])


def test_factor_row_of_a_value_not_trained_raises_key_error():
    f = V.factors(make_results().logreg, N_VAL)["lr"]
    assert f.row(0.1)["lr"] == 0.1
    for call in (f.row, f.mean, f.gap, f.capped):
        with pytest.raises(KeyError):
            call(0.5)


def test_tied_with_best_fails_for_a_worse_diverged_or_untrained_value():
    f = V.factors(make_results().logreg, N_VAL)["lr"]
    assert f.tied_with_best([0.1, 0.01]) and f.tied_with_best([])
    assert not f.tied_with_best([0.1, 0.001])   # clearly lower
    assert not f.tied_with_best([1.0])          # diverged
    assert not f.tied_with_best([0.05])         # never trained


def test_gap_is_the_difference_of_the_accuracies_as_the_table_shows_them():
    """88.14% and 83.76% show as 88.1% and 83.8%: the gap is 4.3 points, as a reader
    subtracts it, not the unrounded 4.38."""
    df = sweep("logreg", "lr", [0.1, 0.01], [spread(0.8376), spread(0.84)])
    df["train_acc"] = [0.8814] * 3 + [0.85] * 3
    f = V.factor(stats(df, "lr"), "lr", N_VAL)
    assert f.gap(0.1) == pytest.approx(4.3) and f.gap(0.01) == pytest.approx(1.0)


def test_capped_when_the_epoch_limit_ended_every_seed_still_improving():
    df = sweep("logreg", "batch_size", [64, 128, 256, 512],
               [spread(0.85), spread(0.845), spread(0.84), spread(0.83)])
    df.loc[df["batch_size"] == 128, "cut_short"] = [False, True, False]  # one seed of three
    df.loc[df["batch_size"] == 256, "cut_short"] = [True, False, True]    # within its patience
    df.loc[df["batch_size"] == 256, "at_last_epoch"] = [False, True, False]
    df.loc[df["batch_size"] == 512, "at_last_epoch"] = True  # best epoch = last epoch
    f = V.factor(stats(df, "batch_size"), "batch_size", N_VAL)
    assert [f.capped(b) for b in (64, 128, 256, 512)] == [False, False, True, True]
    assert 256 in f.worse and 512 in f.worse  # still called lower; `capped` says why


def test_a_one_factor_dropout_sweep_can_tie_throughout():
    """At the baseline width a dropout sweep can be all ties while the grid (below) shows a
    real effect at each end of the widths."""
    st = stats(sweep("nn", "dropout", [0.0, 0.2, 0.4],
                     [spread(0.870), spread(0.871), spread(0.869)], NN_BASE), "dropout")
    f = V.factor(st, "dropout", N_VAL)
    assert f.best == 0.2 and set(f.tied) == {0.0, 0.4} and f.tied_with_best(f.values)


# --------------------------------------------------------------------------- the network


def test_activations_each_at_its_own_best_rate_best_first():
    acts = V.activations(make_results())
    assert list(acts["activation"]) == ["relu", "tanh", "sigmoid"]
    assert list(acts["lr"]) == [0.1, 0.1, 0.3]  # relu's 0.03 and sigmoid's diverged 3 left out
    assert acts["mean"].tolist() == pytest.approx([0.87, 0.868, 0.84])
    assert V.compare(acts.iloc[1], acts.iloc[0], N_VAL).tie
    assert V.compare(acts.iloc[2], acts.iloc[0], N_VAL).lower


def test_dropout_by_width_helps_wide_and_hurts_narrow():
    w = V.dropout_by_width(make_results(), N_VAL).set_index("hidden")
    assert list(w.index) == [32, 512] and list(w["dropout"]) == [0.4, 0.4]
    assert bool(w.loc[32, "lower"]) and not w.loc[32, "higher"] and not w.loc[32, "tie"]
    assert bool(w.loc[512, "higher"]) and not w.loc[512, "lower"]
    assert w.loc[32, "diff"] == pytest.approx(-0.01) and w.loc[512, "diff"] == pytest.approx(0.01)
    assert w.loc[32, "with"] == pytest.approx(0.84) and w.loc[32, "without"] == pytest.approx(0.85)
    # training minus validation accuracy in points: dropout narrows the gap at both widths
    assert w["gap_without"].tolist() == pytest.approx([3.0, 10.0])
    assert w["gap_with"].tolist() == pytest.approx([1.0, 6.0])


def test_dropout_by_width_takes_the_best_rate_and_skips_a_width_without_a_baseline():
    grid = runs("nn", [{**NN_BASE, "hidden": h, "dropout": d} for h in (32, 128, 512)
                       for d in (0.0, 0.2, 0.5)],
                [[NAN] * 3, spread(0.84), spread(0.83),              # 32: no dropout diverged
                 spread(0.860), spread(0.862), spread(0.855),         # 128: a tie
                 spread(0.85), spread(0.87), [0.99, 0.99, NAN]])      # 512: 0.5 diverged
    w = V.dropout_by_width(make_results(grid=grid), N_VAL).set_index("hidden")
    assert list(w.index) == [128, 512]
    assert w.loc[128, "dropout"] == 0.2 and bool(w.loc[128, "tie"])
    assert not w.loc[128, "higher"] and not w.loc[128, "lower"]
    assert w.loc[512, "dropout"] == 0.2 and bool(w.loc[512, "higher"])


def test_a_real_difference_under_one_and_a_half_thresholds_is_close():
    assert V.Comparison(-0.005, 0.001, 0.004).close and V.Comparison(-0.005, 0.001, 0.004).lower
    assert not V.Comparison(0.007, 0.001, 0.004).close       # 1.75 thresholds: clear
    assert not V.Comparison(0.003, 0.001, 0.004).close       # a tie is not a close difference


def test_ablation_lower_tie_higher_and_diverged():
    abl = V.ablation(make_results(), N_VAL)
    assert list(abl.index) == ["final", "no_dropout", "with_flips", "narrow",
                               "no_momentum_schedule"]
    assert bool(abl.loc["no_dropout", "lower"]) and abl.loc["no_dropout", "diff"] == \
        pytest.approx(-0.02)
    assert bool(abl.loc["with_flips", "tie"]) and not abl.loc["with_flips", "lower"]
    assert bool(abl.loc["narrow", "higher"]) and abl.loc["narrow", "diff"] == pytest.approx(0.02)
    for variant in ("final", "no_momentum_schedule"):  # nothing compared: the recipe, diverged
        assert all(math.isnan(abl.loc[variant, k])
                   for k in ("diff", "tie", "lower", "higher", "close"))
    assert abl.loc["no_momentum_schedule", "diverged"] == 3


def test_the_search_keeps_a_finished_candidate_and_a_close_lead_is_a_tie():
    """0.4 has the higher mean over its finished seeds, but a seed diverged: 0.2 is kept."""
    def kept(search):
        return search.attrs["configs"][V.smallest_tied(search, N_VAL)]["dropout"]
    assert kept(runs("nn", [{**FINAL, "dropout": d} for d in (0.2, 0.4, 0.6)],
                     [spread(0.8774), [0.95, 0.95, NAN], spread(0.8771)])) == 0.2
    # 0.4 ties with the top and would be chosen only if smaller: the same size, the top is kept
    assert kept(runs("nn", [{**FINAL, "dropout": d} for d in (0.2, 0.4, 0.6)],
                     [spread(0.8774), spread(0.8771), spread(0.850)])) == 0.2
    assert kept(runs("nn", [{**FINAL, "dropout": d} for d in (0.2, 0.4)],
                     [spread(0.850), spread(0.880)])) == 0.4


def test_across_compares_one_factor_at_each_setting_of_the_others():
    grid = runs("nn", [{**NN_BASE, "hidden": h, "dropout": d, "lr": lr} for h in (32, 512)
                       for d in (0.0, 0.4) for lr in (0.05, 0.1)],
                [spread(0.85), spread(0.84), spread(0.86), spread(0.80),
                 spread(0.87), spread(0.868), spread(0.88), [0.9, NAN, NAN]],
                gap=[0.02] * 7 + [0.05])
    x = V.across(grid, "lr", 0.1, 0.05, N_VAL)
    assert list(x.index.names) == ["hidden", "dropout"] and len(x) == 4
    assert bool(x.loc[(32, 0.0), "lower"]) and x.loc[(32, 0.0), "diff"] == pytest.approx(-0.01)
    assert bool(x.loc[(32, 0.4), "lower"]) and not x.loc[(32, 0.4), "close"]
    assert bool(x.loc[(512, 0.0), "tie"])
    assert x.loc[(512, 0.0), "train_diff"] == pytest.approx(-0.002)
    assert math.isnan(x.loc[(512, 0.4), "diff"])  # a seed diverged: nothing compared
    one = V.across(grid[grid["lr"] == 0.05], "dropout", 0.4, 0.0, N_VAL)  # one other factor
    assert list(one.index) == [32, 512] and one.loc[512, "diff"] == pytest.approx(0.01)


def test_finals_candidates_tie_and_the_kept_one():
    cands = V.finals_candidates(make_results().logreg_finals, N_VAL)
    assert list(cands.index) == ["swept", "cosine"]
    assert list(cands["kept"]) == [True, False]
    assert math.isnan(cands.loc["swept", "tie"]) and cands.loc["cosine", "tie"] is True
    real = runs("logreg", [dict(lr=0.1), dict(lr=0.1, momentum=0.9)],
                [spread(0.84), spread(0.86)], candidate=["swept", "cosine"])
    cands = V.finals_candidates(real, N_VAL)
    assert list(cands["kept"]) == [False, True] and cands.loc["swept", "tie"] is False


def test_finals_candidates_never_keep_a_candidate_with_a_diverged_seed():
    r = runs("logreg", [dict(lr=0.1), dict(lr=0.1, momentum=0.9)],
             [spread(0.84), [0.9, 0.9, NAN]], candidate=["swept", "cosine"])
    cands = V.finals_candidates(r, N_VAL)
    assert list(cands["kept"]) == [True, False] and math.isnan(cands.loc["cosine", "tie"])


def test_seeds_stats_and_gap_at_kept_epoch():
    hist = history([0.9, 0.5, 0.6, 0.7], train_acc=[0.8, 0.90, 0.92, 0.95],
                   val_acc=[0.78, 0.86, 0.85, 0.84])
    best = best_model("nn", FINAL, spread(0.88, 0.002), hist)
    best.best_epoch = 2
    s = V.seeds_stats(best)
    assert s["mean"] == pytest.approx(0.88) and s["sd"] == pytest.approx(0.002) and s["n"] == 3
    assert V.gap_at_kept(best) == pytest.approx(4.0)  # 90% - 86% at epoch 2, not the last


@pytest.mark.parametrize("val_loss, train_loss, lowest, end_rise, train_drop", [
    # still falling at the last epoch: nothing after the lowest
    ([0.9, 0.7, 0.6, 0.5], [1.0, 0.8, 0.6, 0.4], 4, 0.0, 0.0),
    # rises while the training loss keeps falling: overfitting
    ([0.9, 0.5, 0.6, 0.7], [1.0, 0.6, 0.5, 0.3], 2, 0.2, 0.3),
    # a few thousandths above its lowest at the end: flat, not "the start of overfitting"
    ([0.9, 0.5, 0.503, 0.503], [1.0, 0.6, 0.5, 0.3], 2, 0.003, 0.3),
    # up on the way and back near the lowest at the end: the end is what is measured
    ([0.9, 0.5, 0.514, 0.501], [1.0, 0.6, 0.5, 0.3], 2, 0.001, 0.3),
    # the training loss stops falling too: the model stopped learning
    ([0.9, 0.5, 0.6, 0.7], [1.0, 0.6, 0.6, 0.61], 2, 0.2, -0.01),
])
def test_loss_trend_after_the_lowest_validation_loss(val_loss, train_loss, lowest, end_rise,
                                                     train_drop):
    t = V.loss_trend(history(val_loss, train_loss))
    assert (t.lowest_epoch, t.last_epoch) == (lowest, 4)
    assert t.end_rise == pytest.approx(end_rise) and t.train_drop == pytest.approx(train_drop)


def test_loss_trend_reads_the_epoch_column_and_skips_a_missing_loss():
    h = history([NAN, 0.6, 0.5, 0.55], [1.0, 0.8, 0.6, 0.4])
    h["epoch"] = [3, 4, 5, 6]
    t = V.loss_trend(h)
    assert (t.lowest_epoch, t.last_epoch) == (5, 6)
    assert t.end_rise == pytest.approx(0.05) and t.train_drop == pytest.approx(0.2)


# --------------------------------------------------------------------------- errors


def test_confusion_matrix_counts_and_per_class_accuracy():
    y_true = np.array([0, 0, 0, 1, 1, 2, 9])
    y_pred = np.array([0, 0, 1, 1, 0, 2, 2])
    C = V.confusion_matrix(y_true, y_pred)
    assert C.shape == (10, 10) and C.sum() == 7
    assert C[0, 0] == 2 and C[0, 1] == 1 and C[1, 0] == 1 and C[9, 2] == 1
    assert np.trace(C) == 4
    acc = V.per_class_accuracy(y_true, y_pred)
    np.testing.assert_allclose(acc[[0, 1, 2, 9]], [2 / 3, 1 / 2, 1, 0])
    assert np.isnan(acc[5])  # a class with no examples has no accuracy, not 0


def test_confusion_matrix_rejects_mismatched_lengths():
    with pytest.raises(ValueError):
        V.confusion_matrix([0, 1], [0])
    with pytest.raises(ValueError):
        V.confusion_matrix([[0, 1]], [[0, 1]])


def confusions():
    C = np.diag([100] * 10)
    C[6, 0], C[0, 6], C[4, 2], C[9, 7], C[1, 3] = 30, 12, 20, 5, 3
    return C


def test_top_confusions_largest_first_with_names():
    C = confusions()
    assert V.top_confusions(C, 3) == [("Shirt", "T-shirt/top", 30), ("Coat", "Pullover", 20),
                                      ("T-shirt/top", "Shirt", 12)]
    assert V.top_confusions(C, 1) == [("Shirt", "T-shirt/top", 30)]
    assert np.diag(C).sum() == 1000  # the input is left alone


def test_share_within_a_group_of_classes():
    C = confusions()
    upper = V.class_index(["T-shirt/top", "Pullover", "Coat", "Shirt"])
    assert upper == [0, 2, 4, 6]
    assert V.share_within(C, upper) == pytest.approx((30 + 12 + 20) / 70)
    assert V.share_within(C, [1, 3]) == pytest.approx(3 / 70)
    assert math.isnan(V.share_within(np.diag([5] * 10), [0, 6]))  # no errors: no share
    with pytest.raises(ValueError):
        V.class_index(["Jacket"])


# --------------------------------------------------------------------------- real frames


@pytest.mark.slow
def test_every_verdict_is_made_from_a_real_quick_run(tmp_path, monkeypatch):
    """The synthetic frames above mirror real ones: every verdict runs on real results."""
    from fmnist import experiments as E
    from fmnist import tables as T
    from tests.synth import write_data_dir

    monkeypatch.setenv("FMNIST_WORKERS", "0")
    write_data_dir(tmp_path / "data", n_train=200, n_test=20, noise=120)
    ctx = E.Context.create(quick=True, data_dir=tmp_path / "data", cache=tmp_path / "cache",
                           progress=False)
    res = E.run_all(ctx)
    nval = ctx.n_val  # the validation part's size
    assert nval == len(ctx.spec(search=False).load()[0][3])
    for model in ("logreg", "nn"):
        frames = getattr(res, model)
        for f in V.factors(frames, nval).values():
            assert f.best in f.values and set(f.tied) | set(f.worse) <= set(f.values)
            for value in f.values:
                assert isinstance(f.capped(value), bool)
    acts = V.activations(res)
    assert set(acts["activation"]) == set(ctx.plan.nn_activation_lrs)
    assert acts["mean"].is_monotonic_decreasing
    w = V.dropout_by_width(res, nval)
    assert set(w["hidden"]) <= set(ctx.plan.nn_grid["hidden"]) and w["diff"].notna().all()
    abl = V.ablation(res, nval)
    assert "final" in abl.index and set(abl.index) - {"final"} <= set(ctx.plan.nn_ablation)
    x = V.across(res.nn_search, "lr", 0.1, 0.05, nval)
    assert len(x) == len(V.over_seeds(res.nn_search)) // len(ctx.plan.nn_final_search["lr"])
    cands = V.finals_candidates(res.logreg_finals, nval)
    assert cands["kept"].sum() == 1
    for best in res.best.values():
        assert np.isfinite(V.seeds_stats(best)["mean"]) and np.isfinite(V.gap_at_kept(best))
        t = V.loss_trend(best.history)
        assert 1 <= t.lowest_epoch <= t.last_epoch and t.end_rise >= 0
    assert set(V.over_seeds(res.nn_grid)["hidden"]) == set(ctx.plan.nn_grid["hidden"])
    for text in (T.sweep_table(res.logreg, ctx.plan.logreg_base),
                 T.sweep_table(res.nn, ctx.plan.nn_base),
                 T.two_way_table(res.nn["activation"], "activation", "lr"),
                 T.search_table(res, nval), T.ablation_table(res, nval), T.chosen_table(res)):
        assert isinstance(text, str) and text.startswith("| ") and "nan" not in text.lower()


def test_smallest_tied_takes_the_fewest_parameters_among_the_ties():
    """A wider layer whose lead is within noise is not chosen; one beyond noise is; a smaller
    setting with a diverged seed is never chosen."""
    def search(accs_by_width):
        widths = list(accs_by_width)
        return runs("nn", [{**FINAL, "hidden": w} for w in widths], list(accs_by_width.values()))
    tie = search({1024: spread(0.882), 512: spread(0.880), 256: spread(0.870)})
    assert tie.attrs["configs"][V.smallest_tied(tie, N_VAL)]["hidden"] == 512
    clear = search({1024: spread(0.900), 512: spread(0.880)})
    assert clear.attrs["configs"][V.smallest_tied(clear, N_VAL)]["hidden"] == 1024
    broken = search({1024: spread(0.882), 512: [0.881, 0.881, NAN]})
    assert broken.attrs["configs"][V.smallest_tied(broken, N_VAL)]["hidden"] == 1024
    same_size = runs("nn", [{**FINAL, "dropout": d} for d in (0.2, 0.4)],
                     [spread(0.880), spread(0.881)])  # equal sizes: the higher mean
    assert same_size.attrs["configs"][V.smallest_tied(same_size, N_VAL)]["dropout"] == 0.4


def test_facing_share_counts_images_closer_to_the_class_mean_than_to_its_mirror():
    rng = np.random.default_rng(0)
    shoe = np.zeros((28, 28))
    shoe[18:24, 2:20] = 200          # a sole, off-centre: the image is not its own mirror
    shoe[8:18, 14:20] = 150          # a shaft at one end
    images = np.clip(shoe + rng.normal(0, 10, (40, 28, 28)), 0, 255)
    images[30:] = images[30:, :, ::-1]   # a quarter drawn the other way
    X, y = images.reshape(40, 784).astype(np.uint8), np.zeros(40, dtype=int)
    assert V.facing_share(X, y, 0) == pytest.approx(0.75)
    assert V.facing_share(X[:30], y[:30], 0) == 1.0
