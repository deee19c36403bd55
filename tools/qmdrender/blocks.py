"""Shortcodes and fenced divs: check them against the supported subset, line by line.

Runs over all Markdown pieces (prose and chunk outputs) in document order, before the
cross-references. It rewrites, keeping every line where it was (so later errors keep their
`.qmd` lines):

- `{{< pagebreak >}}` (on its own line) -> a raw Typst `#pagebreak()`;
  `{{{< x >}}}` -> the literal text `{{< x >}}` (Quarto's escape); any other shortcode stops;
- the first `## Title` line of a callout gets the class `.callout-title`: it is the callout's
  title, which (as in Quarto) is not a heading: neither numbered nor in the outline.

Divs it lets through: the five callouts, figure divs `::: {#fig-NAME}` (with at least one
image), and plain divs without Quarto-specific classes; anything else stops the render.
The Lua filter `features.lua` turns the callouts and figure divs into Typst.
"""

from __future__ import annotations

import re

from .crossref import DIV_CLOSE, DIV_OPEN, HEADING, Piece, split_code
from .errors import RenderError

CALLOUT_TYPES = ("note", "tip", "warning", "important", "caution")
SHORTCODE = re.compile(r"(\{?)\{\{<\s*([^\s>]+)([^>]*?)\s*>\}\}(\}?)")
IMAGE_LINE = re.compile(r"^\s*!\[")
# Quarto classes/attributes with a meaning the built-in renderer does not reproduce.
_UNSUPPORTED_CLASS = re.compile(r"^(callout.*|column-.*|panel-.*|content-(visible|hidden)"
                                r"|landscape|hidden|aside|page-columns|cell.*)$")
_UNSUPPORTED_ATTR = re.compile(r"(^|\s)(layout|layout-ncol|layout-nrow|layout-align"
                               r"|layout-valign)=")
_UNSUPPORTED_ID = re.compile(r"^(tbl|lst|thm|lem|cor|prp|cnj|def|exm|exr|sol|rem|sec|eq)-")
SUPPORTED = ("callouts (.callout-note, -tip, -warning, -important, -caution), figure divs "
             "::: {#fig-NAME} holding images and a caption paragraph, plain divs")


def _classes(attr: str) -> list[str]:
    return re.findall(r"(?:^|\s)\.([\w-]+)", attr)


def _ident(attr: str) -> str:
    m = re.search(r"(?:^|\s)#([\w-]+)", attr)
    return m.group(1) if m else ""


class _Div:
    def __init__(self, kind: str, line: int):
        self.kind, self.line = kind, line
        self.images = 0
        self.first_line = True  # no non-blank line seen inside yet


def transform(pieces: list[Piece]) -> list[Piece]:
    """Check and rewrite shortcodes and divs in `pieces`; errors name `line N`."""
    stack: list[_Div] = []
    out = []
    for piece in pieces:
        parts = []
        line = piece.line
        for is_code, text in split_code(piece.text):
            if is_code:
                parts.append(text)
                if stack and text.strip():
                    stack[-1].first_line = False
            else:
                parts.append(_transform_run(text, line, stack))
            line += text.count("\n")
        out.append(Piece("".join(parts), piece.line))
    if stack:
        raise RenderError(f"line {stack[-1].line}: this div (':::') is never closed")
    return out


def _transform_run(text: str, first: int, stack: list[_Div]) -> str:
    lines = text.split("\n")
    for i, line in enumerate(lines):
        where = first + i
        opened = DIV_OPEN.match(line)
        if opened:
            attr = opened.group("attr") if opened.group("attr") is not None \
                else "." + opened.group("cls")
            if stack:
                stack[-1].first_line = False
            stack.append(_Div(_div_kind(attr, where), where))
            stack[-1].first_line = not re.search(r"(^|\s)title=", attr)  # else no title line
            continue
        if DIV_CLOSE.match(line) and stack:
            div = stack.pop()
            if div.kind == "figure" and div.images == 0:
                raise RenderError(f"line {div.line}: figure div has no image (write "
                                  "![](path) or a chunk that draws a figure inside it)")
            continue
        if stack and line.strip():
            div = stack[-1]
            if div.kind == "callout" and div.first_line:
                h = HEADING.match(line)
                if h:
                    lines[i] = _mark_title(line)
            div.first_line = False
            if IMAGE_LINE.match(line):
                for d in stack:
                    d.images += 1
        lines[i] = _shortcodes(lines[i], where)
    return "\n".join(lines)


def _mark_title(line: str) -> str:
    """`## Title {attrs}` -> `## Title {attrs .callout-title}`: the callout's title, which
    crossref.py does not number and features.lua takes out of the headings."""
    h = HEADING.match(line)
    attr = (h.group("attr") or "").strip()
    return f"{line[:h.start('title')]}{h.group('title')} {{{attr} .callout-title}}".replace(
        "{ .", "{.")


def _div_kind(attr: str, where: int) -> str:
    classes, ident = _classes(attr), _ident(attr)
    callouts = [c for c in classes if c.startswith("callout")]
    if callouts:
        kind = callouts[0].removeprefix("callout-")
        if kind not in CALLOUT_TYPES:
            raise RenderError(f"line {where}: unknown callout type .{callouts[0]} (Quarto's "
                              f"are {', '.join('.callout-' + t for t in CALLOUT_TYPES)})")
        return "callout"
    if ident.startswith("fig-"):
        return "figure"
    bad = [c for c in classes if _UNSUPPORTED_CLASS.match(c)]
    if bad or _UNSUPPORTED_ATTR.search(attr) or _UNSUPPORTED_ID.match(ident):
        what = f".{bad[0]}" if bad else (f"#{ident}" if _UNSUPPORTED_ID.match(ident) else
                                         _UNSUPPORTED_ATTR.search(attr).group(2))
        raise RenderError(f"line {where}: div {{{attr}}}: {what} is not supported by the "
                          f"built-in renderer (supported: {SUPPORTED})")
    return "plain"


def _shortcodes(line: str, where: int) -> str:
    def sub(m):
        if m.group(1) and m.group(4):  # {{{< x >}}}: Quarto's escape for a literal shortcode
            return m.group(0)[1:-1]
        name = m.group(2)
        if name == "pagebreak":
            if line.strip() != m.group(0):
                raise RenderError(f"line {where}: put {{{{< pagebreak >}}}} on a line of its own")
            return "`#pagebreak()`{=typst}"
        raise RenderError(f"line {where}: shortcode {{{{< {name} >}}}} is not supported by the "
                          "built-in renderer (supported: pagebreak, include)")
    return SHORTCODE.sub(sub, line)
