"""Split a `.qmd` into front matter, prose and executable ```` ```{python} ```` chunks.

Only top-level fences whose info string is `{python ...}` are executable; any other fenced
block (```` ```python ````, ```` ````markdown ````, `~~~`) is prose and kept verbatim.
Line numbers are 1-based lines of the `.qmd`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import RenderError
from .yamlio import YamlError, loads

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>.*)$")
_EXEC_INFO = re.compile(r"^\{\s*python(?P<rest>[\s,][^}]*)?\}\s*$")
_OTHER_ENGINE = re.compile(r"^\{\s*(?P<lang>[A-Za-z][\w-]*)(?:[\s,][^}]*)?\}\s*$")
_OPTION = re.compile(r"^#\s*\|\s?(?P<text>.*)$")  # as Quarto's notebook.py


@dataclass
class Chunk:
    """One executable chunk: `code` without its `#|` lines, `options` parsed from them."""

    index: int
    line: int
    code: str
    options: dict = field(default_factory=dict)
    code_line: int = 0  # .qmd line of the first line of `code`

    @property
    def label(self) -> str | None:
        return self.options.get("label")

    def describe(self) -> str:
        return f"chunk {self.index + 1} ({self.label or 'unlabelled'})"


@dataclass
class Prose:
    """Markdown text between chunks; `line` is the `.qmd` line of its first line."""

    line: int
    text: str


@dataclass
class Document:
    path: Path
    meta: dict
    parts: list  # Prose | Chunk, in document order

    @property
    def chunks(self) -> list[Chunk]:
        return [p for p in self.parts if isinstance(p, Chunk)]


def parse_options(lines: list[str], first_line: int, path: Path) -> tuple[dict, int]:
    """Read the leading `#| key: value` lines of a chunk; returns (options, lines consumed)."""
    option_text = []
    for text in lines:
        m = _OPTION.match(text)
        if not m:
            break
        option_text.append(m.group("text"))
    try:
        options = loads("\n".join(option_text), first_line) if option_text else {}
    except YamlError as err:
        raise RenderError(f"{path}:{err.line}: bad chunk option: {err.reason}") from None
    if not isinstance(options, dict):
        raise RenderError(f"{path}:{first_line}: chunk options must be '#| key: value' lines")
    return options, len(option_text)


def parse(text: str, path: str | Path = "<string>") -> Document:
    """Parse the text of a `.qmd` file into a `Document`."""
    path = Path(path)
    lines = text.splitlines()
    meta, start = {}, 0
    if lines and lines[0].strip() == "---":
        for end in range(1, len(lines)):
            if lines[end].strip() in ("---", "..."):
                try:
                    meta = loads("\n".join(lines[1:end]), 2)
                except YamlError as err:
                    raise RenderError(f"{path}:{err.line}: bad front matter: {err.reason}"
                                      ) from None
                if not isinstance(meta, dict):
                    raise RenderError(f"{path}:2: front matter must be 'key: value' lines")
                start = end + 1
                break
        else:
            raise RenderError(f"{path}:1: front matter opened with '---' is never closed")

    parts: list = []
    prose: list[str] = []
    prose_line = start + 1
    i = start
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            prose.append(lines[i])
            i += 1
            continue
        fence = m.group("fence")
        closing = re.compile(rf"^ {{0,3}}{fence[0]}{{{len(fence)},}}\s*$")
        j = i + 1
        while j < len(lines) and not closing.match(lines[j]):
            j += 1
        if j == len(lines):
            raise RenderError(f"{path}:{i + 1}: code fence {fence} is never closed")
        if _EXEC_INFO.match(m.group("info")) and m.group("indent") == "":
            if prose:
                parts.append(Prose(prose_line, "\n".join(prose)))
            body = lines[i + 1:j]
            options, n_opts = parse_options(body, i + 2, path)
            inline_opts = _EXEC_INFO.match(m.group("info")).group("rest")
            if inline_opts and inline_opts.strip(" ,"):
                raise RenderError(f"{path}:{i + 1}: put chunk options in '#|' lines, "
                                  f"not in the fence ({m.group('info')})")
            rest = body[n_opts:]
            lead = next((k for k, text in enumerate(rest) if text.strip()), len(rest))
            code = "\n".join(rest).strip("\n")
            parts.append(Chunk(len([p for p in parts if isinstance(p, Chunk)]), i + 1, code,
                               options, code_line=i + 2 + n_opts + lead))
            prose, prose_line = [], j + 2
        elif m.group("indent") == "" and _OTHER_ENGINE.match(m.group("info")):
            lang = _OTHER_ENGINE.match(m.group("info")).group("lang")
            raise RenderError(f"{path}:{i + 1}: ```{{{lang}}} chunks are not supported "
                              "(qmdrender runs Python only; Quarto would execute this one); "
                              f"use ```{{python}}, or ```{lang} to show code without running it")
        else:
            prose.extend(lines[i:j + 1])
        i = j + 1
    if prose:
        parts.append(Prose(prose_line, "\n".join(prose)))
    return Document(path, meta, parts)


def read(path: str | Path) -> Document:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RenderError(f"{path}: no such file") from None
    return parse(text, path)
