"""The report's figures: curves, per-factor sweeps over seeds, activations, confusion matrices,
per-class accuracy, weight templates; and their layout as printed (text size, labels off the
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
    plot_activations,
    plot_confusion_pair,
    plot_curves_pair,
    plot_factor,
    plot_factors,
    plot_history,
    plot_per_class_accuracy,
    plot_weight_templates,
    plot_width_dropout,
)
from fmnist.verdicts import per_class_accuracy  # noqa: E402
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


def factor_stats(factor, values, means, sds=None, diverged=None):
    """Rows as `over_seeds` gives them: the factor, mean, sd, diverged (count of seeds)."""
    n = len(values)
    return pd.DataFrame({factor: values, "mean": means,
                         "sd": sds if sds is not None else [0.01] * n,
                         "diverged": diverged if diverged is not None else [0] * n,
                         "seeds": [3] * n})


def lr_panel_stats():
    """A logistic-regression learning-rate sweep like the real one: 0.01 to 0.3 within half a
    point, 1 far below (an outlier), 3 and 10 diverged."""
    return factor_stats("lr", [1e-3, 1e-2, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0],
                        [0.80, 0.845, 0.850, 0.853, 0.848, 0.42, np.nan, np.nan],
                        sds=[0.003] * 8, diverged=[0, 0, 0, 0, 0, 0, 3, 3])


def full_sweeps():
    """One-factor sweeps with as many values as the full plan's (fmnist.plans.FULL_PLAN)."""
    nn = {"hidden": factor_stats("hidden", [32, 128, 512, 2048], [0.85, 0.866, 0.87, 0.871]),
          "batch_size": factor_stats("batch_size", [16, 64, 128, 512],
                                     [0.866, 0.867, 0.866, 0.858]),
          "lr": factor_stats("lr", [0.01, 0.03, 0.1, 0.3, 1.0], [0.85, 0.86, 0.866, 0.863, 0.4]),
          "l2": factor_stats("l2", [0.0, 1e-4, 1e-3, 1e-2], [0.866, 0.859, 0.86, 0.853]),
          "l1": factor_stats("l1", [0.0, 1e-4, 1e-3], [0.866, 0.859, 0.827]),
          "dropout": factor_stats("dropout", [0.0, 0.2, 0.4, 0.6], [0.866, 0.868, 0.87, 0.865])}
    logreg = {"lr": factor_stats("lr", [1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0],
                                 [0.743, 0.817, 0.846, 0.838, np.nan, np.nan],
                                 diverged=[0, 0, 0, 0, 3, 3]),
              "batch_size": factor_stats("batch_size", [16, 32, 64, 128, 256, 512],
                                         [0.845, 0.848, 0.847, 0.846, 0.842, 0.834]),
              "l2": factor_stats("l2", [0.0, 1e-4, 1e-3, 1e-2, 1e-1],
                                 [0.846, 0.846, 0.846, 0.843, 0.825]),
              "l1": factor_stats("l1", [0.0, 1e-4, 1e-3, 1e-2, 1e-1],
                                 [0.846, 0.845, 0.836, 0.792, 0.563])}
    return logreg, nn


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
    logreg, nn = full_sweeps()
    h = pd.DataFrame(synthetic_history()).assign(epoch=range(1, 8))
    y_val, pred = report_predictions()
    return {
        "examples": examples,
        "logreg sweeps": plot_factors(logreg, {"lr": "learning rate", "l2": "L2 coefficient"},
                                      {"lr": 0.01, "batch_size": 128, "l2": 0.0}, ncols=4),
        "logreg curves": plot_history(h),
        "templates": plot_weight_templates(np.random.default_rng(0).normal(size=(784, 10))),
        "nn sweeps": plot_factors(nn, {}, {"hidden": 128, "l2": 0.0}, ncols=3),
        "grid": plot_width_dropout(grid_stats()),
        "activations": plot_activations(activation_stats()),
        "dropout curves": plot_curves_pair({"with dropout": h, "without dropout":
                                            h.assign(val_acc=h["val_acc"] - 0.05)}),
        "confusion": plot_confusion_pair(y_val, pred),
        "per class": plot_per_class_accuracy(y_val, pred),
    }


