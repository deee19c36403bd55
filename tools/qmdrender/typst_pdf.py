"""Pandoc's Typst output -> PDF with the PyPI `typst` compiler."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import typst

from .errors import RenderError


def font_awesome_dir() -> Path | None:
    """The folder of Font Awesome 6 Free's font files (which Quarto ships for its callout
    icons) when PyPI's `fontawesomefree` is installed; else None."""
    spec = importlib.util.find_spec("fontawesomefree")
    if spec is None or not spec.submodule_search_locations:
        return None
    fonts = (Path(spec.submodule_search_locations[0]) / "static" / "fontawesomefree"
             / "js-packages" / "@fortawesome" / "fontawesome-free" / "webfonts")
    return fonts if (fonts / "fa-solid-900.ttf").is_file() else None


def compile_pdf(typ_file: Path, pdf_file: Path, root: Path) -> list[str]:
    """Compile `typ_file` (paths inside it are relative to `root` when they start with '/');
    returns Typst's warnings as text; errors raise `RenderError` with Typst's diagnostic."""
    fonts = font_awesome_dir()
    try:
        _, warnings = typst.compile_with_warnings(
            str(typ_file), output=str(pdf_file), root=str(root),
            font_paths=[str(fonts)] if fonts else [],
            sys_inputs={"qmdrender-font-awesome": "true"} if fonts else {})
    except typst.TypstError as err:
        raise RenderError(f"typst could not compile {typ_file}:\n{err.diagnostic or err}"
                          ) from None
    return [w.message for w in warnings]
