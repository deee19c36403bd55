"""Quarto cross-references: find the labelled targets, number them, check and rewrite `@refs`.

Targets: `# Title {#sec-x}`, figures (`{#fig-x}` on an image, or a figure div `::: {#fig-x}`
whose images with ids are subfigures "Figure 1a"), tables (`: caption {#tbl-x}`), display
equations `$$ ... $$ {#eq-x}`. References `@fig-x` (or `[@fig-x]`) become Typst references
`#ref(<fig-x>)` (`-@fig-x`: the number alone), so the numbers printed in the text are the
very counters Typst prints in the captions; `number()` computes the same numbering in Python
to check labels (unknown or duplicate ones stop the render with their `.qmd` line) and for
tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import RenderError

KINDS = {"fig": "Figure", "tbl": "Table", "eq": "Equation", "sec": "Section"}
_LABEL = r"(?:fig|tbl|eq|sec)-[A-Za-z0-9_-]*[A-Za-z0-9_]"
# `@fig-x`, `[@fig-x]`; with a leading `-` (`-@fig-x`, `[-@fig-x]`) the number alone.
REF = re.compile(rf"\[(-?)@({_LABEL})\]|(?<![\w@./])(-?)@({_LABEL})")
FIG_DIV = re.compile(r"^:{3,}\s*\{(?P<attr>[^}]*)\}\s*$")
DIV_OPEN = re.compile(r"^(?P<colons>:{3,})\s*(?:\{(?P<attr>[^}]*)\}|(?P<cls>[\w-]+))\s*:*\s*$")
DIV_CLOSE = re.compile(r"^:{3,}\s*$")
HEADING = re.compile(r"^(?P<level>#{1,6})\s+(?P<title>.*?)\s*(?:\{(?P<attr>[^}]*)\})?\s*$")
IMAGE = re.compile(r"^!\[(?P<cap>.*)\]\([^)]*\)(?:\{(?P<attr>[^}]*)\})?\s*$")
TABLE_CAPTION = re.compile(r"^(?::|Table:)\s+.*?(?:\{(?P<attr>[^}]*)\})?\s*$")
DISPLAY_MATH = re.compile(r"\$\$(?P<tex>(?:(?!\$\$).)+?)\$\$"
                          r"(?:[ \t]*\{#(?P<label>eq-[A-Za-z0-9_-]*[A-Za-z0-9_])\})?", re.S)
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


@dataclass
class Piece:
    """A run of Markdown and the `.qmd` line it came from (for error messages)."""

    text: str
    line: int


def split_code(text: str) -> list[tuple[bool, str]]:
    """Split Markdown into (is_code, text) runs: fenced blocks and inline code spans are code.

    Joining the runs' texts gives `text` back exactly.
    """
    runs: list[tuple[bool, str]] = []
    buf: list[str] = []
    fence = None
    for line in text.splitlines(keepends=True):
        m = _FENCE.match(line)
        if fence is None and m:
            runs.append((False, "".join(buf)))
            buf, fence = [line], m.group(1)
        elif fence is not None:
            buf.append(line)
            stripped = line.strip()
            if stripped.startswith(fence) and stripped.strip(fence[0]) == "":
                runs.append((True, "".join(buf)))
                buf, fence = [], None
        else:
            buf.append(line)
    runs.append((fence is not None, "".join(buf)))
    out: list[tuple[bool, str]] = []
    for is_code, chunk in runs:
        if is_code:
            out.append((True, chunk))
            continue
        pos = 0
        for m in re.finditer(r"(`+)(?!`).+?(?<!`)\1(?!`)(\{=\w+\})?", chunk, re.S):
            out.append((False, chunk[pos:m.start()]))
            out.append((True, m.group(0)))
            pos = m.end()
        out.append((False, chunk[pos:]))
    return [(is_code, chunk) for is_code, chunk in out if chunk]


def _attr_id(attr: str | None) -> str | None:
    m = re.search(r"#([\w-]+)", attr or "")
    return m.group(1) if m else None


def number(pieces: list[Piece], number_sections: bool) -> dict[str, str]:
    """label -> printed reference, e.g. {'fig-a': 'Figure 1', 'sec-b': 'Section 2.1',
    'eq-c': 'Equation 1'}, numbered in document order as the Typst template numbers them.

    As in Quarto's Typst output, a reference prints Typst's own text: the equation shows
    "(1)" at its right, but Typst drops a numbering's parentheses in references."""
    labels: dict[str, str] = {}
    counts = {"fig": 0, "tbl": 0, "eq": 0}
    sections = [0] * 6

    def add(label, printed, line):
        if label in labels:
            raise RenderError(f"line {line}: label {label!r} is defined twice")
        labels[label] = printed

    divs: list[list | None] = []  # open divs; a figure div is [its number, its images]
    for piece in pieces:
        consumed_lines = 0
        for is_code, text in split_code(piece.text):
            if is_code:
                consumed_lines += text.count("\n")
                continue
            for m in DISPLAY_MATH.finditer(text):
                if not m.group("label"):
                    continue
                counts["eq"] += 1
                add(m.group("label"), f"Equation {counts['eq']}",
                    piece.line + text[:m.start()].count("\n"))
            base = piece.line + consumed_lines
            for offset, line in enumerate(text.split("\n")):
                where = base + offset
                if DIV_OPEN.match(line):
                    fig_div = FIG_DIV.match(line)
                    ident = _attr_id(fig_div.group("attr")) if fig_div else None
                    if ident and ident.startswith("fig-"):
                        counts["fig"] += 1
                        add(ident, f"Figure {counts['fig']}", where)
                        divs.append([counts["fig"], 0])
                    else:
                        divs.append(None)
                    continue
                if DIV_CLOSE.match(line) and divs:
                    divs.pop()
                    continue
                figure_div = next((d for d in reversed(divs) if d is not None), None)
                h = HEADING.match(line)
                if h and not line.startswith("#|"):
                    attr = h.group("attr") or ""
                    if re.search(r"(^|\s)\.callout-title(\s|$)", attr):
                        continue  # a callout's title (blocks.py), not a section
                    ident = _attr_id(attr)
                    numbered = number_sections and not re.search(r"(^|\s)(\.unnumbered|-)(\s|$)",
                                                                  attr)
                    level = len(h.group("level"))
                    if numbered:
                        sections[level - 1] += 1
                        sections[level:] = [0] * (6 - level)
                    if ident and ident.startswith("sec-"):
                        if not numbered:
                            raise RenderError(
                                f"line {where}: @{ident} targets an unnumbered section; set "
                                "'number-sections: true' (and no .unnumbered) to refer to it")
                        add(ident, "Section " + ".".join(map(str, sections[:level])), where)
                    continue
                img = IMAGE.match(line.strip())
                if img and figure_div is not None:  # a subfigure: "Figure 1a"
                    figure_div[1] += 1
                    ident = _attr_id(img.group("attr"))
                    if ident and ident.startswith("fig-"):
                        add(ident, f"Figure {figure_div[0]}{chr(ord('a') + figure_div[1] - 1)}",
                            where)
                    continue
                if img and img.group("cap").strip():
                    counts["fig"] += 1
                    ident = _attr_id(img.group("attr"))
                    if ident and ident.startswith("fig-"):
                        add(ident, f"Figure {counts['fig']}", where)
                    continue
                cap = TABLE_CAPTION.match(line.strip())
                if cap and offset > 0 and _after_table(text.split("\n"), offset):
                    counts["tbl"] += 1
                    ident = _attr_id(cap.group("attr"))
                    if ident and ident.startswith("tbl-"):
                        add(ident, f"Table {counts['tbl']}", where)
            consumed_lines += text.count("\n")
    return labels


