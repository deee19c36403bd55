"""Pandoc's Typst output -> PDF with the PyPI `typst` compiler."""

from __future__ import annotations

from pathlib import Path

import typst

from .errors import RenderError


def compile_pdf(typ_file: Path, pdf_file: Path, root: Path) -> list[str]:
    """Compile `typ_file` (paths inside it are relative to `root` when they start with '/');
    returns Typst's warnings as text; errors raise `RenderError` with Typst's diagnostic."""
    try:
        _, warnings = typst.compile_with_warnings(str(typ_file), output=str(pdf_file),
                                                  root=str(root))
    except typst.TypstError as err:
        raise RenderError(f"typst could not compile {typ_file}:\n{err.diagnostic or err}"
                          ) from None
    return [w.message for w in warnings]
