"""The Part 1 figure: a 10 x 4 grid of examples, one labelled row per class."""

from __future__ import annotations

import struct

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from fmnist import __main__ as cli  # noqa: E402
from fmnist.data import CLASS_NAMES  # noqa: E402
from fmnist.plots import plot_examples  # noqa: E402
from tests.synth import make_images, write_train_csv  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def grid(fig):
    """The figure's image axes as rows of 4, top to bottom."""
    axes = [ax for ax in fig.axes if ax.images]
    axes.sort(key=lambda ax: (-ax.get_position().y0, ax.get_position().x0))
    return [axes[i : i + 4] for i in range(0, len(axes), 4)]


def test_grid_has_four_different_examples_of_each_class_in_labelled_rows():
    X, y = make_images(per_class=9)
    fig = plot_examples(X, y)
    rows = grid(fig)
    assert sum(len(ax.images) for ax in fig.axes) == 40 and len(rows) == 10
    assert [row[0].get_ylabel() for row in rows] == list(CLASS_NAMES)
    index_of = {x.tobytes(): i for i, x in enumerate(X)}
    for c, row in enumerate(rows):
        shown = [index_of[np.asarray(ax.images[0].get_array()).astype(np.uint8).tobytes()]
                 for ax in row]
        assert len(set(shown)) == 4  # four different examples
        assert all(y[i] == c for i in shown)  # all of the row's class
        for ax in row:
            assert ax.images[0].get_array().shape == (28, 28)
            assert not ax.get_xticks().size and not ax.get_yticks().size
        assert all(ax.get_ylabel() == "" for ax in row[1:])


def test_examples_depend_on_the_seed_only():
    X, y = make_images(per_class=20)
    first = [ax.images[0].get_array().sum() for ax in plot_examples(X, y, random_state=1).axes]
    again = [ax.images[0].get_array().sum() for ax in plot_examples(X, y, random_state=1).axes]
    other = [ax.images[0].get_array().sum() for ax in plot_examples(X, y, random_state=2).axes]
    assert first == again and first != other


def test_a_class_with_too_few_examples_is_an_error():
    X, y = make_images(per_class=4)
    keep = np.concatenate([np.flatnonzero(y != 6), np.flatnonzero(y == 6)[:3]])
    with pytest.raises(ValueError, match=r"class 6 \(Shirt\) has 3 examples"):
        plot_examples(X[keep], y[keep])


def test_saved_png_is_at_least_150_dpi(tmp_path):
    X, y = make_images(per_class=4)
    path = tmp_path / "figures" / "examples.png"
    plot_examples(X, y, path=path)
    png = path.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    at = png.index(b"pHYs") + 4  # pixels per metre in x and y, then the unit (1 = metre)
    ppm_x, ppm_y, unit = struct.unpack(">IIB", png[at : at + 9])
    assert unit == 1 and min(ppm_x, ppm_y) * 0.0254 >= 149.9
    height, width = mpimg.imread(path).shape[:2]
    assert height > 1.5 * width  # ten rows of four: a tall grid
    assert height >= 10 * 28 * 2  # every image pixel at least 2 x 2 pixels of the PNG
    assert [p.name for p in path.parent.iterdir()] == ["examples.png"]  # no temporary left


def test_figure_command_reads_train_csv_and_writes_the_png(tmp_path, capsys):
    X, y = make_images(per_class=4)
    write_train_csv(tmp_path / "train.csv", X, y)
    out = tmp_path / "out" / "grid.png"
    assert cli.main(["figure", "--data-dir", str(tmp_path), "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert capsys.readouterr().out == f"wrote {out}\n"


def test_figure_command_without_data_exits_2_with_one_line(tmp_path, capsys):
    assert cli.main(["figure", "--data-dir", str(tmp_path), "--out",
                     str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "file not found" in err
    assert not (tmp_path / "x.png").exists()


def test_figure_command_refuses_a_folder_as_output_before_reading(tmp_path, capsys):
    (tmp_path / "figs").mkdir()
    assert cli.main(["figure", "--data-dir", str(tmp_path), "--out",
                     str(tmp_path / "figs")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a folder" in err  # not "file not found": no reading
