"""save-figures.lua: after either renderer, figures/ beside the document holds each figure of
it named by its label, and nothing stale (issue 19, point 5)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tools.qmdrender.pandoc import pandoc_path

FILTER = ROOT / "tools" / "qmdrender" / "quarto" / "save-figures.lua"

# What Quarto's Jupyter engine hands Pandoc: plots named <label>-output-<n> (n counts every
# output of the cell, text too), unlabelled ones cell-<i>-output-<n>.
QUARTO_MD = """
![A](doc_files/figure-typst/fig-a-output-1.svg){#fig-a}

::: {#fig-b}
![](doc_files/figure-typst/fig-b-output-2.svg){#fig-b-1}
![](doc_files/figure-typst/fig-b-output-3.png){#fig-b-2}

B
:::

![](doc_files/figure-typst/cell-4-output-1.svg)
"""


def _pandoc(folder, markdown: str) -> None:
    subprocess.run([pandoc_path(), "-f", "markdown", "-t", "typst", f"--lua-filter={FILTER}"],
                   input=markdown, cwd=folder, capture_output=True, text=True, check=True)


def test_quarto_plot_files_are_copied_under_their_labels_and_stale_ones_go(tmp_path):
    plots = tmp_path / "doc_files" / "figure-typst"
    plots.mkdir(parents=True)
    for name in ("fig-a-output-1.svg", "fig-b-output-2.svg", "fig-b-output-3.png",
                 "cell-4-output-1.svg", "fig-gone-output-1.svg"):
        (plots / name).write_text(f"<{name}>")
    figures = tmp_path / "figures"
    figures.mkdir()
    for name in (".gitkeep", "fig-old.svg", "fig-a.png", "notes.txt"):
        (figures / name).write_text("old")
    _pandoc(tmp_path, QUARTO_MD)
    assert sorted(p.name for p in figures.iterdir()) == [
        ".gitkeep", "fig-a.svg", "fig-b-1.svg", "fig-b-2.png", "notes.txt"]
    assert (figures / "fig-a.svg").read_text() == "<fig-a-output-1.svg>"
    assert (figures / "fig-b-2.png").read_text() == "<fig-b-output-3.png>"


def test_a_document_without_figures_leaves_figures_alone(tmp_path):
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "fig-x.svg").write_text("kept")
    _pandoc(tmp_path, "Text only, and `fig-a-output-1.svg` in code.\n")
    assert (tmp_path / "figures" / "fig-x.svg").read_text() == "kept"


@pytest.mark.slow
def test_the_builtin_renderer_fills_figures_beside_the_document(tmp_path):
    (tmp_path / "_quarto.yml").write_text(
        f"format:\n  typst:\n    filters:\n      - quarto\n      - {FILTER}\n")
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "fig-stale.svg").write_text("old")
    qmd = tmp_path / "doc.qmd"
    qmd.write_text("---\ntitle: T\n---\n\n```{python}\n#| label: fig-line\n"
                   "#| fig-cap: A line.\nimport matplotlib.pyplot as plt\nprint('text first')\n"
                   "plt.plot([0, 1])\nplt.show()\n```\n\n```{python}\nplt.plot([1, 0])\n"
                   "plt.show()\n```\n")
    proc = subprocess.run([sys.executable, "-m", "tools.qmdrender", str(qmd), "--build-dir",
                           str(tmp_path / "build")], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == ["fig-line.svg"]
    assert (tmp_path / "figures" / "fig-line.svg").read_text().lstrip().startswith("<?xml")


def test_images_already_written_as_raw_typst_count_too(tmp_path):
    """qmdrender's features.lua writes an image with fig-alt as raw Typst `image(...)`."""
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "fig-r-output-1.svg").write_text("<r>")
    _pandoc(tmp_path, '`#box(image("p/fig-r-output-1.svg", alt: "x"))`{=typst}\n')
    assert (tmp_path / "figures" / "fig-r.svg").read_text() == "<r>"
