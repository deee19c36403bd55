"""Document options: `_quarto.yml` merged with the front matter, as Quarto merges them."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

from .errors import RenderError
from .yamlio import YamlError, loads

EXECUTE_DEFAULTS = {"echo": True, "eval": True, "include": True, "output": True,
                    "warning": True, "error": False}
FIGURE_DEFAULTS = {"fig-width": 5.5, "fig-height": 3.5, "fig-format": "svg", "fig-dpi": 150}


def find_project_root(qmd: Path) -> Path:
    """The nearest folder at or above the `.qmd` holding `_quarto.yml`, else the `.qmd`'s."""
    for folder in [qmd.parent, *qmd.parent.parents]:
        if (folder / "_quarto.yml").is_file():
            return folder
    return qmd.parent


def load_project(root: Path) -> dict:
    path = root / "_quarto.yml"
    if not path.is_file():
        return {}
    try:
        data = loads(path.read_text(encoding="utf-8"))
    except YamlError as err:
        raise RenderError(f"{path}:{err.line}: {err.reason}") from None
    return data if isinstance(data, dict) else {}


def _deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _flatten_format(meta: dict) -> dict:
    """Lift `format: typst: {...}` options to the top level (they win over top-level ones)."""
    fmt = meta.get("format")
    out = {k: v for k, v in meta.items() if k != "format"}
    if isinstance(fmt, dict) and isinstance(fmt.get("typst"), dict):
        out = _deep_merge(out, fmt["typst"])
    return out


def merged_metadata(project: dict, front_matter: dict) -> dict:
    """Project options, then the document's; `format: typst:` on top at each level."""
    project = {k: v for k, v in project.items() if k != "project"}
    return _deep_merge(_flatten_format(project), _flatten_format(front_matter))


def check_document_options(meta: dict, where: str) -> None:
    """Stop on document options qmdrender cannot honour (another engine or output format)."""
    engine = meta.get("engine", "jupyter")
    if engine != "jupyter":
        raise RenderError(f"{where}: engine: {engine} is not supported (qmdrender runs the "
                          "jupyter engine with a Python kernel only)")
    fmt = meta.get("format", "typst")
    names = list(fmt) if isinstance(fmt, dict) else [fmt]
    if "typst" not in names:
        raise RenderError(f"{where}: format: {fmt} is not supported; qmdrender writes Typst PDF "
                          "only (add 'format: typst', or render with Quarto)")


def execute_defaults(meta: dict) -> dict:
    ex = meta.get("execute") or {}
    if not isinstance(ex, dict):
        raise RenderError("'execute:' must be a mapping of options")
    return {**EXECUTE_DEFAULTS, **{k: v for k, v in ex.items() if k in EXECUTE_DEFAULTS}}


def figure_options(meta: dict) -> dict:
    out = {k: meta.get(k, v) for k, v in FIGURE_DEFAULTS.items()}
    if out["fig-format"] not in ("svg", "png"):
        raise RenderError(f"fig-format must be svg or png, got {out['fig-format']!r}")
    return out


def normalize_authors(value) -> list[dict]:
    """`author:` as a string, a list of strings, or a list of {name, id, ...} -> [{name, id}]."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    authors = []
    for item in items:
        if isinstance(item, dict):
            name = item.get("name")
            if isinstance(name, dict):
                name = name.get("literal") or " ".join(
                    str(name[k]) for k in ("given", "family") if name.get(k))
            entry = {"name": str(name or "")}
            if item.get("id") not in (None, ""):
                entry["id"] = str(item["id"])
            authors.append(entry)
        else:
            authors.append({"name": str(item)})
    return authors


_DATE_STYLES = {"full": "dddd, MMMM D, YYYY", "long": "MMMM D, YYYY",
                "medium": "MMM D, YYYY", "short": "M/D/YY", "iso": "YYYY-MM-DD"}
_DATE_TOKENS = re.compile(r"\[[^\]]*\]|YYYY|YY|MMMM|MMM|MM|M|DD|D|dddd|ddd")


def format_date(value, date_format: str = "long", today: datetime.date | None = None) -> str:
    """`date:` as Quarto shows it: keywords and ISO/US dates formatted by `date-format`
    (a style of https://quarto.org/docs/reference/dates or a dayjs pattern); other text as is.
    """
    text = str(value)
    if text in ("today", "now", "last-modified"):
        d = today or datetime.date.today()
    else:
        d = None
        for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%m-%d-%Y", "%m/%d/%y"):
            try:
                d = datetime.datetime.strptime(text.strip(), fmt).date()
                break
            except ValueError:
                continue
        if d is None:
            return text
    pattern = _DATE_STYLES.get(date_format, date_format)
    values = {"YYYY": f"{d.year:04d}", "YY": f"{d.year % 100:02d}", "MMMM": f"{d:%B}",
              "MMM": f"{d:%b}", "MM": f"{d.month:02d}", "M": str(d.month),
              "DD": f"{d.day:02d}", "D": str(d.day), "dddd": f"{d:%A}", "ddd": f"{d:%a}"}
    return _DATE_TOKENS.sub(lambda m: values.get(m.group(0), m.group(0)[1:-1]), pattern)


_AT_NAME = re.compile(r"(?<![\w\\])@[\w-]")


def check_author_names(meta: dict, files: list[Path]) -> None:
    """Stop, naming the file and line, on an author name with `@label`: Pandoc reads it as a
    citation or cross-reference and Typst fails inside the build folder."""
    for author in normalize_authors(meta.get("author", meta.get("authors"))):
        if not _AT_NAME.search(author["name"]):
            continue
        where = str(files[0])
        for path in files:
            lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
            hit = next((i for i, ln in enumerate(lines, 1) if author["name"] in ln), None)
            if hit:
                where = f"{path}:{hit}"
                break
        raise RenderError(f"{where}: the author name {author['name']!r} holds '@', which "
                          "Pandoc reads as a reference; write '\\@' for a literal @")


def template_metadata(meta: dict) -> dict:
    """The variables typst-show.typ reads, named and shaped as Quarto passes them."""
    out = {k: meta[k] for k in ("title", "subtitle", "abstract", "lang")
           if meta.get(k) not in (None, "")}
    out["papersize"] = str(meta.get("papersize") or "a4")
    if meta.get("date"):
        out["date"] = format_date(meta["date"], str(meta.get("date-format", "long")))
    if meta.get("fontsize"):
        out["fontsize"] = str(meta["fontsize"])
    authors = normalize_authors(meta.get("author", meta.get("authors")))
    out["by-author"] = [{"name": {"literal": a["name"]}, **({"id": a["id"]} if "id" in a else {})}
                        for a in authors]
    if meta.get("number-sections"):  # Quarto: number-sections implies section-numbering 1.1.a
        out["section-numbering"] = str(meta.get("section-numbering") or "1.1.a")
    return out