def _after_table(lines: list[str], i: int) -> bool:
    """Is line i a table caption, i.e. preceded (across blank lines) by a table row?"""
    j = i - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    return j >= 0 and (lines[j].lstrip().startswith("|") or lines[j].lstrip().startswith("+"))


def rewrite_refs(pieces: list[Piece], labels: dict[str, str]) -> list[Piece]:
    """Replace `@label` / `[@label]` in prose by Typst references; unknown labels are errors."""
    out = []
    for piece in pieces:
        parts = []
        line = piece.line
        for is_code, text in split_code(piece.text):
            parts.append(text if is_code else _rewrite_run(text, line, labels))
            line += text.count("\n")
        out.append(Piece("".join(parts), piece.line))
    return out


def _rewrite_run(text: str, line: int, labels: dict[str, str]) -> str:
    def sub(m):
        label = m.group(2) or m.group(4)
        bare = (m.group(1) or m.group(3)) == "-"
        if label not in labels:
            where = line + text[:m.start()].count("\n")
            raise RenderError(f"line {where}: reference @{label} has no target "
                              f"(known: {', '.join(sorted(labels)) or 'none'})")
        return (f"`#ref(<{label}>, supplement: none)`{{=typst}}" if bare
                else f"`#ref(<{label}>)`{{=typst}}")
    return REF.sub(sub, text)


def _typst_equation(m, to_typst) -> str:
    if not m.group("label"):
        return m.group(0)
    math = to_typst(m.group("tex").strip())
    return (f'\n\n```{{=typst}}\n#math.equation(block: true, numbering: "(1)", $ {math} $) '
            f"<{m.group('label')}>\n```\n\n")


def rewrite_equations(text: str, to_typst) -> str:
    """`$$ tex $$ {#eq-x}` -> a raw Typst numbered equation labelled <eq-x>.

    `to_typst(tex) -> str` converts the LaTeX (Pandoc). Unlabelled equations are left to
    Pandoc and stay unnumbered.
    """
    return "".join(run if is_code else DISPLAY_MATH.sub(lambda m: _typst_equation(m, to_typst),
                                                        run)
                   for is_code, run in split_code(text))


_DOLLARS = re.compile(r"\\\$|\$\$|\n[ \t]*\n")


def lone_display_math(text: str) -> list[int]:
    """The 1-based lines of `$$` with no partner in the same paragraph: Pandoc prints such a
    `$$` as is (Quarto too, without a warning)."""
    lone: list[int] = []
    open_at = None  # offset of an unclosed $$
    offset = 0
    for is_code, run in split_code(text):
        if is_code and _FENCE.match(run) and open_at is not None:  # a code block ends it
            lone.append(open_at)
            open_at = None
        if not is_code:
            for m in _DOLLARS.finditer(run):
                if m.group(0) == "$$":
                    open_at = offset + m.start() if open_at is None else None
                elif m.group(0).startswith("\n") and open_at is not None:
                    lone.append(open_at)
                    open_at = None
        offset += len(run)
    if open_at is not None:
        lone.append(open_at)
    return [text.count("\n", 0, at) + 1 for at in lone]
