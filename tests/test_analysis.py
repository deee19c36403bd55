"""fmnist.analysis: formatting, the noise rule (`compare`, `wording`), the per-factor verdicts
and tables, model sizes and costs, and the confusion helpers. Hand-made numbers only."""

import math
import re

import numpy as np
import pandas as pd
import pytest

from fmnist import analysis as A
from fmnist.data import CLASS_NAMES

N_VAL = 5600


# --------------------------------------------------------------------------- formatting


def test_pct_pts_pm():
    assert A.pct(0.8612) == "86.1%" and A.pct(0.8612, 2) == "86.12%" and A.pct(1.0) == "100.0%"
    assert A.pct(float("nan")) == "-" and A.pct(None) == "-"
    assert A.pts(0.012) == "1.2 points" and A.pts(-0.012) == "1.2 points"  # a size, signless
    assert A.pts(0.00123, 2) == "0.12 points"
    assert A.pm(0.8612, 0.0021) == "86.1 ± 0.2%"
    assert A.pm(0.8612, float("nan")) == "86.1%"  # one seed: no spread to show
    assert A.pm(float("nan"), 0.01) == "-" and A.pm(None, None) == "-"


@pytest.mark.parametrize("value, text", [
    (1e-05, "1e-5"), (2.5e-05, "2.5e-5"), (1e-4, "1e-4"), (0.001, "0.001"), (0.1, "0.1"),
    (0.03, "0.03"), (128, "128"), (128.0, "128"), (np.float64(512.0), "512"), (np.int64(16), "16"),
    (0, "0"), (0.0, "0"), (1.5, "1.5"), (20000.0, "2e4"), (12345.0, "1.2345e4"),
    (None, "none"), (float("nan"), "none"), (True, "yes"), (False, "no"), ("relu", "relu"),
])
def test_num_reads_as_a_setting(value, text):
    assert A.num(value) == text


def test_md_table_header_alignment_row_and_cells():
    df = pd.DataFrame({"name": ["a", "b"], "n": [1, 22], "x": [0.5, 1.0]})
    lines = A.md_table(df).split("\n")
    # alignment marks, and dashes for the column's longest cell + 4 (Pandoc's widths)
    assert lines == ["| name | n | x |", "|:--------|------:|-------:|", "| a | 1 | 0.5 |",
                     "| b | 22 | 1.0 |"]
    assert A.md_table(df, align=["c", "l", "r"]).split("\n")[1] == "|:--------:|:------|-------:|"


def test_series():
    assert A.series([]) == "" and A.series(["a"]) == "a"
    assert A.series(["a", "b"]) == "a and b"
    assert A.series(["a", "b", "c"]) == "a, b and c"
    assert A.series([0.1, 1e-5], A.num, last="or") == "0.1 or 1e-5"


# --------------------------------------------------------------------------- the noise rule


def test_binomial_se():
    assert A.binomial_se(0.9, 5600) == pytest.approx(0.004, abs=5e-5)
    assert A.binomial_se(0.9, 5600) == pytest.approx(math.sqrt(0.09 / 5600))
    assert A.binomial_se(1.0, 100) == 0


def test_compare_a_difference_within_the_binomial_error_is_a_tie():
    # seeds agree exactly (sd 0) but 0.3 points is less than one binomial SE (~0.45 points)
    c = A.compare(0.853, 0.0, 3, 0.850, 0.0, 3, N_VAL)
    assert c.tie and c.verdict == "tie" and c.se == 0
    assert c.threshold == pytest.approx(A.binomial_se(0.8515, N_VAL))


def test_compare_a_difference_within_twice_the_seed_se_is_a_tie():
    # 1 point apart, sd 1 point on 3 seeds each: SE = 0.82 points, 2 SE = 1.6 points
    c = A.compare(0.86, 0.01, 3, 0.85, 0.01, 3, N_VAL)
    assert c.se == pytest.approx(math.sqrt(2 * 0.01 ** 2 / 3))
    assert c.threshold == pytest.approx(2 * c.se) and c.tie


def test_compare_beyond_both_is_higher_or_lower_and_symmetric():
    up = A.compare(0.87, 0.002, 3, 0.85, 0.002, 3, N_VAL)
    down = A.compare(0.85, 0.002, 3, 0.87, 0.002, 3, N_VAL)
    assert (up.verdict, down.verdict) == ("higher", "lower") and not up.tie
    assert up.diff == pytest.approx(0.02) and down.diff == pytest.approx(-0.02)
    assert up.threshold == pytest.approx(down.threshold) and up.se == pytest.approx(down.se)


def test_compare_one_seed_has_no_sd_and_falls_back_to_the_binomial_error():
    c = A.compare(0.86, float("nan"), 1, 0.85, float("nan"), 1, N_VAL)
    assert c.se == 0 and not c.tie  # 1 point > one binomial SE (0.47 points)
    assert A.compare(0.852, float("nan"), 1, 0.85, 0.01, 3, N_VAL).tie


def test_compare_refuses_a_missing_mean():
    with pytest.raises(ValueError, match="missing mean"):
        A.compare(float("nan"), 0.0, 0, 0.85, 0.01, 3, N_VAL)