def grid_stats(order=(3, 0, 2, 1)):
    """`over_seeds` rows of a hidden size x dropout grid (0, 0.2, 0.5), sizes in the `order`
    the runner may give them; dropout 0.5 at d = 2048 has a diverged seed."""
    sizes = np.array([32, 128, 512, 2048])[list(order)]
    means = {0.0: [0.84, 0.86, 0.865, 0.866], 0.2: [0.83, 0.865, 0.872, 0.874],
             0.5: [0.70, 0.86, 0.875, np.nan]}
    rows = [{"hidden": d, "dropout": p, "mean": m[k], "sd": 0.002 * (k + 1),
             "diverged": int(np.isnan(m[k])), "seeds": 3}
            for p, m in means.items() for k, d in zip(order, sizes, strict=True)]
    return pd.DataFrame(rows)


def activation_stats():
    """An activation x learning-rate sweep: relu best at 0.1, tanh at 0.1, sigmoid at 1."""
    rows = [("relu", 0.01, 0.84), ("relu", 0.1, 0.862), ("relu", 1.0, np.nan),
            ("tanh", 0.01, 0.84), ("tanh", 0.1, 0.858), ("tanh", 1.0, 0.85),
            ("sigmoid", 0.01, 0.78), ("sigmoid", 0.1, 0.83), ("sigmoid", 1.0, 0.852)]
    st = pd.DataFrame(rows, columns=["activation", "lr", "mean"])
    return st.assign(sd=0.004, diverged=st["mean"].isna() * 3, seeds=3)


FIGURES = ["examples", "logreg sweeps", "logreg curves", "templates", "nn sweeps", "grid",
           "activations", "dropout curves", "confusion", "per class"]


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
    """Five or six settings in a quarter of the text width (the logistic regression's sweeps)
    do not fit side by side: such labels are turned."""
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


def test_series_differ_by_more_than_colour_for_grey_scale_print(figures):
    grid = figures["grid"].axes[0]
    assert len({c.lines[0].get_marker() for c in grid.containers}) == len(grid.containers) == 3
    runs = figures["dropout curves"].axes[0].get_lines()
    assert runs[0].get_marker() != runs[2].get_marker()  # with and without dropout
    bars = figures["per class"].axes[0].patches
    assert len({bars[0].get_hatch(), bars[10].get_hatch()}) == 2  # one model plain, one hatched


def test_learning_rate_panel_spans_the_informative_points_and_marks_the_rest():
    """The panel's y-axis stays within a few points of 0.01-0.3 (0.5 points apart), so their
    difference shows; 1 (42%) is a ▼ at the bottom edge and 3 and 10 are x's, not points."""
    ax = plot_factors({"lr": lr_panel_stats()}, {}, {}, ncols=1).axes[0]
    lo, hi = ax.get_ylim()
    assert 79 < lo < 79.7 and 85.6 < hi < 87  # 80 - 0.3 (sd) - margin to 85.3 + 0.3 + margin
    x, y, *_ = errorbar(ax)
    np.testing.assert_allclose(x, np.log10([1e-3, 1e-2, 0.03, 0.1, 0.3]))
    marks = {ln.get_marker(): [] for ln in ax.lines if ln.get_marker() in ("v", "x")}
    for ln in ax.lines:
        if ln.get_marker() in marks and len(ln.get_xydata()):
            marks[ln.get_marker()] += list(np.ravel(ln.get_xdata()))
            # at the bottom edge whatever the axis limits: y in axes fractions
            assert ln.get_transform().transform(ln.get_xydata())[0][1] < (
                ax.transAxes.transform((0, 0.05))[1])
    np.testing.assert_allclose(sorted(marks["v"]), [0.0])  # log10(1)
    np.testing.assert_allclose(sorted(marks["x"]), np.log10([3.0, 10.0]))
    legend = [t.get_text() for t in ax.figure.legends[0].get_texts()]
    assert len(legend) == 2  # one entry for each kind of mark


def test_a_panel_within_the_off_scale_band_is_not_clipped():
    st = factor_stats("batch_size", [32, 128, 512], [0.86, 0.85, 0.78])  # 8 points: all shown
    ax = plot_factor(st, "batch_size").axes[0]
    assert ax.get_ylim()[0] < 77 and len(errorbar(ax)[0]) == 3
    assert not [ln for ln in ax.lines if ln.get_marker() == "v"]


