"""Pandoc's Typst output -> PDF with the PyPI `typst` compiler."""

from __future__ import annotations

import re
from pathlib import Path

import typst

from .errors import RenderError

# Pandoc writes these names; current Typst renamed them (e.g. \odot, \cap, \otimes, \oplus).
SYMBOL_RENAMES = [
    (r"(?<![\w.])dot\.circle(?![\w])", "dot.o"),
    (r"(?<![\w.])times\.circle(?![\w])", "times.o"),
    (r"(?<![\w.])plus\.circle(?![\w])", "plus.o"),
    (r"(?<![\w.])minus\.circle(?![\w])", "minus.o"),
    (r"(?<![\w.])div\.circle(?![\w])", "div.o"),
    (r"(?<![\w.])sect(?![\w])", "inter"),
    (r"(?<![\w.])tack\.r\.double(?![\w])", "models"),
]
_MATH = re.compile(r"(?<!\\)\$(?:\\.|[^$\\])*\$", re.S)


def fix_math_symbols(typst_source: str) -> str:
    """Rename, inside `$...$` only, the symbols current Typst no longer knows."""
    def fix(m):
        text = m.group(0)
        for pattern, new in SYMBOL_RENAMES:
            text = re.sub(pattern, new, text)
        return text
    return _MATH.sub(fix, typst_source)


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
