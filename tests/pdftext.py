"""The text of a rendered PDF, for the tests that render documents (pdftotext, poppler-utils)."""

import shutil
import subprocess
from pathlib import Path

import pytest


def pdftext(pdf: Path, *pages: str) -> str:
    """The PDF's text with runs of white space as one space; `pages`: e.g. "-f", "2"."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    out = subprocess.run(["pdftotext", *pages, str(pdf), "-"], capture_output=True, text=True,
                         check=True)
    return " ".join(out.stdout.split())