def test_activations_each_at_its_best_learning_rate_named_under_it():
    ax = plot_activations(activation_stats()).axes[0]
    x, y, lo, hi, ls = errorbar(ax)
    np.testing.assert_allclose(y, [86.2, 85.8, 85.2])
    np.testing.assert_allclose(hi - y, 0.4, atol=1e-9)
    assert ls == "None"
    ticks = [t.get_text().split("\n") for t in ax.get_xticklabels()]
    assert [t[0] for t in ticks] == ["relu", "tanh", "sigmoid"]
    assert [t[1].split()[-1] for t in ticks] == ["0.1", "0.1", "1"]  # the rate each is shown at


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


# --------------------------------------------------------------------------- width x dropout


def errorbars(ax):
    """[(x, y, half-height of the error bars)] of each errorbar line of an axes."""
    out = []
    for line, _, (bars, *_) in ax.containers:
        half = [(s[1][1] - s[0][1]) / 2 for s in bars.get_segments()]
        out.append((np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float),
                    np.array(half)))
    return out


def test_width_dropout_one_line_per_rate_in_hidden_order_percent_and_sd():
    st = grid_stats()
    fig = plot_width_dropout(st)
    (ax,) = fig.axes
    lines = errorbars(ax)
    assert len(lines) == 3  # dropout 0, 0.2, 0.5
    for (x, y, half), p in zip(lines, (0.0, 0.2, 0.5), strict=True):
        want = st[st["dropout"] == p].sort_values("hidden").dropna(subset=["mean"])
        np.testing.assert_array_equal(x, want["hidden"])
        np.testing.assert_allclose(y, 100 * want["mean"])
        np.testing.assert_allclose(half, 100 * want["sd"], atol=1e-9)
    assert len({c.lines[0].get_marker() for c in ax.containers}) == 3  # grey-scale print
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "dropout 0", "dropout 0.2", "dropout 0.5"]
    assert ax.get_xlabel() == "hidden size d" and ax.get_ylabel() == "validation accuracy (%)"
    assert ax.get_title() == "mean ± sd over 3 seeds per setting"
    fig.canvas.draw()
    assert ax.get_legend().get_window_extent().x0 >= ax.get_window_extent().x1  # outside


def test_width_dropout_log2_axis_ticks_exactly_the_sizes_tried():
    ax = plot_width_dropout(grid_stats()).axes[0]
    ax.figure.canvas.draw()
    assert ax.get_xscale() == "log" and ax.xaxis.get_transform().base == 2
    np.testing.assert_array_equal(ax.get_xticks(), [32, 128, 512, 2048])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["32", "128", "512", "2048"]
    assert len(ax.xaxis.get_minorticklocs()) == 0


def test_width_dropout_leaves_out_a_setting_with_a_diverged_seed():
    """A NaN mean (every seed diverged) and a mean over the seeds that finished (one diverged)
    are both left out of their line; the others of that rate stay."""
    st = grid_stats()
    st.loc[(st["dropout"] == 0.2) & (st["hidden"] == 32), "diverged"] = 1
    x = {p: xs for (xs, _, _), p in zip(errorbars(plot_width_dropout(st).axes[0]),
                                        (0.0, 0.2, 0.5), strict=True)}
    np.testing.assert_array_equal(x[0.0], [32, 128, 512, 2048])
    np.testing.assert_array_equal(x[0.2], [128, 512, 2048])
    np.testing.assert_array_equal(x[0.5], [32, 128, 512])


def test_width_dropout_title_gives_a_range_when_the_seed_counts_differ(tmp_path):
    path = tmp_path / "grid.png"
    ax = plot_width_dropout(grid_stats().assign(seeds=[2] + [3] * 11), path=path).axes[0]
    assert ax.get_title() == "mean ± sd over 2-3 seeds per setting"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- sweeps over seeds


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
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1e-4", "0.001", "0.01"]
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
    crosses = [ln for ln in ax.get_lines() if ln.get_marker() == "x" and len(ln.get_xydata())]
    assert len(crosses) == 1 and list(np.ravel(crosses[0].get_xdata())) == [1.0]  # log10(10)
    assert len(ax.get_legend().get_texts()) == 1  # the x, explained
    np.testing.assert_allclose(ax.get_xticks(), [-3, -2, -1, 1])  # still on the axis
    fig = ax.figure
    fig.canvas.draw()
    assert ax.get_legend().get_window_extent().x0 >= ax.get_window_extent().x1  # outside


