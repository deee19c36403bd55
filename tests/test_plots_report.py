"""The report's figures: the examples, curves, confusion matrices,
weight templates; and their layout as printed (text size, labels off the
curves, axes that show the differences).

Synthetic histories, statistics and predictions only, so the whole file runs in a few seconds.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from fmnist import plots  # noqa: E402
from fmnist.data import CLASS_NAMES  # noqa: E402
from fmnist.plots import (  # noqa: E402
    plot_confusion_pair,
    plot_curves_pair,
    plot_history,
    plot_weight_templates,
)
from tools.qmdrender.outputs import TEXT_WIDTH_IN  # noqa: E402

PAD = 0.1  # inches: what savefig(bbox_inches="tight"), as the report saves, adds on each side


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# --------------------------------------------------------------------------- as printed


def texts(fig):
    """Every visible, non-empty text of a figure: ticks, axis labels, titles, notes, legends."""
    out = [fig._suptitle, *fig.texts, *(t for leg in fig.legends for t in leg.get_texts())]
    for ax in fig.axes:
        if ax.axison:
            out += [*ax.get_xticklabels(), *ax.get_yticklabels(), ax.xaxis.label, ax.yaxis.label]
        out += [ax.title, ax._left_title, ax._right_title, *ax.texts]
        if ax.get_legend():
            out += ax.get_legend().get_texts()
    return [t for t in out if t is not None and t.get_visible() and t.get_text().strip()]


def printed_sizes(fig):
    """{text: points} as the report prints `fig`: saved with a tight box, then placed at its
    natural width, shrunk to the text width when wider (Typst, tools/qmdrender)."""
    fig.canvas.draw()
    width = fig.get_tightbbox().width + 2 * PAD  # inches
    shrink = min(1.0, TEXT_WIDTH_IN / width)
    return {t.get_text(): t.get_fontsize() * shrink for t in texts(fig)}


def curve_points(ax, per_segment=25):
    """Display coordinates of every drawn point of the axes' lines and error bars, with points
    along each segment of a joined line (what a label must not cover)."""
    inside = ax.get_window_extent()
    out = []
    lines = [(ln.get_transform().transform(ln.get_xydata()), ln.get_linestyle() != "None",
              ln.get_clip_on()) for ln in ax.lines if len(ln.get_xydata())]
    for coll in ax.collections:
        lines += [(coll.get_transform().transform(seg), True, coll.get_clip_on())
                  for seg in coll.get_segments()]
    for xy, joined, clipped in lines:
        if joined and len(xy) > 1:
            t = np.linspace(0, 1, per_segment)[:, None]
            xy = np.concatenate([a + t * (b - a) for a, b in zip(xy[:-1], xy[1:], strict=True)])
        if clipped:
            xy = xy[[inside.contains(*p) for p in xy]]
        out.append(xy)
    return np.concatenate(out) if out else np.empty((0, 2))


def label_boxes(fig):
    """Window boxes of every legend and of every note written on a plot (not on an image)."""
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend())]
    notes = [t for ax in fig.axes if not ax.images for t in ax.texts if t.get_text().strip()]
    return [a.get_window_extent() for a in legends + notes]


def labels_on_curves(fig):
    """(label box, axes) pairs where a legend or note covers a curve, error bar or bar."""
    fig.canvas.draw()
    hits = []
    for box in label_boxes(fig):
        for ax in fig.axes:
            pts = curve_points(ax)
            inner = box.padded(-1)
            if (len(pts) and np.any([inner.contains(*p) for p in pts])) or any(
                    inner.overlaps(p.get_window_extent()) for p in ax.patches
                    if p.get_height() and p.get_width()):
                hits.append((box, ax))
    return hits


def synthetic_history(epochs=7):
    t = np.arange(1, epochs + 1)
    return {
        "train_loss": list(1.0 / t),
        "val_loss": list(1.0 / t + 0.05 * t),
        "train_acc": list(1 - 0.5 / t),
        "val_acc": [0.5, 0.7, 0.8, 0.85, 0.84, 0.83, 0.82][:epochs],
        "seconds": [0.1] * epochs,
    }


def report_predictions(n=2000, seed=0):
    """y_true and two models' predictions with realistic confusions (Shirt as T-shirt...)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    out = {}
    for name, err in (("logistic regression", 0.16), ("network", 0.11)):
        wrong = rng.random(n) < err * np.where(y == 6, 3, 1)
        out[name] = np.where(wrong, rng.choice([0, 2, 4, 6], n), y)
    return y, out


