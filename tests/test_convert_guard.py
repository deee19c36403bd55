"""`--to ipynb` / `--to qmd` never write over a file that is newer than its counterpart or
holds edits the other lacks: one line says which and what to run (issue 20, point 1)."""

from __future__ import annotations

import json
import os

import pytest

from tools.qmdrender.__main__ import main

QMD = "---\ntitle: T\n---\n\nFirst text.\n\n```{python}\nx = 1\n```\n"


@pytest.fixture
def pair(tmp_path):
    qmd = tmp_path / "doc.qmd"
    qmd.write_text(QMD)
    assert main(["--to", "ipynb", str(qmd)]) == 0
    return qmd, tmp_path / "doc.ipynb"


def _age(path, seconds):
    """Make `path` look `seconds` older than now."""
    t = path.stat().st_mtime - seconds
    os.utime(path, (t, t))


def _edit_notebook(nb_path, old, new):
    nb = json.loads(nb_path.read_text())
    for cell in nb["cells"]:
        cell["source"] = "".join(cell["source"]).replace(old, new)
    nb_path.write_text(json.dumps(nb, indent=1))


def _one_error_line(capsys):
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_the_round_trip_of_the_readme_goes_through(pair):
    qmd, nb = pair
    _age(qmd, 10)
    _edit_notebook(nb, "First", "Edited")
    assert main(["--to", "qmd", str(nb)]) == 0          # notebook edits -> .qmd
    assert "Edited text." in qmd.read_text()
    _edit_notebook(nb, "Edited", "Again")               # more notebook edits
    assert main(["--to", "qmd", str(nb)]) == 0
    assert "Again text." in qmd.read_text()
    qmd.write_text(qmd.read_text().replace("Again", "Qmd"))  # then edits in the .qmd
    _age(nb, 10)
    assert main(["--to", "ipynb", str(qmd)]) == 0
    assert "Qmd text." in nb.read_text()


def test_a_newer_notebook_is_not_overwritten_by_to_ipynb(pair, capsys):
    qmd, nb = pair
    _age(qmd, 10)
    _edit_notebook(nb, "First", "Edited")
    before = nb.read_text()
    assert main(["--to", "ipynb", str(qmd)]) == 1
    line = _one_error_line(capsys)
    assert "doc.ipynb is newer than" in line and "--to qmd" in line
    assert nb.read_text() == before


def test_an_edited_notebook_is_kept_even_when_the_qmd_is_newer(pair, capsys):
    qmd, nb = pair
    _edit_notebook(nb, "First", "Edited")
    _age(nb, 10)
    qmd.write_text(QMD.replace("First", "Other"))
    before = nb.read_text()
    assert main(["--to", "ipynb", str(qmd)]) == 1
    assert "doc.ipynb holds edits" in _one_error_line(capsys)
    assert nb.read_text() == before


def test_a_newer_qmd_is_not_overwritten_by_to_qmd(pair, capsys):
    qmd, nb = pair
    _age(nb, 10)
    qmd.write_text(QMD.replace("First", "Edited"))
    assert main(["--to", "qmd", str(nb)]) == 1
    line = _one_error_line(capsys)
    assert "doc.qmd is newer than" in line and "--to ipynb" in line
    assert "Edited" in qmd.read_text()


def test_qmd_edits_survive_a_notebook_that_was_only_saved_again(pair, capsys):
    """Jupyter saving the unedited notebook makes it newer; the .qmd's edits still count."""
    qmd, nb = pair
    qmd.write_text(QMD.replace("First", "Edited"))
    _age(qmd, 10)
    nb.write_text(nb.read_text())
    assert main(["--to", "qmd", str(nb)]) == 1
    assert "doc.qmd holds edits" in _one_error_line(capsys)
    assert "Edited" in qmd.read_text()


def test_an_identical_target_is_never_a_conflict(pair):
    qmd, nb = pair
    _age(qmd, 10)
    nb.write_text(nb.read_text())  # newer, same content
    assert main(["--to", "ipynb", str(qmd)]) == 0
    assert main(["--to", "qmd", str(nb)]) == 0
    assert qmd.read_text() == QMD
