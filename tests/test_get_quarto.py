"""`make report RENDERER=quarto`: Quarto from PATH, else PyPI's quarto-cli in .venv; without
internet access one line and nothing half-installed (issue 19, point 2). A fake `python -m
pip` stands in for pip: installing quarto-cli downloads Quarto's release, which fails here."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tools.qmdrender.get_quarto import QuartoUnavailable, find_or_install

# `python -m pip install quarto-cli`: leaves a package and a `quarto` that does not run, then
# fails as the real build does when it cannot download; `uninstall` removes them.
FAKE_PYTHON = """#!/bin/sh
venv="$(dirname "$0")/.."
echo "$@" >> "$venv/pip.log"
case "$3" in
install)
  mkdir -p "$venv/lib/quarto_cli"
  printf '#!/bin/sh\\nexit %s\\n' "{quarto_exit}" > "$venv/bin/quarto"
  chmod +x "$venv/bin/quarto"
  [ {install_exit} = 0 ] || echo "Traceback ...\\nValueError: nothing to open" >&2
  exit {install_exit};;
uninstall)
  rm -rf "$venv/lib/quarto_cli"; exit 0;;
esac
exit 2
"""


def _executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _venv(tmp_path: Path, install_exit: int, quarto_exit: int) -> Path:
    return _executable(tmp_path / "venv" / "bin" / "python",
                       FAKE_PYTHON.format(install_exit=install_exit, quarto_exit=quarto_exit))


@pytest.fixture
def no_quarto_on_path(monkeypatch, tmp_path):
    empty = tmp_path / "path"
    empty.mkdir()
    monkeypatch.setenv("PATH", f"{empty}{os.pathsep}/usr/bin{os.pathsep}/bin")
    if shutil.which("quarto"):
        pytest.skip("quarto is installed system-wide")
    return empty


def test_failed_install_says_so_in_one_line_and_leaves_nothing(tmp_path, no_quarto_on_path):
    python = _venv(tmp_path, install_exit=1, quarto_exit=0)
    with pytest.raises(QuartoUnavailable) as err:
        find_or_install(str(python))
    message = str(err.value)
    assert "\n" not in message and "RENDERER=builtin" in message and "quarto-cli" in message
    venv = python.parent.parent
    assert not (venv / "bin" / "quarto").exists() and not (venv / "lib" / "quarto_cli").exists()
    assert "uninstall --yes --quiet quarto-cli" in (venv / "pip.log").read_text()


def test_an_install_whose_quarto_does_not_run_is_undone(tmp_path, no_quarto_on_path):
    python = _venv(tmp_path, install_exit=0, quarto_exit=1)
    with pytest.raises(QuartoUnavailable):
        find_or_install(str(python))
    assert not (python.parent / "quarto").exists()


def test_installs_quarto_cli_into_the_venv_when_it_works(tmp_path, no_quarto_on_path):
    python = _venv(tmp_path, install_exit=0, quarto_exit=0)
    assert find_or_install(str(python)) == str(python.parent / "quarto")
    assert find_or_install(str(python)) == str(python.parent / "quarto")  # no second install
    assert (python.parent.parent / "pip.log").read_text().count("install") == 1


def test_quarto_on_path_comes_first_and_pip_is_never_run(tmp_path, no_quarto_on_path):
    quarto = _executable(no_quarto_on_path / "quarto", "#!/bin/sh\nexit 0\n")
    python = _venv(tmp_path, install_exit=1, quarto_exit=1)
    assert find_or_install(str(python)) == str(quarto)
    assert not (python.parent.parent / "pip.log").exists()


def test_make_renderer_quarto_stops_with_that_line(tmp_path, no_quarto_on_path):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    python = _venv(tmp_path, install_exit=1, quarto_exit=0)
    # the fake python cannot run `-m tools.qmdrender.get_quarto`: call it with the real one
    # and hand it the fake venv through a wrapper
    wrapper = _executable(tmp_path / "py", f"#!/bin/sh\nexec {sys.executable} -c "
                          f"'import sys; sys.path.insert(0, \"{ROOT}\"); "
                          "from tools.qmdrender import get_quarto as g; "
                          f"sys.exit(g.main(\"{python}\"))'\n")
    proc = subprocess.run(["make", "--no-print-directory", "render", "RENDERER=quarto",
                           f"PY={wrapper}", "STAMP=", "QMD=doc.qmd"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    errors = [ln for ln in proc.stderr.splitlines() if not ln.startswith("make")]
    assert len(errors) == 1 and errors[0].startswith("error: quarto is not on PATH")
    assert not (python.parent / "quarto").exists()


@pytest.mark.parametrize(("renderer", "runs"), [("builtin", "tools.qmdrender \"doc.qmd\""),
                                                 ("quarto", "tools.qmdrender.get_quarto")])
def test_make_chooses_the_renderer_it_is_told(renderer, runs):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    out = subprocess.run(["make", "-n", "render", f"RENDERER={renderer}", "PY=python",
                          "QMD=doc.qmd"], cwd=ROOT, capture_output=True, text=True).stdout
    assert runs in out