def report_figures():
    """Every figure of the report, built as report.qmd builds it, from synthetic inputs."""
    from tests.synth import make_images

    X, y = make_images(per_class=4)
    examples = plots.plot_examples(X, y)
    examples.set_size_inches(examples.get_size_inches() * 0.62)  # as report.qmd shrinks it
    h = pd.DataFrame(synthetic_history()).assign(epoch=range(1, 8))
    y_val, pred = report_predictions()
    return {
        "examples": examples,
        "logreg curves": plot_history(h),
        "templates": plot_weight_templates(np.random.default_rng(0).normal(size=(784, 10))),
        "confusion": plot_confusion_pair(y_val, pred),
    }


FIGURES = ["examples", "logreg curves", "templates", "confusion"]


@pytest.fixture(scope="module")
def figures():
    figs = report_figures()
    assert list(figs) == FIGURES
    yield figs
    plt.close("all")


@pytest.mark.parametrize("name", FIGURES)
def test_every_text_is_at_least_7_points_as_printed(figures, name):
    sizes = printed_sizes(figures[name])
    assert len(sizes) >= 2
    small = {text: round(pt, 1) for text, pt in sizes.items() if pt < 7}
    assert not small


@pytest.mark.parametrize("name", FIGURES)
def test_no_legend_or_note_sits_on_a_curve(figures, name):
    assert not labels_on_curves(figures[name])


def overlapping_tick_labels(ax):
    """Pairs of neighbouring x tick labels that overlap: level ones by their boxes, turned
    ones (parallel strings) when the ticks are closer, across the text, than a line is high."""
    fig = ax.figure
    fig.canvas.draw()
    labels = [t for t in ax.get_xticklabels() if t.get_text()]
    out = []
    for a, b in zip(labels, labels[1:], strict=False):
        turn = np.deg2rad(a.get_rotation())
        if turn == 0:
            hit = a.get_window_extent().x1 > b.get_window_extent().x0
        else:
            step = abs(ax.transData.transform((b.get_position()[0], 0))[0]
                       - ax.transData.transform((a.get_position()[0], 0))[0])
            hit = step * np.sin(turn) < a.get_fontsize() * fig.dpi / 72
        if hit:
            out.append((a.get_text(), b.get_text()))
    return out


@pytest.mark.parametrize("name", FIGURES)
def test_no_tick_labels_overlap(figures, name):
    """Class names under a confusion matrix do not fit side by side: such labels are turned."""
    assert not [(ax.get_xlabel(), pair) for ax in figures[name].axes
                for pair in overlapping_tick_labels(ax)]


def test_the_checks_catch_small_print_and_a_legend_on_a_curve():
    """The two measures above can fail: an 8 in wide figure with 7 pt ticks prints them
    smaller, and a legend placed over a line is found."""
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.plot([0, 1], [0, 1], label="diagonal")
    ax.tick_params(labelsize=7)
    ax.legend(loc="center")
    assert min(printed_sizes(fig).values()) < 7
    assert labels_on_curves(fig)


def test_print_size_style_leaves_the_callers_settings_and_interactive_mode():
    """A notebook's first figure switches matplotlib to interactive mode, which is how the
    report's later cells show their figures; restoring every rcParam after the first figure
    (plt.rc_context) switched it back off and the report lost every figure after the first."""
    def first_figure():
        matplotlib.interactive(True)  # what the inline backend does on its first figure
        return plt.figure()

    was = matplotlib.is_interactive()
    try:
        matplotlib.interactive(False)
        with plt.rc_context({"font.size": 13}):
            plots.at_print_size(first_figure)()
            assert matplotlib.is_interactive()
            assert plt.rcParams["font.size"] == 13  # the caller's own setting is back
    finally:
        matplotlib.interactive(was)


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
    assert [ln.get_linestyle() for ln in acc_lines] == ["-", "--"]
    assert acc_lines[0].get_color() != acc_lines[1].get_color()  # noisy curves cross
    # the best validation epoch (4) is marked by a dotted line and named with its accuracy,
    # above the panel, where no curve passes
    marks = [ln for ln in ax_acc.get_lines() if ln.get_linestyle() == ":"]
    assert len(marks) == 1 and list(marks[0].get_xdata()) == [4, 4]
    (note,) = ax_acc.texts
    assert {"4", "85.0%"} <= set(note.get_text().replace(",", " ").split())
    fig.canvas.draw()
    assert note.get_window_extent().y0 >= ax_acc.get_window_extent().y1
    assert len(fig.legends[0].get_texts()) == 2  # training, validation


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


