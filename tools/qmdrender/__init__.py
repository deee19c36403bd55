"""Render a Quarto (`.qmd`) document to PDF without the Quarto CLI: nbclient + Pandoc + Typst.

`render(qmd, output=None, build_dir=None) -> Path`; the supported subset is in README.md.
"""

from .errors import RenderError
from .render import render

__all__ = ["RenderError", "render"]
