"""Rendering a small document with tools/qmdrender, and the text of the PDF, for the tests
that render (pdftotext, poppler-utils)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def render(qmd: Path, tmp: Path, pdf: Path | None = None) -> subprocess.CompletedProcess:
    """Render `qmd` (to `pdf`, else beside it) with intermediates in tmp/build; skip when
    pdftotext is missing, fail with the renderer's stderr when the render does."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    out = ["-o", str(pdf)] if pdf else []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # a document may import tools.claims
    proc = subprocess.run([sys.executable, "-m", "tools.qmdrender", str(qmd), *out,
                           "--build-dir", str(tmp / "build")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc


def pdftext(pdf: Path, *pages: str) -> str:
    """The PDF's text with runs of white space as one space; `pages`: e.g. "-f", "2"."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    out = subprocess.run(["pdftotext", *pages, str(pdf), "-"], capture_output=True, text=True,
                         check=True)
    return " ".join(out.stdout.split())