def test_history_plot_uses_the_recorded_epoch_numbers_as_whole_ticks():
    h = pd.DataFrame(synthetic_history(3)).assign(epoch=[2, 4, 6])
    fig = plot_history(h)
    np.testing.assert_array_equal(fig.axes[0].get_lines()[0].get_xdata(), [2, 4, 6])
    assert "6" in fig.axes[1].texts[0].get_text().replace(",", " ").split()
    fig.canvas.draw()
    ticks = fig.axes[0].get_xticks()
    np.testing.assert_array_equal(ticks, np.round(ticks))  # no epoch 2.5


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
    # one legend for both panels: the runs' colours, then the two line styles
    (legend,) = fig.legends
    handles = legend.legend_handles
    assert [t.get_text() for t in legend.get_texts()][:2] == ["with dropout", "without dropout"]
    assert [matplotlib.colors.to_hex(h.get_color()) for h in handles[:2]] == [
        matplotlib.colors.to_hex(ax_acc.get_lines()[i].get_color()) for i in (0, 2)]
    assert [h.get_linestyle() for h in handles[2:]] == ["-", "--"]


# --------------------------------------------------------------------------- errors


def test_confusion_pair_one_titled_matrix_per_model_class_names_once():
    y = np.repeat(np.arange(10), 4)
    wrong = y.copy()
    wrong[:4] = 6
    fig = plot_confusion_pair(y, {"logistic regression": wrong, "network": y})
    axes = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in axes] == ["logistic regression", "network"]
    assert axes[0].get_ylabel() == "true class" and axes[1].get_ylabel() == ""
    assert [t.get_text() for t in axes[0].get_yticklabels()] == list(CLASS_NAMES)
    np.testing.assert_allclose(axes[0].images[0].get_array()[0, 6], 100)  # row 0 all as Shirt
    np.testing.assert_allclose(np.diag(axes[1].images[0].get_array()), 100)


def cell_texts(ax):
    """The matrix of cell texts of a confusion axes, by (row, column)."""
    out = np.full((10, 10), None)
    for t in ax.texts:
        x, y = t.get_position()
        out[int(round(y)), int(round(x))] = t.get_text()
    return out


def test_every_confusion_cell_shows_its_number_and_the_empty_ones_are_explained():
    y = np.repeat(np.arange(10), 300)
    pred = y.copy()
    pred[0] = 6  # 1 of 300 T-shirts as Shirt: 0.3%, shown as "<1", not as an empty cell
    pred[1:76] = 2  # 75 of 300 as Pullover: 25%
    fig = plot_confusion_pair(y, {"m": pred})
    ax = next(ax for ax in fig.axes if ax.images)
    cells = cell_texts(ax)
    assert all(c is not None for c in cells.flat)  # every cell has a text
    assert cells[0, 0] == "75" and cells[0, 2] == "25" and cells[0, 6] == "<1"
    assert cells[3, 3] == "100"
    zero = {c for i, j in np.ndindex(10, 10) for c in [cells[i, j]] if (i, j) not in
            {(0, 0), (0, 2), (0, 6)} and i != j}
    assert len(zero) == 1 and zero != {"0"}  # one symbol for "no image", named by the colour bar
    colour_bar = next(a for a in fig.axes if not a.images and a.axison)
    assert zero.pop() in colour_bar.get_ylabel()


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


def test_removed_figures_are_gone():
    """Figures the report does not draw were removed: the sweep panels (plot_factor(s)), the
    activations, per-class bars, single confusion matrix and misclassified grid."""
    for name in ("plot_sweep", "plot_factor", "plot_factors", "plot_activations",
                 "plot_per_class_accuracy", "plot_confusion", "plot_misclassified",
                 "plot_width_dropout"):  # the grid is a table (tables.two_way_table)
        assert not hasattr(plots, name)
