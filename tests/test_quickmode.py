"""Quick mode: which values of FMNIST_QUICK turn it on (`fmnist.plans.quick_enabled`), the
`F.quick` markers (`fmnist.experiments`), and that the variable is read in plans.py only."""

import ast
from pathlib import Path

import pytest

from fmnist.experiments import mark_quick
from fmnist.plans import quick_enabled

PACKAGE = Path(__file__).resolve().parents[1] / "fmnist"


@pytest.mark.parametrize("value", ["1", "true", "True", "TRUE", "yes", "on", " 1 ", "2"])
def test_true_values_turn_quick_mode_on(monkeypatch, value):
    monkeypatch.setenv("FMNIST_QUICK", value)
    assert quick_enabled() is True


@pytest.mark.parametrize("value", [None, "", "0", "false", "False", "no", "off", " 0 "])
def test_false_values_and_no_variable_leave_it_off(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("FMNIST_QUICK", raising=False)
    else:
        monkeypatch.setenv("FMNIST_QUICK", value)
    assert quick_enabled() is False


def test_an_explicit_choice_beats_the_environment(monkeypatch):
    monkeypatch.setenv("FMNIST_QUICK", "1")
    assert quick_enabled(False) is False
    monkeypatch.setenv("FMNIST_QUICK", "0")
    assert quick_enabled(True) is True


def test_markers_appear_and_disappear(tmp_path):
    f = tmp_path / "lr_pred.csv"
    f.write_text("1\n")
    marker = tmp_path / "lr_pred.csv.quick"
    assert not marker.exists()
    mark_quick(f, quick=True)
    assert marker.exists()
    assert "quick mode" in (tmp_path / "lr_pred.csv.quick").read_text()
    mark_quick(f, quick=True)  # idempotent
    mark_quick(f, quick=False)
    assert not marker.exists()
    mark_quick(f, quick=False)  # no marker to remove: fine
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lr_pred.csv"]


def test_the_variable_is_read_in_plans_only():
    """No other module of the package looks FMNIST_QUICK up in the environment."""
    readers = []
    for path in sorted(PACKAGE.glob("*.py")):
        if path.name == "plans.py":
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
