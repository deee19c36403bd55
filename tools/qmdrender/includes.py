"""`{{< include other.qmd >}}`: splice files in before anything else, as Quarto does.

Quarto expands includes in the source text before the engine runs, so the included file's
chunks run as part of the document. The path is relative to the including file. Expansion
keeps a line map so that errors can name the file and line the text really came from.
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import RenderError

INCLUDE = re.compile(r"^\s*\{\{<\s*include\s+(?P<path>\"[^\"]+\"|'[^']+'|\S+)\s*>\}\}\s*$")
_ANY_INCLUDE = re.compile(r"(?<!\{)\{\{<\s*include\b")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


class SourceMap:
    """Which file and line each line of the expanded text came from."""

    def __init__(self) -> None:
        self.origins: list[tuple[Path, int]] = []

    def where(self, line: int) -> tuple[Path, int]:
        """(file, line) for 1-based `line` of the expanded text."""
        if 1 <= line <= len(self.origins):
            return self.origins[line - 1]
        return self.origins[-1] if self.origins else (Path("?"), line)

    def relocate(self, message: str, expanded: Path) -> str:
        """Rewrite a leading '<expanded>:<line>:' in `message` to the line's real origin."""
        prefix = re.match(rf"^{re.escape(str(expanded))}:(\d+):", message)
        if not prefix:
            return message
        path, line = self.where(int(prefix.group(1)))
        return f"{path}:{line}:" + message[prefix.end():]


def expand(path: Path) -> tuple[str, SourceMap]:
    """The text of `path` with every include expanded (recursively); plus its line map."""
    smap = SourceMap()
    lines = _expand(path.resolve(), smap, [])
    return "\n".join(lines) + "\n", smap


def _expand(path: Path, smap: SourceMap, stack: list[Path]) -> list[str]:
    text = path.read_text(encoding="utf-8")
    out: list[str] = []
    fence = None
    lines = text.splitlines()
    # an included file's own front matter is not the document's: drop it
    first = _front_matter_end(lines) if stack else 0
    for n, line in enumerate(lines[first:], start=first + 1):
        m = _FENCE.match(line)
        if fence is None and m:
            fence = m.group(1)
        elif fence is not None and line.strip().startswith(fence) and not \
                line.strip().strip(fence[0]):
            fence = None
        inc = INCLUDE.match(line) if fence is None else None
        if inc:
            target = (path.parent / inc.group("path").strip("\"'")).resolve()
            if not target.is_file():
                raise RenderError(f"{path}:{n}: include: no such file {target} (the path is "
                                  "relative to the including file)")
            if target in stack or target == path:
                raise RenderError(f"{path}:{n}: include: {target.name} includes itself")
            out.extend(_expand(target, smap, [*stack, path]))
            continue
        if fence is None and _ANY_INCLUDE.search(line):
            raise RenderError(f"{path}:{n}: put {{{{< include FILE >}}}} on a line of its own")
        out.append(line)
        smap.origins.append((path, n))
    return out


def _front_matter_end(lines: list[str]) -> int:
    """Index of the first line after a leading `---` ... `---` block (0 if none)."""
    if lines and lines[0].strip() == "---":
        for end in range(1, len(lines)):
            if lines[end].strip() in ("---", "..."):
                return end + 1
    return 0