def test_factor_with_hue_one_series_per_value_and_a_legend():
    st = pd.concat([factor_stats("hidden", [32, 128, 512], [0.80, 0.84, 0.85]).assign(dropout=0),
                    factor_stats("hidden", [32, 128, 512], [0.78, 0.85, 0.86],
                                 diverged=[1, 0, 0]).assign(dropout=0.4)], ignore_index=True)
    ax = plot_factor(st, "hidden", hue="dropout", hue_label="dropout").axes[0]
    assert len(ax.containers) == 2
    np.testing.assert_allclose(errorbar(ax, 1)[1], [85, 86])
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    # the two series, and the diverged setting of the second, are in the legend
    assert len(texts) == 3 and {"dropout 0", "dropout 0.4"} <= set(texts)
    cross = [ln for ln in ax.lines if ln.get_marker() == "x" and len(ln.get_xydata())]
    assert cross[0].get_color() == ax.containers[1].lines[0].get_color()  # its series' colour


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
    # each panel its own accuracy scale: a collapse in one (l2 0.001 at 70%) neither flattens
    # the point-sized differences of the others nor its own panel: it is a mark at the edge
    lo, hi = used[1].get_ylim()
    assert 80 < lo < 83 and 84 < hi < 86
    assert used[2].get_ylim()[0] > 80 and len(errorbar(used[2])[0]) == 1
    # the y label only at the left of each row
    assert [ax.get_ylabel() for ax in used] == ["validation accuracy (%)", "", "",
                                                "validation accuracy (%)"]
    # a baseline line only where a baseline is given
    dotted = [sum(ln.get_linestyle() == ":" for ln in ax.get_lines()) for ax in used]
    assert dotted == [1, 0, 1, 0]
    # the marks are explained once, in a legend for the figure, not in every panel
    assert not any(ax.get_legend() for ax in used) and len(fig.legends) == 1


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


def test_per_class_accuracy_plot_percent_bars_from_0_legend_above():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 200)
    noisy = np.where(rng.random(200) < 0.3, (y + 1) % 10, y)
    fig = plot_per_class_accuracy(y, {"logistic regression": noisy, "network": y})
    ax = fig.axes[0]
    assert len(ax.patches) == 20 and ax.get_ylabel() == "accuracy within class (%)"
    heights = np.array([p.get_height() for p in ax.patches])
    np.testing.assert_allclose(heights[:10], 100 * per_class_accuracy(y, noisy))
    np.testing.assert_allclose(heights[10:], 100.0)
    assert ax.get_ylim() == (0.0, 100.0)  # the bars' lengths are their accuracies
    fig.canvas.draw()
    assert ax.get_legend().get_window_extent().y0 >= ax.get_window_extent().y1 - 1  # above


def test_per_class_accuracy_needs_a_model():
    with pytest.raises(ValueError, match="empty"):
        plot_per_class_accuracy(np.arange(10), {})


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
    """The report draws sweeps with plot_factor(s) and confusion matrices in pairs; the old
    per-run sweep plot, the single matrix and the misclassified grid (unused) were removed."""
    for name in ("plot_sweep", "plot_confusion", "plot_misclassified"):
        assert not hasattr(plots, name)


def test_sweep_figures_carry_their_seed_count():
    st = pd.DataFrame({"lr": [0.01, 0.1], "mean": [0.8, 0.85], "sd": [0.01, 0.02],
                       "diverged": [0, 0], "seeds": [3, 3]})
    fig = plots.plot_factors({"lr": st}, {}, {})
    assert fig._suptitle.get_text() == "mean ± sd over 3 seeds per setting"
    ax = plots.plot_factor(st.assign(seeds=[2, 3]), "lr").axes[0]
    assert ax.get_title() == "mean ± sd over 2-3 seeds per setting"