def test_compare_rows_uses_mean_sd_n():
    a = pd.Series({"mean": 0.87, "sd": 0.002, "n": 3})
    b = pd.Series({"mean": 0.85, "sd": 0.002, "n": 3})
    assert A.compare_rows(a, b, N_VAL) == A.compare(0.87, 0.002, 3, 0.85, 0.002, 3, N_VAL)


def test_wording_of_each_verdict():
    up = A.compare(0.87, 0.002, 3, 0.85, 0.002, 3, N_VAL)
    down = A.compare(0.85, 0.002, 3, 0.87, 0.002, 3, N_VAL)
    tie = A.compare(0.851, 0.002, 3, 0.850, 0.002, 3, N_VAL)
    assert A.wording(up) == "2.0 points higher than"
    assert A.wording(down) == "2.0 points lower than"
    assert A.wording(tie) == "tied with (0.1 points apart, within noise)"
    assert A.wording(up, "better than", "worse than") == "2.0 points better than"
    # with the other side named, it goes where it reads
    assert A.wording(down, other="X") == "2.0 points lower than X"
    assert A.wording(tie, other="X") == "tied with X (0.1 points apart, within noise)"


# --------------------------------------------------------------------------- factors


def stats_frame(factor, values, means, sds=None, n=3, diverged=None, at_last=None):
    """Rows as `fmnist.sweeps.over_seeds` gives them."""
    k = len(values)
    return pd.DataFrame({
        "config_id": range(k), factor: values, "mean": means,
        "sd": sds if sds is not None else [0.002] * k, "n": [n] * k,
        "train_acc": [m + 0.03 if np.isfinite(m) else np.nan for m in means],
        "best_epoch": [10.0] * k, "epochs_run": [20.0] * k,
        "diverged": diverged if diverged is not None else [0] * k,
        "at_last_epoch": at_last if at_last is not None else [0] * k, "seeds": [n] * k})


def test_factor_verdict_best_tied_worse_and_diverged():
    st = stats_frame("lr", [1e-3, 0.01, 0.1, 1.0, 10.0],
                     [0.80, 0.849, 0.851, 0.83, float("nan")], diverged=[0, 0, 0, 0, 3])
    v = A.factor_verdict(st, "lr", N_VAL)
    assert v["best"] == 0.1 and v["best_row"]["mean"] == 0.851
    assert v["tied"] == [0.01] and v["worse"] == [1e-3, 1.0] and v["diverged"] == [10.0]
    assert v["range"] == pytest.approx(0.051)


def test_factor_sentence_words_best_ties_worse_diverged_with_verbs():
    st = stats_frame("lr", [1e-3, 0.01, 0.1, 1.0, 10.0],
                     [0.80, 0.849, 0.851, 0.83, float("nan")], diverged=[0, 0, 0, 0, 3])
    assert A.factor_sentence(st, "lr", N_VAL) == (
        "0.1 has the highest mean (85.1 ± 0.2%), tied within noise with 0.01; 0.001 and 1 are "
        "clearly lower; 10 diverged")
    one = stats_frame("hidden", [32, 128], [0.80, 0.85])
    assert A.factor_sentence(one, "hidden", N_VAL) == (
        "128 has the highest mean (85.0 ± 0.2%); 32 is clearly lower")
    ties = stats_frame("l2", [0.0, 1e-4, 1e-3], [0.850, 0.851, 0.849])
    assert A.factor_sentence(ties, "l2", N_VAL) == (
        "1e-4 has the highest mean (85.1 ± 0.2%), tied within noise with 0 and 0.001")


def test_factor_sentence_when_every_value_diverged():
    st = stats_frame("lr", [10.0, 100.0], [float("nan")] * 2, diverged=[3, 3])
    assert A.factor_sentence(st, "lr", N_VAL) == "every value diverged (10 and 100)"


def test_sweep_table_rows_flags_and_markers():
    st = stats_frame("lr", [0.01, 0.1, 10.0, 100.0], [0.84, 0.85, 0.83, float("nan")],
                     sds=[0.002, 0.001, float("nan"), float("nan")],
                     diverged=[0, 0, 1, 3], at_last=[1, 0, 0, 0])
    lines = A.sweep_table(st, "lr", base_value=0.1, name="setting").split("\n")
    assert lines[0] == "| setting | validation | training | gap (points) | best epoch |"
    assert re.fullmatch(r"\|:-+\|-+:\|-+:\|-+:\|-+:\|", lines[1])
    assert lines[2] == "| 0.01 | 84.0 ± 0.2% | 87.0% | 3.0 | 10 of 20 † |"  # best = last
    assert lines[3] == "| 0.1 (base) | 85.0 ± 0.1% | 88.0% | 3.0 | 10 of 20 |"
    assert lines[4] == "| 10 | diverged (1 of 3 seeds) | - | - | - |"
    assert lines[5] == "| 100 | diverged | - | - | - |"
    assert "(base)" not in A.sweep_table(st, "lr")


