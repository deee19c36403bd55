"""Citations `[@key]` / `@key` with `bibliography:`, as Quarto's Typst format does them.

By default (`citeproc: false`, Quarto's default for Typst) Pandoc writes `#cite(<key>)` and
Typst formats the citations (numeric "[1]"; `@key` in prose: the authors and the number) and
adds its own "Bibliography" list at the end. With `citeproc: true` or a `csl:` file, Pandoc's
citeproc formats them instead. Keys are checked here first, so an unknown key stops the
render with its `.qmd` line (cross-references `@fig-x`... are rewritten before this runs).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .crossref import Piece, split_code
from .errors import RenderError

# Pandoc's citation key: starts with a word character; inner punctuation allowed.
CITE = re.compile(r"(?<![\w@.\\/])-?@"
                  r"(?:\{(?P<braced>[^}]+)\}|(?P<key>\w(?:[\w:.#$%&+?<>~/-]*\w)?))")
_BIB_ENTRY = re.compile(r"@\s*(?!comment|string|preamble)\w+\s*[{(]\s*([^,\s]+)\s*,", re.I)


@dataclass
class Bibliography:
    files: list[Path] = field(default_factory=list)
    citeproc: bool = False
    csl: Path | None = None
    style: str | None = None  # Typst's bibliography style (`bibliographystyle:`)

    def keys(self) -> set[str]:
        keys: set[str] = set()
        for path in self.files:
            keys.update(_BIB_ENTRY.findall(path.read_text(encoding="utf-8")))
        return keys


def _resolve(value, where: str, dirs: list[Path]) -> Path:
    for folder in dirs:
        path = (folder / str(value)).resolve()
        if path.is_file():
            return path
    raise RenderError(f"{where}: {value}: no such file (looked in "
                      f"{', '.join(str(d) for d in dirs)})")


def from_metadata(meta: dict, qmd: Path, root: Path) -> Bibliography:
    """`bibliography:` (a file or a list), `citeproc:`, `csl:`, `bibliographystyle:`."""
    dirs = [qmd.parent, root]
    value = meta.get("bibliography") or []
    files = [_resolve(v, str(qmd), dirs) for v in (value if isinstance(value, list) else [value])]
    csl = _resolve(meta["csl"], str(qmd), dirs) if meta.get("csl") else None
    return Bibliography(files, bool(meta.get("citeproc")) or csl is not None, csl,
                        meta.get("bibliographystyle"))


def check(pieces: list[Piece], bib: Bibliography) -> bool:
    """Raise for a citation whose key is in no bibliography (`line N: ...`); any citations?"""
    keys = bib.keys()
    found = False
    for piece in pieces:
        line = piece.line
        for is_code, text in split_code(piece.text):
            if not is_code:
                for m in CITE.finditer(text):
                    key = m.group("braced") or m.group("key")
                    found = True
                    if key not in keys:
                        where = line + text[:m.start()].count("\n")
                        known = ", ".join(sorted(keys)) or "none"
                        hint = ("" if bib.files else
                                " (no 'bibliography:' given; write an e-mail-like '@' as '\\@')")
                        raise RenderError(f"line {where}: citation @{key} is not in the "
                                          f"bibliography (known keys: {known}){hint}")
            line += text.count("\n")
    return found


def pandoc_args(bib: Bibliography) -> list[str]:
    """Extra Pandoc arguments: citeproc's, when it formats the citations."""
    if not bib.citeproc:
        return []
    args = ["--citeproc", *(f"--bibliography={f}" for f in bib.files)]
    return args + ([f"--csl={bib.csl}"] if bib.csl else [])


def typst_bibliography(bib: Bibliography, root: Path) -> str:
    """Raw Typst for the end of the body: Typst's own bibliography (heading "Bibliography")."""
    if bib.citeproc or not bib.files:
        return ""
    paths = ", ".join(f'"/{os.path.relpath(f, root).replace(os.sep, "/")}"' for f in bib.files)
    style = f'#set bibliography(style: "{bib.style}")\n' if bib.style else ""
    return f"{style}#bibliography(({paths},))"
