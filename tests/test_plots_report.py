"""The report's figures: curves, sweeps, confusion matrix, per-class accuracy, misclassified.

Synthetic histories and predictions only, so the whole file runs in a few seconds.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from fmnist.data import CLASS_NAMES  # noqa: E402
from fmnist.plots import (  # noqa: E402
    confusion_matrix,
    per_class_accuracy,
    plot_confusion,
    plot_history,
    plot_misclassified,
    plot_per_class_accuracy,
    plot_sweep,
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


def test_history_plot_has_loss_and_accuracy_panels_with_the_data():
    h = synthetic_history()
    fig = plot_history(h, title="best model")
    ax_loss, ax_acc = fig.axes
    assert ax_loss.get_xlabel() == "epoch" and "loss" in ax_loss.get_ylabel()
    assert "accuracy" in ax_acc.get_ylabel()
    train, val = ax_loss.get_lines()[:2]
    np.testing.assert_array_equal(train.get_xdata(), np.arange(1, 8))
    np.testing.assert_allclose(train.get_ydata(), h["train_loss"])
    np.testing.assert_allclose(val.get_ydata(), h["val_loss"])
    acc_lines = [ln for ln in ax_acc.get_lines() if len(ln.get_xdata()) == 7]
    np.testing.assert_allclose(acc_lines[1].get_ydata(), h["val_acc"])
    # the best validation epoch (4) is marked and annotated
    texts = [t.get_text() for t in ax_acc.texts]
    assert any("0.8500" in t and "epoch 4" in t for t in texts), texts
    assert [t.get_text() for t in ax_loss.get_legend().get_texts()] == ["training", "validation"]


def test_history_plot_accepts_a_dataframe_and_no_validation():
    h = pd.DataFrame(synthetic_history())[["train_loss", "train_acc"]]
    fig = plot_history(h)
    assert len(fig.axes[0].get_lines()) == 1


def test_history_plot_rejects_an_empty_history():
    with pytest.raises(ValueError, match="train_loss"):
        plot_history({"train_loss": []})


def test_history_plot_writes_a_png(tmp_path):
    path = tmp_path / "curves.png"
    plot_history(synthetic_history(), path=path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob(".*.tmp"))


def test_sweep_plot_one_line_per_hue_mean_over_repeats_log_axis():
    df = pd.DataFrame({
        "lr": [0.001, 0.01, 0.1, 0.001, 0.01, 0.1, 0.1],
        "batch_size": [32, 32, 32, 256, 256, 256, 256],
        "val_acc": [0.80, 0.84, 0.83, 0.70, 0.80, 0.84, 0.86],
    })
    fig = plot_sweep(df, x="lr", hue="batch_size")
    ax = fig.axes[0]
    lines = ax.get_lines()
    assert len(lines) == 2
    assert ax.get_xscale() == "log"
    np.testing.assert_allclose(lines[1].get_xdata(), [0.001, 0.01, 0.1])
    np.testing.assert_allclose(lines[1].get_ydata(), [0.70, 0.80, 0.85])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "batch_size = 32", "batch_size = 256"]


def test_sweep_plot_categorical_x_keeps_first_seen_order():
    df = pd.DataFrame({"activation": ["relu", "tanh", "sigmoid"], "val_acc": [0.9, 0.88, 0.86]})
    ax = plot_sweep(df, x="activation").axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["relu", "tanh", "sigmoid"]
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [0.9, 0.88, 0.86])


def test_sweep_plot_names_a_missing_column():
    with pytest.raises(ValueError, match="'hidden'"):
        plot_sweep(pd.DataFrame({"lr": [1.0], "val_acc": [0.5]}), x="hidden")


def test_confusion_matrix_counts_and_per_class_accuracy():
    y_true = np.array([0, 0, 0, 1, 1, 2, 9])
    y_pred = np.array([0, 0, 1, 1, 0, 2, 2])
    C = confusion_matrix(y_true, y_pred)
    assert C.shape == (10, 10) and C.sum() == 7
    assert C[0, 0] == 2 and C[0, 1] == 1 and C[1, 0] == 1 and C[9, 2] == 1
    assert np.trace(C) == 4
    acc = per_class_accuracy(y_true, y_pred)
    np.testing.assert_allclose(acc[[0, 1, 2, 9]], [2 / 3, 1 / 2, 1, 0])
    assert np.isnan(acc[5])  # a class with no examples has no accuracy, not 0


def test_confusion_matrix_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="equal length"):
        confusion_matrix([0, 1], [0])


def test_confusion_plot_shows_row_percentages_and_class_names():
    y_true = np.repeat(np.arange(10), 4)
    y_pred = y_true.copy()
    y_pred[0] = 6  # one T-shirt predicted as Shirt: row 0 is 75 / 25
    ax = plot_confusion(y_true, y_pred).axes[0]
    texts = {t.get_text() for t in ax.texts}
    assert {"75", "25", "100"} <= texts
    assert [t.get_text() for t in ax.get_yticklabels()] == list(CLASS_NAMES)


def test_per_class_accuracy_plot_one_bar_group_per_model():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 200)
    noisy = np.where(rng.random(200) < 0.3, (y + 1) % 10, y)
    fig = plot_per_class_accuracy(y, {"logistic regression": noisy, "network": y})
    ax = fig.axes[0]
    assert len(ax.patches) == 20
    heights = np.array([p.get_height() for p in ax.patches])
    np.testing.assert_allclose(heights[:10], per_class_accuracy(y, noisy))
    np.testing.assert_allclose(heights[10:], 1.0)


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


def test_history_plot_uses_the_recorded_epoch_numbers():
    h = pd.DataFrame(synthetic_history(3)).assign(epoch=[2, 4, 6])
    line = plot_history(h).axes[0].get_lines()[0]
    np.testing.assert_array_equal(line.get_xdata(), [2, 4, 6])


def test_sweep_plot_log_axis_is_ticked_at_the_values_tried_with_readable_names():
    df = pd.DataFrame({"lr": [0.005, 0.02, 0.1, 0.5], "val_acc": [0.8, 0.84, 0.85, 0.83],
                       "batch_size": [32] * 4})
    ax = plot_sweep(df, x="lr", hue="batch_size", x_label="learning rate",
                    hue_label="batch size").axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.005", "0.02", "0.1", "0.5"]
    assert ax.get_xlabel() == "learning rate"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["batch size = 32"]