def test_sweep_table_gives_what_a_diverged_setting_reached_before():
    st = stats_frame("lr", [0.1, 1.0, 10.0], [0.85, float("nan"), float("nan")],
                     diverged=[0, 3, 2])
    st["peak_before"] = [float("nan"), 0.824, float("nan")]
    lines = A.sweep_table(st, "lr").split("\n")
    assert lines[3] == "| 1 | diverged (after reaching 82.4%) | - | - | - |"
    assert lines[4] == "| 10 | diverged (2 of 3 seeds) | - | - | - |"


def test_sweep_table_flags_runs_cut_short_by_the_epoch_limit():
    """‡: a seed ran to its epoch limit still within its patience of its best epoch, so early
    stopping did not end it; † (best epoch = last) takes precedence."""
    st = stats_frame("batch_size", [128, 256, 512], [0.85, 0.84, 0.83], at_last=[0, 0, 1])
    st["cut_short"] = [0, 2, 1]
    lines = A.sweep_table(st, "batch_size").split("\n")
    assert lines[2].endswith("| 10 of 20 |")
    assert lines[3].endswith("| 10 of 20 ‡ |")
    assert lines[4].endswith("| 10 of 20 † |")


# --------------------------------------------------------------------------- models


def test_n_params_by_hand():
    assert A.n_params("logreg", {}) == 784 * 10 + 10 == 7850
    assert A.n_params("nn", {"hidden": 128}) == 784 * 128 + 128 + 128 * 10 + 10 == 101_770


def test_flops_per_epoch_by_hand():
    # logistic regression: X W forward and X^T dZ backward, 784 x 10 multiply-adds each per image
    assert A.flops_per_epoch("logreg", {}, 1000) == 2 * (2 * 1000 * 784 * 10)
    # the network: X W1 and X^T dZ1 (784 x d), h W2, h^T dZ2 and dZ2 W2^T (d x 10)
    d, n = 64, 500
    assert A.flops_per_epoch("nn", {"hidden": d}, n) == 2 * n * (2 * 784 * d + 3 * d * 10)


# --------------------------------------------------------------------------- errors


def test_confusion_matrix_counts_and_per_class_accuracy():
    y_true = np.array([0, 0, 0, 1, 1, 2, 9])
    y_pred = np.array([0, 0, 1, 1, 0, 2, 2])
    C = A.confusion_matrix(y_true, y_pred)
    assert C.shape == (10, 10) and C.sum() == 7
    assert C[0, 0] == 2 and C[0, 1] == 1 and C[1, 0] == 1 and C[9, 2] == 1
    assert np.trace(C) == 4
    acc = A.per_class_accuracy(y_true, y_pred)
    np.testing.assert_allclose(acc[[0, 1, 2, 9]], [2 / 3, 1 / 2, 1, 0])
    assert np.isnan(acc[5])  # a class with no examples has no accuracy, not 0


def test_confusion_matrix_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="equal length"):
        A.confusion_matrix([0, 1], [0])


def test_plots_uses_the_same_confusion_helpers():
    from fmnist import plots

    assert plots.confusion_matrix is A.confusion_matrix
    assert plots.per_class_accuracy is A.per_class_accuracy


def confusions():
    C = np.diag([100] * 10)
    C[6, 0], C[0, 6], C[4, 2], C[9, 7], C[1, 3] = 30, 12, 20, 5, 3
    return C


def test_top_confusions_largest_first_with_names():
    C = confusions()
    assert A.top_confusions(C, 3) == [("Shirt", "T-shirt/top", 30), ("Coat", "Pullover", 20),
                                      ("T-shirt/top", "Shirt", 12)]
    np.testing.assert_array_equal(np.diag(A.off_diagonal(C)), 0)
    assert np.diag(C).sum() == 1000  # the input is left alone


def test_share_within_a_group_of_classes():
    C = confusions()
    assert A.share_within(C, [0, 2, 4, 6]) == pytest.approx((30 + 12 + 20) / 70)
    assert A.share_within(C, [1, 3]) == pytest.approx(3 / 70)
    assert math.isnan(A.share_within(np.diag([5] * 10), [0, 6]))  # no errors: no share


def test_per_class_table_one_column_per_model():
    y = np.repeat(np.arange(10), 4)
    wrong = y.copy()
    wrong[:2] = 6  # half of the T-shirts
    lines = A.per_class_table(y, {"logistic regression": wrong, "network": y}).split("\n")
    assert lines[0] == "| class | logistic regression | network |"
    assert re.fullmatch(r"\|:-+\|-+:\|-+:\|", lines[1])
    assert lines[2] == f"| {CLASS_NAMES[0]} | 50.0% | 100.0% |"
    assert lines[3] == f"| {CLASS_NAMES[1]} | 100.0% | 100.0% |" and len(lines) == 12


def test_a_difference_is_worded_from_the_means_as_shown():
    """The text's difference equals what a reader subtracts from the rounded means
    (90.9% - 86.1% = 4.8 points, even where the unrounded difference rounds to 4.9)."""
    c = A.compare(0.90949, 0.001, 3, 0.86051, 0.001, 3, 5600)
    assert round(100 * c.diff, 1) == 4.9
    assert A.wording(c) == "4.8 points higher than"
