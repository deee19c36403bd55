"""fmnist.findings: what the report says, computed from `Results`.

The results are synthetic, built the way `experiments.Context.sweep` builds them (one row per
(configuration, seed): `config_id`, the configuration, `random_state`, the summary columns;
`attrs` with kind and configs), so every verdict can be set by hand: a tie, a real difference,
a diverged setting. One test runs the real quick pipeline on toy data to check that every
sentence and table is made from real frames too.
"""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from fmnist import final_findings as Ff
from fmnist import findings as Fd
from fmnist import outcomes as Oc
from fmnist.experiments import BestModel, Results
from fmnist.plans import FULL_PLAN, over_seeds

N_VAL = 5600  # binomial SE at 85%: 0.48 points
NAN = float("nan")


def runs(kind, configs, accs, **extra):
    """A results frame: configs[i] trained with len(accs[i]) seeds; NaN accuracy = diverged.
    `extra`: columns added after the configuration (as `candidate` and `variant` are)."""
    rows = []
    for cid, (config, seed_accs) in enumerate(zip(configs, accs, strict=True)):
        for seed, a in enumerate(seed_accs):
            ok = bool(np.isfinite(a))
            rows.append({"config_id": cid, **config, "random_state": seed, "val_acc": a,
                         "val_loss": 1 - a, "train_acc": a + 0.02 if ok else NAN,
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


def sweep(kind, factor, values, accs, base=None):
    return runs(kind, [{**(base or {}), factor: v} for v in values], accs)


def spread(mean, sd=0.001, n=3):
    """n seed accuracies with the given mean and (about) that sd."""
    return list(mean + sd * np.linspace(-1, 1, n))


def context(n_val=N_VAL, n_train=50_000):
    data = (np.zeros((n_train, 1)), np.zeros((n_val, 1)), np.zeros(n_train), np.zeros(n_val))
    spec = SimpleNamespace(load=lambda: (data, "fingerprint"))
    plan = SimpleNamespace(nn_final_search={"dropout": (0.2, 0.4)},
                           nn_final_base=FULL_PLAN.nn_final_base,
                           nn_ablation=FULL_PLAN.nn_ablation)
    return SimpleNamespace(spec=lambda search: spec, plan=plan)


def history(val_loss, train_loss=None):
    n = len(val_loss)
    return pd.DataFrame({"epoch": range(1, n + 1), "val_loss": val_loss,
                         "train_loss": train_loss or list(np.linspace(1.0, 0.3, n)),
                         "train_acc": [0.9] * n, "val_acc": [0.85] * n})


def best_model(kind, config, accs):
    r = runs(kind, [config], [accs])
    return BestModel(kind, config, r, model=None, history=history([0.5, 0.4, 0.45]))


NN_BASE = dict(hidden=128, activation="relu", lr=0.1, dropout=0.0)
FINAL = dict(hidden=512, activation="relu", lr=0.05, dropout=0.3)


def make_results(lr_mean=0.850, nn_mean=0.880, ablation=None, logreg=None, nn=None):
    """Results with hand-set means; defaults: a network clearly above logistic regression."""
    logreg = logreg or {
        "lr": sweep("logreg", "lr", [0.1, 0.001, 0.01], [spread(0.85), spread(0.80),
                                                         spread(0.849)]),
        "l2": sweep("logreg", "l2", [0.0, 1e-3], [spread(0.850), spread(0.851)])}
    nn = nn or {
        "hidden": sweep("nn", "hidden", [32, 128], [spread(0.85), spread(0.87)], NN_BASE),
        "activation": runs("nn", [{**NN_BASE, "activation": a, "lr": lr} for a, lr in
                                  (("relu", 0.03), ("relu", 0.1), ("tanh", 0.1),
                                   ("sigmoid", 0.3))],
                           [spread(0.86), spread(0.87), spread(0.868), spread(0.84)])}
    grid = runs("nn", [{**NN_BASE, "hidden": h, "dropout": d} for h in (32, 512)
                       for d in (0.0, 0.4)],
                [spread(0.85), spread(0.84), spread(0.86), spread(0.87)])
    search = runs("nn", [{**FINAL, "dropout": d} for d in (0.2, 0.4)],
                  [spread(0.88), [0.95, 0.95, NAN]])  # 0.4 has the top mean but a seed diverged
    variants = ablation or {"final": spread(0.88), "no_dropout": spread(0.86),
                            "no_augmentation": spread(0.879), "narrow": spread(0.90),
                            "no_momentum_schedule": [NAN] * 3}
    abl = runs("nn", [FINAL] * len(variants), list(variants.values()),
               variant=list(variants))
    finals = runs("logreg", [dict(lr=0.1), dict(lr=0.1, momentum=0.9)],
                  [spread(lr_mean), spread(lr_mean - 0.001)],
                  candidate=["swept", "cosine"])
    res = Results(context(), logreg, finals, nn, grid, search, abl)
    res.best = {"logreg": best_model("logreg", dict(lr=0.1), spread(lr_mean)),
                "nn": best_model("nn", FINAL, spread(nn_mean))}
    return res


# --------------------------------------------------------------------------- tables


def test_n_val_is_the_validation_part():
    assert Fd.n_val(make_results()) == N_VAL


def test_stats_rows_in_order_of_value_activation_left_out():
    res = make_results()
    st = Fd.stats(res.logreg)
    assert list(st) == ["lr", "l2"]
    assert list(st["lr"]["lr"]) == [0.001, 0.01, 0.1]
    assert st["lr"]["mean"].tolist() == pytest.approx([0.80, 0.849, 0.85])
    assert "activation" not in Fd.stats(res.nn)
    cats = {"augment": runs("nn", [{"augment": a} for a in ("flip", "none", "crop")],
                            [spread(0.8), spread(0.81), spread(0.82)])}
    assert list(Fd.stats(cats)["augment"]["augment"]) == ["flip", "none", "crop"]  # as given


def test_sweep_table_one_section_per_factor_one_header():
    table = Fd.sweep_table(make_results().logreg, {"lr": 0.01, "l2": 0.0}).split("\n")
    assert table[0].startswith("| setting | validation |") and table[1].startswith("|:-")
    assert sum(line.startswith("| setting") for line in table) == 1
    assert table[2] == "| *learning rate* |  |  |  |  |"
    assert table[3].startswith("| 0.001 |") and table[4].startswith("| 0.01 (base) |")
    assert table[6] == "| *L2 coefficient* |  |  |  |  |" and table[7].startswith("| 0 (base) |")
    assert len(table) == 2 + 2 + 3 + 2


def test_search_table_bolds_the_configuration_run_all_chose():
    lines = Ff.search_table(make_results()).split("\n")
    assert lines[0] == "| dropout rate | validation | best epoch |"
    # 0.4 has the higher mean over its finished seeds, but a seed diverged: 0.2 was chosen
    assert lines[2].startswith("| **0.2** | **88.0 ± 0.1%** |")
    assert "**" not in lines[3]


# --------------------------------------------------------------------------- sentences


def test_factor_sentences():
    say = Fd.sentences(make_results().logreg, N_VAL)
    assert say["lr"] == ("0.1 has the highest mean (85.0 ± 0.1%), tied within noise with 0.01; "
                         "0.001 is clearly lower")
    assert say["l2"] == "0.001 has the highest mean (85.1 ± 0.1%), tied within noise with 0"


def test_activation_sentence_each_at_its_best_rate_ties_called_ties():
    text = Fd.activation_sentence(make_results())
    assert text.startswith("relu at learning rate 0.1 has the highest mean (87.0 ± 0.1%); ")
    assert ("tanh (learning rate 0.1, 86.8 ± 0.1%) is tied with it (0.2 points apart, "
            "within noise)") in text
    assert "sigmoid (learning rate 0.3, 84.0 ± 0.1%) is 3.0 points lower than it" in text
    assert "0.03" not in text  # relu's worse learning rate is not the one compared


def test_grid_sentence_dropout_at_each_width():
    text = Fd.grid_sentence(make_results())
    assert text == ("with 32 units dropout 0.4 is 1.0 points lower than no dropout; with 512 "
                    "units dropout 0.4 is 1.0 points higher than no dropout")


def test_grid_sentence_with_a_tie_and_with_diverged_no_dropout():
    res = make_results()
    res.nn_grid = runs("nn", [{**NN_BASE, "hidden": h, "dropout": d} for h in (32, 512)
                              for d in (0.0, 0.4)],
                       [[NAN] * 3, spread(0.84), spread(0.860), spread(0.862)])
    assert Fd.grid_sentence(res) == (
        "with 32 units there is nothing to compare (diverged); with 512 units dropout 0.4 is "
        "tied with no dropout (0.2 points apart, within noise)")


def test_ablation_real_ties_better_and_diverged():
    res = make_results()
    st = Ff.ablation(res)
    verdicts = {r["variant"]: None if r["comparison"] is None else r["comparison"].verdict
                for _, r in st.iterrows()}
    assert verdicts == {"final": None, "no_dropout": "lower", "no_augmentation": "tie",
                        "narrow": "higher", "no_momentum_schedule": None}
    assert Ff.ablation_sentence(st) == (
        "Clearly worse than the searched recipe: without dropout (2.0 points lower). "
        "Clearly better than the searched recipe: with 128 hidden units instead of 512 (2.0 "
        "points higher). "
        "Tied with it within noise: without flips. "
        "Diverged (not compared): with plain GD: constant step 0.1, no momentum, early "
        "stopping with patience 8 within 60 epochs.")
    table = Ff.ablation_table(res).split("\n")
    assert table[0] == ("| variant | validation | training | gap (points) | best epoch | "
                        "change (points) |")
    assert table[2].endswith("| 2.0 | 5 of 10 |  |")  # the searched recipe: nothing to compare
    assert table[3].endswith("| -2.0 (real) |") and table[4].endswith("| -0.1 (tie) |")
    assert table[5].endswith("| +2.0 (real) |") and table[6].endswith("| diverged |")


def test_ablation_sentence_when_all_tie():
    res = make_results(ablation={"final": spread(0.88), "no_dropout": spread(0.879)})
    assert Ff.ablation_sentence(Ff.ablation(res)) == "Tied with it within noise: without dropout."


def test_finals_candidates_tie_and_real_difference():
    res = make_results()
    assert Fd.finals_candidates(res.logreg_finals, N_VAL) == (
        "as swept 85.0 ± 0.1% and with the cosine schedule and momentum 84.9 ± 0.1%; the model "
        "as swept is kept (the difference is within noise, so either would do)")
    real = runs("logreg", [dict(lr=0.1), dict(lr=0.1, momentum=0.9)],
                [spread(0.84), spread(0.86)], candidate=["swept", "cosine"])
    assert Fd.finals_candidates(real, N_VAL) == (
        "as swept 84.0 ± 0.1% and with the cosine schedule and momentum 86.0 ± 0.1%; the model "
        "with the cosine schedule and momentum is kept")


def test_finals_candidates_names_the_model_run_all_keeps():
    """A candidate with a diverged seed is never kept, even with the top mean."""
    r = runs("logreg", [dict(lr=0.1), dict(lr=0.1, momentum=0.9)],
             [spread(0.84), [0.9, 0.9, NAN]], candidate=["swept", "cosine"])
    assert Fd.finals_candidates(r, N_VAL).endswith("the model as swept is kept")


def test_ranking_sentence_real_effects_first_ties_only_within_noise():
    res = make_results()
    assert Fd.ranking_sentence(res.logreg, N_VAL) == (
        "the only setting that moves the accuracy beyond noise is the learning rate "
        "(5.0 points); the L2 coefficient changes it only within noise")
    frames = {**res.logreg, "batch_size": sweep("logreg", "batch_size", [32, 128, 512],
                                                [spread(0.82), spread(0.85), [NAN] * 3]),
              "l1": sweep("logreg", "l1", [0.0, 1e-3], [spread(0.85), spread(0.8505)])}
    assert Fd.ranking_sentence(frames, N_VAL) == (
        "the settings that move the accuracy beyond noise are, by the range they span, the "
        "learning rate (5.0 points) and the batch size (3.0 points); the L2 coefficient and the "
        "L1 coefficient change it only within noise (diverged settings left out)")
    ties = {"l2": res.logreg["l2"]}
    assert Fd.ranking_sentence(ties, N_VAL) == (
        "no setting moves the accuracy beyond noise; the L2 coefficient changes it only within "
        "noise")


def test_hardest_classes_same_or_different():
    y = np.repeat(np.arange(10), 10)
    a = y.copy()
    a[60:65] = 0  # Shirt (6) 50%
    a[40:43] = 2  # Coat (4) 70%
    b = a.copy()
    assert Oc.hardest_classes_sentence(y, {"logistic regression": a, "network": b}) == (
        "Both models find the same two classes hardest: Coat and Shirt.")
    b = y.copy()
    b[20:26] = 4  # Pullover (2) 40%
    b[60:62] = 0  # Shirt 80%
    assert Oc.hardest_classes_sentence(y, {"logistic regression": a, "network": b}) == (
        "The hardest classes of logistic regression are Shirt and Coat. "
        "The hardest classes of the network are Pullover and Shirt.")


def test_per_class_sentence_gain_only_when_there_is_one():
    y = np.repeat(np.arange(10), 10)
    lin = y.copy()
    lin[60:66] = 0
    net = y.copy()
    net[60:63] = 0
    net[40:42] = 2
    text = Oc.per_class_sentence(y, {"logistic regression": lin, "network": net})
    assert text.startswith("The network's hardest class is Shirt (70.0%), then Coat (80.0%)")
    assert "more accurate than logistic regression on one of the ten classes" in text
    assert text.endswith("the gain is largest for Shirt (30.0 points).")
    text = Oc.per_class_sentence(y, {"logistic regression": y, "network": lin})
    assert "on no of the ten classes." not in text and "gain" not in text


def test_per_class_sentence_says_on_how_many_classes_the_gain_is_beyond_noise():
    """The models are compared on the same images, so a class's gain is clear only if it
    exceeds twice the standard error of the paired difference, sqrt(b + c) / n (b, c: the
    images only one of the two gets right)."""
    y = np.repeat(np.arange(10), 100)
    lin = y.copy()
    net = y.copy()
    for c in range(10):
        lin[c * 100:c * 100 + 3] = (c + 1) % 10   # 3 wrong in every class
    lin[600:640] = 0                               # Shirt: 40 wrong
    net[600:605] = 0                               # the network: 5 wrong, 35 more right
    net[0:2] = 1                                   # still ahead by 1 on T-shirt/top
    text = Oc.per_class_sentence(y, {"logistic regression": lin, "network": net})
    assert "more accurate than logistic regression on every class, by more than the noise " \
           "on one of them" in text, text
    # Shirt: b = 35, c = 0, diff 0.35 > 2 sqrt(35) / 100 = 0.118; elsewhere 3 or 1 images


# what every case below that keeps learning after its lowest validation loss starts with
AFTER = ("the validation loss is lowest at epoch 2; after it the training loss falls by another "
         "0.300 while the validation loss ")


@pytest.mark.parametrize("val_loss, train_loss, expected", [
    ([0.9, 0.7, 0.6, 0.5], None, "the validation loss is still falling at the last epoch"),
    ([0.9, 0.5, 0.6, 0.7], [1.0, 0.6, 0.5, 0.3],
     AFTER + "rises, to 0.200 above its lowest at the last epoch, "
     "which is overfitting"),
    ([0.9, 0.5, 0.501, 0.5015], [1.0, 0.6, 0.5, 0.3],
     AFTER + "stays flat (within 0.002): more fitting no longer helps "
     "the validation images"),
    # back near its lowest at the last epoch, but 0.014 above it on the way: not "flat",
    # and not a trend either
    ([0.9, 0.5, 0.514, 0.501], [1.0, 0.6, 0.5, 0.3],
     AFTER + "moves up to 0.014 above its lowest and ends within "
     "0.002 of it: more fitting no longer helps the validation images"),
    # ending a few thousandths above is only the start of it
    ([0.9, 0.5, 0.503, 0.504], [1.0, 0.6, 0.5, 0.3],
     AFTER + "creeps up, to 0.004 above its lowest at the last epoch: "
     "more fitting no longer helps the validation images, the start of overfitting"),
    ([0.9, 0.5, 0.6, 0.7], [1.0, 0.6, 0.6, 0.61],
     "the validation loss is lowest at epoch 2; after it the training loss does not fall any "
     "further either (it changes by +0.010), so the model has stopped learning"),
])
def test_overfitting_sentence_follows_the_curves(val_loss, train_loss, expected):
    assert Fd.overfitting_sentence(history(val_loss, train_loss)) == expected


def test_overfitting_is_never_said_of_a_falling_validation_loss():
    text = Fd.overfitting_sentence(history([0.9, 0.8, 0.6, 0.55, 0.5]))
    assert "overfitting" not in text and "still falling" in text


# --------------------------------------------------------------------------- conclusions


def test_conclusions_a_clear_win_for_the_network():
    y = np.repeat(np.arange(10), 10)
    text = Ff.conclusions(make_results(), y, {"logistic regression": y, "network": y})
    assert text.startswith("Multinomial logistic regression reaches 85.0 ± 0.1% validation "
                           "accuracy over seeds, and the network with one hidden layer "
                           "88.0 ± 0.1%: 3.0 points higher than logistic regression. ")
    assert "the ablation loses clearly without dropout; it gains clearly with 128 hidden " \
        "units." in text


def test_conclusions_say_tied_when_the_network_ties_logistic_regression():
    y = np.repeat(np.arange(10), 10)
    res = make_results(lr_mean=0.850, nn_mean=0.852,
                       ablation={"final": spread(0.88), "no_dropout": spread(0.879)})
    text = Ff.conclusions(res, y, {"logistic regression": y, "network": y})
    assert ("the network with one hidden layer 85.2 ± 0.1%: tied with logistic regression "
            "(0.2 points apart, within noise).") in text
    assert "higher than" not in text
    assert "no single aid makes a difference beyond noise in the ablation" in text


# --------------------------------------------------------------------------- page 1


MANIFEST = {"fingerprint": "abc123"}


def prov(source, **kw):
    return {"source": source, "seed": 0 if source != "supplied" else None, "train_rows": 56000,
            "test_rows": 14000, "description": "train.csv was built but test.csv supplied.",
            **kw}


def test_provenance_built():
    text = Oc.provenance_paragraph(prov("built"), [], MANIFEST)
    assert text.startswith("**Data: built, not the course's files.**")
    assert "(seed 0): 56,000 labelled and 14,000 unlabelled images" in text
    assert "**not for the course's test set**" in text
    assert text.endswith("\n\nResults fingerprint: abc123\n")
    unknown_seed = Oc.provenance_paragraph(prov("built", seed=None), [], MANIFEST)
    assert "seed None" not in unknown_seed and "package: 56,000 labelled" in unknown_seed


def test_provenance_supplied_and_mixed():
    text = Oc.provenance_paragraph(prov("supplied"), [], MANIFEST)
    assert text.startswith("**Data: supplied.** `data/train.csv` (56,000 rows) and "
                           "`data/test.csv` (14,000 rows) were supplied")
    assert "not for the course" not in text and "image(s)" not in text
    mixed = Oc.provenance_paragraph(prov("mixed"), [], MANIFEST)
    assert mixed.startswith("**Data: WARNING.** train.csv was built but test.csv supplied.")


def test_provenance_names_the_overlap():
    text = Oc.provenance_paragraph(prov("supplied"), [(3, 7), (10, 2)], MANIFEST)
    assert ("**2 image(s) of `test.csv` also appear in `train.csv`** (train line and test "
            "line: 3 and 7, 10 and 2).") in text
    many = Oc.provenance_paragraph(prov("supplied"), [(i, i + 1) for i in range(5)], MANIFEST)
    assert "**5 image(s)" in many and "0 and 1, 1 and 2, 2 and 3, ...)" in many


def test_files_sentence_counts_each_file(tmp_path):
    files = {"logreg": tmp_path / "lr_pred.csv", "nn": tmp_path / "NN_pred.csv",
             "logreg_model": "models/logreg.npz", "nn_model": "models/nn.npz"}
    files["logreg"].write_text("1\n2\n3\n")
    files["nn"].write_text("1\n2\n3\n")
    assert "3 lines each, with no header" in Oc.files_sentence(files)
    files["nn"].write_text("1\n2\n")
    assert "3 and 2 lines, with no header" in Oc.files_sentence(files)


# --------------------------------------------------------------------------- real frames


def test_every_finding_is_made_from_a_real_quick_run(tmp_path, monkeypatch):
    """The synthetic frames above mirror real ones: every function runs on real results."""
    from fmnist import experiments as E
    from tests.synth import write_data_dir

    monkeypatch.setenv("FMNIST_WORKERS", "0")
    write_data_dir(tmp_path / "data", n_train=200, n_test=20, noise=120)
    ctx = E.Context.create(quick=True, data_dir=tmp_path / "data", cache=tmp_path / "cache",
                           progress=False)
    res = E.run_all(ctx)
    nval = Fd.n_val(res)
    (_, X_val, _, y_val), _ = ctx.spec(search=False).load()
    pred = {"logistic regression": res.best["logreg"].model.predict(X_val),
            "network": res.best["nn"].model.predict(X_val)}
    for text in (Fd.sweep_table(res.logreg, ctx.plan.logreg_base),
                 Fd.sweep_table({f: d for f, d in res.nn.items() if f != "activation"},
                                ctx.plan.nn_base),
                 *Fd.sentences(res.logreg, nval).values(), Fd.activation_sentence(res),
                 Fd.grid_sentence(res), Ff.search_table(res), Ff.ablation_table(res),
                 Ff.ablation_sentence(Ff.ablation(res)), Fd.finals_table(res),
                 Fd.finals_candidates(res.logreg_finals, nval),
                 Fd.overfitting_sentence(res.best["nn"].history),
                 Fd.over_seeds_text(res.best["nn"].runs),
                 Oc.per_class_sentence(y_val, pred), Ff.conclusions(res, y_val, pred)):
        assert isinstance(text, str) and text and "nan" not in text.lower()
    assert set(Ff.dropout_histories(res)) == {"with dropout", "without dropout"}
    assert len(Fd.activation_stats(res)) == len(ctx.plan.nn_activation_lrs)
    assert over_seeds(res.nn_grid)["hidden"].nunique() == len(ctx.plan.nn_grid["hidden"])


def test_search_sentence_calls_a_close_search_a_tie():
    """No tie broken silently: a search whose best candidate leads by less than the noise
    says so, and a clear lead is worded as such."""
    for accs, expect in (([spread(0.870), spread(0.871)], "within noise); it is kept"),
                         ([spread(0.850), spread(0.880)], "points higher than the next")):
        results = SimpleNamespace(
            ctx=context(), nn_search=runs("nn", [{**FINAL, "dropout": d} for d in (0.2, 0.4)],
                                          accs))
        text = Ff.search_sentence(results)
        assert expect in text and "dropout rate 0.4" in text, text


def test_search_sentence_does_not_call_a_mean_higher_that_rounds_to_the_same_figure():
    """87.74% against 87.71% both show as 87.7%: 'kept for its higher mean' beside '0.0
    points apart' reads as a contradiction, so the difference is given to 0.01 points."""
    results = SimpleNamespace(
        ctx=context(), nn_search=runs("nn", [{**FINAL, "dropout": d} for d in (0.2, 0.4)],
                                      [spread(0.8771), spread(0.8774)]))
    text = Ff.search_sentence(results)
    assert "0.0 points" not in text and "(0.03 points apart, within noise)" in text, text


def test_aims_sentence_says_reached_short_within_noise_or_short_beyond_it():
    """Each model's mean over seeds against its aim, worded by the noise rule (a shortfall
    within the binomial standard error of 5,600 images, about 0.4 points, is within noise)."""
    aims = {"logistic regression": 0.862, "network": 0.915}
    text = Oc.aims_sentence({"logistic regression": (0.8611, 0.001, 3),
                             "network": (0.9103, 0.002, 3)}, aims, 5600)
    assert text.startswith("Logistic regression reaches 86.1 ± 0.1%, 0.1 points short of its "
                           "aim of 86.2%, within noise; "), text
    assert "the network reaches 91.0 ± 0.2%, 0.5 points short of its aim of 91.5%, beyond " \
           "noise" in text, text
    met = Oc.aims_sentence({"network": (0.9162, 0.001, 3)}, {"network": 0.915}, 5600)
    assert met.startswith("The network reaches 91.6 ± 0.1%, meeting its aim of 91.5%"), met
    close = Oc.aims_sentence({"network": (0.9147, 0.001, 3)}, {"network": 0.915}, 5600)
    assert "0.03 points short of its aim of 91.5%" in close, close  # not "0.0 points short"
    assert "nan" not in text + met


def test_gap_sentence_gives_the_gap_as_the_table_shows_it():
    """88.14% and 83.76% show as 88.1% and 83.8%: the table's gap is 4.3, and so is the
    sentence's (the unrounded 4.38 would read 4.4 and contradict the table)."""
    frames = {"lr": sweep("logreg", "lr", [0.1, 0.01], [spread(0.8376), spread(0.84)])}
    for df in frames.values():
        df["train_acc"] = [0.8814] * 3 + [0.85] * 3
    text = Fd.gap_sentence(frames)
    assert "is 4.3 points (learning rate 0.1)" in text, text
