"""`.qmd` <-> `.ipynb`, laid out as `quarto convert` does: the front matter is the first
(raw) cell, prose between chunks is one Markdown cell, each ```` ```{python} ```` chunk is a
code cell whose source keeps its `#|` option lines. `ipynb_to_qmd(qmd_to_ipynb(t)) == t`:
blank lines that differ from the usual one between blocks are recorded in the cell's
`qmdrender` metadata, so the round trip is byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .document import _EXEC_INFO, _FENCE
from .errors import RenderError

_KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
_OPEN = "```{python}"
_CLOSE = "```"


def _blocks(lines: list[str]) -> list[tuple[str, list[str], dict]]:
    """The .qmd as (kind, lines, extra) with kind raw (front matter), code or gap (prose)."""
    out, gap, i = [], [], 0
    if lines and lines[0].strip() == "---":
        end = next((k for k in range(1, len(lines)) if lines[k].strip() in ("---", "...")), None)
        if end is None:
            raise RenderError("line 1: front matter opened with '---' is never closed")
        out.append(("raw", lines[:end + 1], {}))
        i = end + 1
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if m and m.group("indent") == "":
            fence = m.group("fence")
            j = i + 1
            while j < len(lines) and not (lines[j].startswith(fence[0] * len(fence))
                                          and not lines[j].strip(fence[0]).strip()):
                j += 1
            if _EXEC_INFO.match(m.group("info")) and j < len(lines):
                out.append(("gap", gap, {}))
                extra = {}
                if lines[i] != _OPEN or lines[j] != _CLOSE:
                    extra = {"open": lines[i], "close": lines[j]}
                out.append(("code", lines[i + 1:j], extra))
                gap, i = [], j + 1
                continue
            gap.extend(lines[i:j + 1])
            i = j + 1
            continue
        gap.append(lines[i])
        i += 1
    out.append(("gap", gap, {}))
    return out


def _source(lines: list[str]) -> list[str]:
    text = "\n".join(lines)
    return text.splitlines(keepends=True) if text else []


def qmd_to_ipynb(text: str) -> str:
    """Notebook JSON (nbformat 4.5) for the text of a .qmd."""
    lines = text.split("\n")
    final_newline = text.endswith("\n")
    if final_newline:
        lines = lines[:-1]
    blocks = _blocks(lines)
    cells = []
    for k, (kind, body, extra) in enumerate(blocks):
        if kind == "raw":
            cells.append({"cell_type": "raw", "metadata": {}, "source": _source(body)})
        elif kind == "code":
            meta = {"qmdrender": extra} if extra else {}
            cells.append({"cell_type": "code", "execution_count": None, "metadata": meta,
                          "outputs": [], "source": _source(body)})
        else:
            before = k > 0  # a block above: one blank line is the usual separator
            after = k < len(blocks) - 1
            if body == [""] * (before and after) and before and after:
                continue  # exactly one blank line between two blocks: no cell
            lead = _count_blank(body)
            trail = _count_blank(body[::-1]) if lead < len(body) else 0
            meta = {}
            if lead != int(before):
                meta["blank_before"] = lead
            if trail != int(after):
                meta["blank_after"] = trail
            core = body[lead:len(body) - trail]
            if not core and not meta:
                continue
            cells.append({"cell_type": "markdown", "metadata": {"qmdrender": meta} if meta
                          else {}, "source": _source(core)})
    for n, cell in enumerate(cells):
        cell["id"] = f"cell-{n}"
    nb = {"cells": cells, "metadata": {"kernelspec": _KERNELSPEC,
                                       "language_info": {"name": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    nb["metadata"]["qmdrender"] = {"source_sha256": _sha(text)}  # what it was made from
    if not final_newline:
        nb["metadata"]["qmdrender"]["final_newline"] = False
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _made_from(nb_text: str) -> str | None:
    """The sha256 of the .qmd text the notebook was made from (or last synced with)."""
    try:
        return json.loads(nb_text).get("metadata", {}).get("qmdrender", {}).get("source_sha256")
    except (json.JSONDecodeError, AttributeError):
        return None


def check_overwrite(src: Path, src_text: str, dest: Path) -> None:
    """Stop (RenderError, one line) before converting `src` over `dest` would lose `dest`'s
    edits: `dest` is newer than `src`, or changed since the two were last in step (the
    notebook records the sha256 of the .qmd it was made from). Same content is no loss."""
    if not dest.exists():
        return
    dest_text = dest.read_text(encoding="utf-8")
    to_qmd = dest.suffix == ".qmd"
    nb_text = src_text if to_qmd else dest_text
    qmd_text = dest_text if to_qmd else src_text
    try:
        as_qmd = ipynb_to_qmd(nb_text)
    except RenderError:
        as_qmd = None
    if as_qmd == qmd_text:
        return
    back = f"python -m tools.qmdrender --to {'ipynb' if to_qmd else 'qmd'} {dest}"
    keep = f"run `{back}` to carry its edits over, or delete {dest} to convert anew"
    if dest.stat().st_mtime > src.stat().st_mtime:
        raise RenderError(f"{dest} is newer than {src} and differs from it: not overwritten; "
                          + keep)
    record = _made_from(nb_text)
    edited = record is not None and record != _sha(qmd_text if to_qmd else as_qmd or "")
    if edited:
        raise RenderError(f"{dest} holds edits {src} lacks (it changed since the two were in "
                          "step): not overwritten; " + keep)


def record_sync(nb: Path, qmd_text: str) -> None:
    """Note in notebook `nb` that it is now in step with `qmd_text` (keeping its mtime)."""
    stat = nb.stat()
    data = json.loads(nb.read_text(encoding="utf-8"))
    data.setdefault("metadata", {}).setdefault("qmdrender", {})["source_sha256"] = _sha(qmd_text)
    nb.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.utime(nb, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def _count_blank(lines: list[str]) -> int:
    n = 0
    while n < len(lines) and lines[n] == "":
        n += 1
    return n


def ipynb_to_qmd(text: str) -> str:
    """The .qmd text for notebook JSON (inverse of `qmd_to_ipynb`; outputs are dropped)."""
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as err:
        raise RenderError(f"line {err.lineno}: not a notebook (JSON): {err.msg}") from None
    lines: list[str] = []
    prev_block = False
    for cell in nb.get("cells", []):
        src = cell.get("source", "")
        body = ("".join(src) if isinstance(src, list) else src).split("\n")
        body = [] if body == [""] else body
        meta = cell.get("metadata", {}).get("qmdrender", {})
        if cell.get("cell_type") == "markdown":
            lines += [""] * meta.get("blank_before", int(prev_block)) + body
            lines += [""] * meta.get("blank_after", 1)  # next block's separator
            prev_block = False
            continue
        if prev_block:
            lines.append("")  # one blank line between two blocks
        if cell.get("cell_type") == "code":
            lines += [meta.get("open", _OPEN), *body, meta.get("close", _CLOSE)]
        else:  # raw: the front matter
            lines += body
        prev_block = True
    cells = nb.get("cells", [])
    if cells and cells[-1].get("cell_type") == "markdown":
        last = cells[-1].get("metadata", {}).get("qmdrender", {})
        lines = lines[:len(lines) - last.get("blank_after", 1)] + [""] * last.get(
            "blank_after", 0)
    final = nb.get("metadata", {}).get("qmdrender", {}).get("final_newline", True)
    return "\n".join(lines) + ("\n" if final else "")
