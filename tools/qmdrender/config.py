"""Document options: `_quarto.yml` merged with the front matter, as Quarto merges them."""

from __future__ import annotations

import datetime
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


def template_metadata(meta: dict) -> dict:
    """The variables the Typst template reads."""
    out = {k: meta[k] for k in ("title", "subtitle", "abstract", "papersize", "lang")
           if meta.get(k) not in (None, "")}
    date = meta.get("date")
    if date in ("today", "now", "last-modified"):
        d = datetime.date.today()
        date = f"{d.day} {d:%B %Y}"
    if date:
        out["date"] = str(date)
    if meta.get("fontsize"):
        out["fontsize"] = str(meta["fontsize"])
    out["authors"] = normalize_authors(meta.get("author", meta.get("authors")))
    if meta.get("number-sections"):
        out["number-sections"] = True
    return out
