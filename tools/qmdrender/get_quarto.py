"""`python -m tools.qmdrender.get_quarto`: print the `quarto` command to use for
`make report RENDERER=quarto`: the one on PATH, else .venv's, else PyPI's `quarto-cli`
installed into .venv now (it downloads Quarto's own release while it installs). Where that
cannot happen, one line says so (exit status 1) and nothing half-installed stays in .venv."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

PACKAGE = "quarto-cli"


class QuartoUnavailable(Exception):
    """No working `quarto`, and PyPI's quarto-cli could not provide one."""


def _works(command: str | None) -> bool:
    if not command:
        return False
    try:
        return subprocess.run([command, "--version"], capture_output=True,
                              timeout=120).returncode == 0
    except OSError:
        return False


def find_or_install(python: str = sys.executable) -> str:
    """A working `quarto` command: PATH's, else the one beside `python`, else quarto-cli
    installed with `python -m pip`; a failed install is undone."""
    on_path = shutil.which("quarto")
    if _works(on_path):
        return on_path
    beside = str(Path(python).parent / "quarto")
    if _works(beside):
        return beside
    pip = [python, "-m", "pip"]
    proc = subprocess.run([*pip, "install", "--quiet", PACKAGE], capture_output=True, text=True)
    if proc.returncode == 0 and _works(beside):
        return beside
    subprocess.run([*pip, "uninstall", "--yes", "--quiet", PACKAGE], capture_output=True)
    Path(beside).unlink(missing_ok=True)
    raise QuartoUnavailable(
        f"quarto is not on PATH and PyPI's {PACKAGE} could not be installed into "
        f"{Path(python).parent.parent} (it downloads Quarto's release while installing: no "
        "internet access?); install Quarto from https://quarto.org/docs/get-started/ "
        "or render with RENDERER=builtin")


def main(python: str = sys.executable) -> int:
    try:
        print(find_or_install(python))
    except QuartoUnavailable as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
