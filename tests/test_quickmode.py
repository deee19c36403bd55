"""Quick mode (fmnist.quickmode): which values of FMNIST_QUICK turn it on, the `F.quick`
markers, and that the variable is read in that one module."""

import ast
from pathlib import Path

import pytest

from fmnist import quickmode

PACKAGE = Path(__file__).resolve().parents[1] / "fmnist"


@pytest.mark.parametrize("value", ["1", "true", "True", "TRUE", "yes", "on", " 1 ", "2"])
def test_true_values_turn_quick_mode_on(monkeypatch, value):
    monkeypatch.setenv("FMNIST_QUICK", value)
    assert quickmode.enabled() is True


@pytest.mark.parametrize("value", [None, "", "0", "false", "False", "no", "off", " 0 "])
def test_false_values_and_no_variable_leave_it_off(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("FMNIST_QUICK", raising=False)
    else:
        monkeypatch.setenv("FMNIST_QUICK", value)
    assert quickmode.enabled() is False


def test_an_explicit_choice_beats_the_environment(monkeypatch):
    monkeypatch.setenv("FMNIST_QUICK", "1")
    assert quickmode.enabled(False) is False
    monkeypatch.setenv("FMNIST_QUICK", "0")
    assert quickmode.enabled(True) is True


def test_markers_appear_and_disappear(tmp_path):
    f = tmp_path / "lr_pred.csv"
    f.write_text("1\n")
    assert quickmode.marker(f) == tmp_path / "lr_pred.csv.quick"
    assert not quickmode.is_marked(f)
    quickmode.mark(f, quick=True)
    assert quickmode.is_marked(f)
    assert "quick mode" in (tmp_path / "lr_pred.csv.quick").read_text()
    quickmode.mark(f, quick=True)  # idempotent
    quickmode.mark(f, quick=False)
    assert not quickmode.is_marked(f)
    quickmode.mark(f, quick=False)  # no marker to remove: fine
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lr_pred.csv"]


def test_the_variable_is_read_in_quickmode_only():
    """No other module of the package looks FMNIST_QUICK up in the environment."""
    readers = []
    for path in sorted(PACKAGE.glob("*.py")):
        if path.name == "quickmode.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and node.args[0].value == "FMNIST_QUICK"):
                readers.append(f"{path.name}:{node.lineno}")
            if (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant)
                    and node.slice.value == "FMNIST_QUICK"):
                readers.append(f"{path.name}:{node.lineno}")
    assert not readers, readers
    assert quickmode.ENV == "FMNIST_QUICK"
