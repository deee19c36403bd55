"""Calls to the Pandoc binary shipped by `pypandoc-binary`."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pypandoc

from .errors import RenderError


def pandoc_path() -> str:
    return str(pypandoc.get_pandoc_path())


def run_pandoc(args: list[str], text: str, cwd: Path | None = None) -> str:
    """Run pandoc with `text` on stdin; return stdout; a failure raises `RenderError`."""
    proc = subprocess.run([pandoc_path(), *args], input=text, capture_output=True,
                          text=True, encoding="utf-8", cwd=cwd)
    if proc.returncode != 0:
        raise RenderError(f"pandoc {' '.join(args)} failed:\n{proc.stderr.strip()}")
    return proc.stdout


def _merge_index_header(html: str) -> str:
    """Fold pandas' second header row (holding only the index name) into the first."""
    m = re.search(r"<thead>\s*<tr[^>]*>(.*?)</tr>\s*<tr[^>]*>(.*?)</tr>\s*</thead>", html, re.S)
    if not m:
        return html
    second = re.findall(r"<th[^>]*>(.*?)</th>", m.group(2), re.S)
    if not second or any(cell.strip() for cell in second[1:]):
        return html
    first = re.sub(r"<th[^>]*>\s*</th>", f"<th>{second[0]}</th>", m.group(1), count=1)
    return html[:m.start()] + f"<thead><tr>{first}</tr></thead>" + html[m.end():]


def html_table_to_markdown(html: str) -> str:
    """An HTML table (e.g. a pandas DataFrame's display) as a Pandoc pipe table."""
    html = re.sub(r"<style.*?</style>", "", html, flags=re.S)
    html = _merge_index_header(html)
    md = run_pandoc(["-f", "html", "-t",
                       "markdown-simple_tables-multiline_tables-grid_tables-raw_html"
                       "-native_divs-native_spans", "--wrap=none"], html)
    return "\n".join(ln for ln in md.splitlines() if not ln.startswith(":::")).strip()


MARKDOWN_IN = "markdown+tex_math_dollars+raw_attribute"
LUA_FILTER = Path(__file__).with_name("features.lua")  # callouts, figure divs, fig-alt


def project_filters(meta: dict, root: Path, qmd_dir: Path) -> tuple[list[Path], list[Path]]:
    """The Lua filters under `filters:`, as Quarto orders them around its own: those listed
    before `quarto` (all of them when it is absent) run before features.lua, the rest after."""
    listed = meta.get("filters") or []
    if not isinstance(listed, list):
        raise RenderError("filters: must be a list of Lua filter files")
    before, after = [], []
    for entry in listed:
        if entry == "quarto":
            before, after = before + after, []  # what follows runs after Quarto's filters
            continue
        name = str(entry.get("path") if isinstance(entry, dict) else entry)
        path = next((base / name for base in (root, qmd_dir) if (base / name).is_file()), None)
        if path is None or not name.endswith(".lua"):
            raise RenderError(f"filters: {name!r} is not a Lua filter file (paths are relative "
                              f"to {root}); qmdrender runs Lua filters only")
        after.append(path)
    return (before, after) if "quarto" in listed else (after, [])


def _filter_args(filters: tuple[list[Path], list[Path]]) -> list[str]:
    pre, post = filters
    return [f"--lua-filter={f}" for f in (*pre, LUA_FILTER, *post)]


def markdown_to_typst(markdown: str, template: Path, metadata_file: Path,
                      extra_args: list[str] = (),
                      filters: tuple[list[Path], list[Path]] = ([], []),
                      cwd: Path | None = None) -> str:
    """The document as Typst; Pandoc (and so each filter) runs in `cwd`."""
    return run_pandoc(["-f", MARKDOWN_IN, "-t", "typst", "--standalone",
                       f"--template={template}", f"--metadata-file={metadata_file}",
                       *_filter_args(filters), "--wrap=preserve", *extra_args], markdown, cwd)


def math_to_typst(tex: str, filters: tuple[list[Path], list[Path]] = ([], [])) -> str:
    """One LaTeX display equation as Typst math, without the surrounding `$ ... $`."""
    out = run_pandoc(["-f", MARKDOWN_IN, "-t", "typst", "--wrap=none",
                      *_filter_args(filters)], f"$$\n{tex}\n$$\n").strip()
    if not (out.startswith("$") and out.endswith("$")):
        raise RenderError(f"pandoc did not read this as one equation:\n{tex}")
    return out[1:-1].strip()
