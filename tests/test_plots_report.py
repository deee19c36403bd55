"""The report's figures: curves, per-factor sweeps over seeds, confusion matrices, per-class
accuracy, weight templates, misclassified examples.

Synthetic histories, statistics and predictions only, so the whole file runs in a few seconds.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from fmnist import plots  # noqa: E402
from fmnist.analysis import per_class_accuracy  # noqa: E402
from fmnist.data import CLASS_NAMES  # noqa: E402
from fmnist.plots import (  # noqa: E402
    plot_confusion,
    plot_confusion_pair,
    plot_curves_pair,
    plot_factor,
    plot_factors,
    plot_history,
    plot_misclassified,
    plot_per_class_accuracy,
    plot_weight_templates,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def synthetic_history(epochs=7):
    t = np.arange(1, epochs + 1)
    return {
        "train_loss": list(1.0 / t),
        "val_loss": list(1.0 / t + 0.05 * t),
        "train_acc": list(1 - 0.5 / t),
        "val_acc": [0.5, 0.7, 0.8, 0.85, 0.84, 0.83, 0.82][:epochs],
        "seconds": [0.1] * epochs,
    }


# --------------------------------------------------------------------------- curves


def test_history_plot_has_loss_and_accuracy_panels_with_accuracy_in_percent():
    h = synthetic_history()
    fig = plot_history(h, title="best model")
    ax_loss, ax_acc = fig.axes
    assert ax_loss.get_xlabel() == "epoch" and "loss" in ax_loss.get_ylabel()
    assert ax_acc.get_ylabel() == "accuracy (%)"
    train, val = ax_loss.get_lines()[:2]
    np.testing.assert_array_equal(train.get_xdata(), np.arange(1, 8))
    np.testing.assert_allclose(train.get_ydata(), h["train_loss"])
    np.testing.assert_allclose(val.get_ydata(), h["val_loss"])
    acc_lines = [ln for ln in ax_acc.get_lines() if len(ln.get_xdata()) == 7]
    np.testing.assert_allclose(acc_lines[0].get_ydata(), 100 * np.array(h["train_acc"]))
    np.testing.assert_allclose(acc_lines[1].get_ydata(), 100 * np.array(h["val_acc"]))
    # the best validation epoch (4) is marked by a vertical line and annotated in percent
    assert [t.get_text() for t in ax_acc.texts] == ["best 85.0%\n(epoch 4)"]
    marks = [ln for ln in ax_acc.get_lines() if ln.get_linestyle() == ":"]
    assert len(marks) == 1 and list(marks[0].get_xdata()) == [4, 4]
    assert [t.get_text() for t in ax_loss.get_legend().get_texts()] == ["training", "validation"]


def test_history_plot_accepts_a_dataframe_and_no_validation():
    h = pd.DataFrame(synthetic_history())[["train_loss", "train_acc"]]
    fig = plot_history(h)
    assert len(fig.axes[0].get_lines()) == 1
    assert not fig.axes[1].texts  # no validation: no best epoch to mark


def test_history_plot_rejects_an_empty_history():
    with pytest.raises(ValueError, match="train_loss"):
        plot_history({"train_loss": []})


def test_history_plot_writes_a_png(tmp_path):
    path = tmp_path / "curves.png"
    plot_history(synthetic_history(), path=path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob(".*.tmp"))


def test_history_plot_uses_the_recorded_epoch_numbers():
    h = pd.DataFrame(synthetic_history(3)).assign(epoch=[2, 4, 6])
    fig = plot_history(h)
    np.testing.assert_array_equal(fig.axes[0].get_lines()[0].get_xdata(), [2, 4, 6])
    assert fig.axes[1].texts[0].get_text() == "best 80.0%\n(epoch 6)"


def test_curves_pair_two_runs_one_colour_each_training_solid_validation_dashed():
    h1 = pd.DataFrame(synthetic_history()).assign(epoch=range(1, 8))
    h2 = h1.assign(val_acc=h1["val_acc"] - 0.1, train_loss=h1["train_loss"] / 2)
    fig = plot_curves_pair({"with dropout": h1, "without dropout": h2})
    ax_loss, ax_acc = fig.axes
    assert ax_acc.get_ylabel() == "accuracy (%)" and "loss" in ax_loss.get_ylabel()
    for ax in (ax_loss, ax_acc):
        lines = ax.get_lines()
        assert [ln.get_linestyle() for ln in lines] == ["-", "--", "-", "--"]
        colours = [matplotlib.colors.to_hex(ln.get_color()) for ln in lines]
        assert colours[0] == colours[1] != colours[2] == colours[3]
    np.testing.assert_allclose(ax_loss.get_lines()[2].get_ydata(), h2["train_loss"])
    np.testing.assert_allclose(ax_acc.get_lines()[3].get_ydata(), 100 * h2["val_acc"])
    assert [t.get_text() for t in ax_acc.get_legend().get_texts()] == [
        "with dropout, training", "with dropout, validation",
        "without dropout, training", "without dropout, validation"]


# --------------------------------------------------------------------------- sweeps over seeds


def factor_stats(factor, values, means, sds=None, diverged=None):
    """Rows as `over_seeds` gives them: the factor, mean, sd, diverged (count of seeds)."""
    n = len(values)
    return pd.DataFrame({factor: values, "mean": means,
                         "sd": sds if sds is not None else [0.01] * n,
                         "diverged": diverged if diverged is not None else [0] * n})


def errorbar(ax, i=0):
    """(x, y, lower, upper, linestyle) of the i-th errorbar of an axes."""
    line, _, (bars, *_) = ax.containers[i]
    segs = bars.get_segments()
    return (np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float),
            np.array([s[0][1] for s in segs]), np.array([s[1][1] for s in segs]),
            line.get_linestyle())


def test_factor_spanning_more_than_20x_is_on_log10_positions_with_0_a_decade_left():
    st = factor_stats("l2", [0.0, 1e-4, 1e-3, 1e-2], [0.84, 0.85, 0.845, 0.80],
                      sds=[0.01, 0.002, 0.003, float("nan")])
    ax = plot_factor(st, "l2", baseline=0.0).axes[0]
    x, y, lo, hi, ls = errorbar(ax)
    np.testing.assert_allclose(x, [-5, -4, -3, -2])  # 0 drawn at log10(1e-4) - 1
    np.testing.assert_allclose(y, [84, 85, 84.5, 80])  # percent
    assert ls == "-"  # numbers are joined
    # error bars are one sd (in points) either side; a missing sd (one seed) draws none
    np.testing.assert_allclose(hi - y, [1, 0.2, 0.3, 0], atol=1e-9)
    np.testing.assert_allclose(y - lo, [1, 0.2, 0.3, 0], atol=1e-9)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "0.0001", "0.001", "0.01"]
    np.testing.assert_allclose(ax.get_xticks(), [-5, -4, -3, -2])
    assert ax.get_xlabel() == "l2 (log scale)" and ax.get_ylabel() == "validation accuracy (%)"
    base = [ln for ln in ax.get_lines() if ln.get_linestyle() == ":"]
    assert len(base) == 1 and list(base[0].get_xdata()) == [-5, -5]  # baseline 0 at x = -5


def test_factor_spanning_less_than_16x_is_on_a_linear_axis():
    st = factor_stats("batch_size", [32, 64, 128, 256], [0.84, 0.85, 0.85, 0.83])
    ax = plot_factor(st, "batch_size", baseline=128, x_label="batch size").axes[0]
    x = errorbar(ax)[0]
    np.testing.assert_allclose(x, [32, 64, 128, 256])  # 256 / 32 = 8: linear
    st16 = factor_stats("hidden", [32, 128, 512], [0.84, 0.85, 0.85])
    x16 = errorbar(plot_factor(st16, "hidden").axes[0])[0]
    np.testing.assert_allclose(x16, np.log10([32, 128, 512]))  # 16x: log
    assert ax.get_xlabel() == "batch size"
    base = [ln for ln in ax.get_lines() if ln.get_linestyle() == ":"]
    assert list(base[0].get_xdata()) == [128, 128]


def test_categorical_factor_is_drawn_as_unjoined_points_in_first_seen_order():
    st = factor_stats("activation", ["relu", "tanh", "sigmoid"], [0.86, 0.85, 0.80])
    ax = plot_factor(st, "activation").axes[0]
    x, y, *_, ls = errorbar(ax)
    assert ls == "None"  # no line between categories
    np.testing.assert_allclose(x, [0, 1, 2])
    np.testing.assert_allclose(y, [86, 85, 80])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["relu", "tanh", "sigmoid"]


def test_diverged_settings_are_marked_with_an_x_and_named_in_the_legend():
    st = factor_stats("lr", [1e-3, 0.01, 0.1, 10.0], [0.80, 0.84, 0.85, float("nan")],
                      diverged=[0, 0, 0, 3])
    ax = plot_factor(st, "lr").axes[0]
    x = errorbar(ax)[0]
    np.testing.assert_allclose(x, [-3, -2, -1])  # the diverged value has no point
    crosses = [ln for ln in ax.get_lines() if ln.get_marker() == "x"]
    assert len(crosses) == 1 and list(crosses[0].get_xdata()) == [1.0]  # log10(10)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["diverged"]
    np.testing.assert_allclose(ax.get_xticks(), [-3, -2, -1, 1])  # still on the axis


def test_factor_with_hue_one_series_per_value_and_a_legend():
    st = pd.concat([factor_stats("hidden", [32, 128, 512], [0.80, 0.84, 0.85]).assign(dropout=0),
                    factor_stats("hidden", [32, 128, 512], [0.78, 0.85, 0.86],
                                 diverged=[1, 0, 0]).assign(dropout=0.4)], ignore_index=True)
    ax = plot_factor(st, "hidden", hue="dropout", hue_label="dropout").axes[0]
    assert len(ax.containers) == 2
    np.testing.assert_allclose(errorbar(ax, 1)[1], [85, 86])
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    # a diverged setting of the second series is in the legend too
    assert sorted(texts) == ["diverged", "dropout 0", "dropout 0.4"]


def test_factor_line_joins_points_in_x_order_whatever_the_row_order():
    """A two-way grid's rows come in the order the sweep first trained each setting (shared
    settings first), not in x order; the line must still run left to right."""
    st = pd.concat([factor_stats("hidden", [128, 32, 512], [0.87, 0.84, 0.873]).assign(dropout=0.4),
                    factor_stats("hidden", [32, 128, 512], [0.85, 0.86, 0.865]).assign(dropout=0)],
                   ignore_index=True)
    ax = plot_factor(st, "hidden", hue="dropout", hue_label="dropout").axes[0]
    for i in range(2):
        xs = errorbar(ax, i)[0]
        assert list(xs) == sorted(xs)
    np.testing.assert_allclose(errorbar(ax, 0)[1], [84, 87, 87.3])


def test_factors_one_panel_per_factor_own_accuracy_axis_spare_axes_off(tmp_path):
    frames = {"lr": factor_stats("lr", [1e-3, 1e-2, 0.1], [0.80, 0.84, 0.85]),
              "batch_size": factor_stats("batch_size", [32, 128], [0.84, 0.83]),
              "l2": factor_stats("l2", [0.0, 1e-3], [0.84, 0.70]),
              "activation": factor_stats("activation", ["relu", "tanh"], [0.86, 0.85])}
    names = {"lr": "learning rate", "batch_size": "batch size"}
    path = tmp_path / "factors.png"
    fig = plot_factors(frames, names, {"lr": 0.01, "l2": 0.0}, ncols=3, path=path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    axes = fig.axes
    assert len(axes) == 6
    used, spare = axes[:4], axes[4:]
    assert all(not ax.axison for ax in spare) and all(ax.axison for ax in used)
    assert [ax.get_xlabel() for ax in used] == ["learning rate", "batch size", "l2",
                                                "activation"]
    # each panel its own accuracy scale: a collapse in one (l2 0.001 at 70%) does not flatten
    # the point-sized differences of the others
    lo, hi = used[1].get_ylim()
    assert 80 < lo < 83 and 84 < hi < 86
    assert used[2].get_ylim()[0] <= 70
    # the y label only at the left of each row
    assert [ax.get_ylabel() for ax in used] == ["validation accuracy (%)", "", "",
                                                "validation accuracy (%)"]
    # a baseline line only where a baseline is given
    dotted = [sum(ln.get_linestyle() == ":" for ln in ax.get_lines()) for ax in used]
    assert dotted == [1, 0, 1, 0]


# --------------------------------------------------------------------------- errors


def test_confusion_plot_shows_row_percentages_and_class_names():
    y_true = np.repeat(np.arange(10), 4)
    y_pred = y_true.copy()
    y_pred[0] = 6  # one T-shirt predicted as Shirt: row 0 is 75 / 25
    ax = plot_confusion(y_true, y_pred).axes[0]
    texts = {t.get_text() for t in ax.texts}
    assert {"75", "25", "100"} <= texts
    assert [t.get_text() for t in ax.get_yticklabels()] == list(CLASS_NAMES)


def test_confusion_pair_one_titled_matrix_per_model_class_names_once():
    y = np.repeat(np.arange(10), 4)
    wrong = y.copy()
    wrong[:4] = 6
    fig = plot_confusion_pair(y, {"logistic regression": wrong, "network": y})
    axes = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in axes] == ["logistic regression", "network"]
    assert axes[0].get_ylabel() == "true class" and axes[1].get_ylabel() == ""
    np.testing.assert_allclose(axes[0].images[0].get_array()[0, 6], 1.0)  # row 0 all as Shirt
    np.testing.assert_allclose(np.diag(axes[1].images[0].get_array()), 1.0)


def test_per_class_accuracy_plot_percent_bars_axis_from_near_the_lowest_legend_outside():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 200)
    noisy = np.where(rng.random(200) < 0.3, (y + 1) % 10, y)
    fig = plot_per_class_accuracy(y, {"logistic regression": noisy, "network": y})
    ax = fig.axes[0]
    assert len(ax.patches) == 20 and ax.get_ylabel() == "accuracy within class (%)"
    heights = np.array([p.get_height() for p in ax.patches])
    np.testing.assert_allclose(heights[:10], 100 * per_class_accuracy(y, noisy))
    np.testing.assert_allclose(heights[10:], 100.0)
    bottom, top = ax.get_ylim()
    assert top == 100 and 0 < bottom <= heights.min() and heights.min() - bottom <= 20
    fig.canvas.draw()
    legend_box = ax.get_legend().get_window_extent()
    assert legend_box.x0 >= ax.get_window_extent().x1 - 1  # outside, right of the bars


def test_per_class_accuracy_axis_never_starts_below_0():
    y = np.repeat(np.arange(10), 3)
    fig = plot_per_class_accuracy(y, {"m": (y + 1) % 10})  # 0% everywhere
    assert fig.axes[0].get_ylim() == (0.0, 100.0)
    with pytest.raises(ValueError, match="empty"):
        plot_per_class_accuracy(y, {})


def test_misclassified_shows_only_errors_with_true_and_predicted_names():
    rng = np.random.default_rng(1)
    X = rng.integers(0, 256, (30, 784), dtype=np.uint8)
    y_true = np.arange(30) % 10
    y_pred = y_true.copy()
    y_pred[[3, 17]] = [5, 0]
    fig = plot_misclassified(X, y_true, y_pred, n=12)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert sorted(titles) == sorted([f"{CLASS_NAMES[3]}\n→ {CLASS_NAMES[5]}",
                                     f"{CLASS_NAMES[7]}\n→ {CLASS_NAMES[0]}"])
    with pytest.raises(ValueError, match="no misclassified"):
        plot_misclassified(X, y_true, y_true)


# --------------------------------------------------------------------------- weights


def test_weight_templates_ten_class_images_on_one_symmetric_colour_scale():
    rng = np.random.default_rng(2)
    W = rng.normal(size=(784, 10))
    W[5, 3] = -7.0  # the largest magnitude, negative
    fig = plot_weight_templates(W)
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 10
    assert [ax.get_title() for ax in panels] == list(CLASS_NAMES)
    for k, ax in enumerate(panels):
        im = ax.images[0]
        assert im.get_clim() == (-7.0, 7.0)  # one scale for all, symmetric about 0
        np.testing.assert_array_equal(im.get_array(), W[:, k].reshape(28, 28))
    assert len(fig.axes) == 11  # and one colour bar


def test_plot_sweep_is_gone():
    """The report draws sweeps with plot_factor(s); the old per-run plot was removed."""
    assert not hasattr(plots, "plot_sweep")


def test_sweep_figures_carry_their_seed_count():
    st = pd.DataFrame({"lr": [0.01, 0.1], "mean": [0.8, 0.85], "sd": [0.01, 0.02],
                       "diverged": [0, 0], "seeds": [3, 3]})
    fig = plots.plot_factors({"lr": st}, {}, {})
    assert fig._suptitle.get_text() == "mean ± sd over 3 seeds per setting"
    ax = plots.plot_factor(st.assign(seeds=[2, 3]), "lr").axes[0]
    assert ax.get_title() == "mean ± sd over 2-3 seeds per setting"
