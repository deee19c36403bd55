"""Chunk options: Quarto's known cell options, the subset qmdrender honours, and the checks.

Names come from quarto-cli's schema (src/resources/schema/cell-*.yml). An option Quarto does
not know is a typo or a knitr-only option: a warning names it and its line. An option Quarto
knows and that changes Typst output, but qmdrender does not honour, stops the render: a PDF
that looks right here would look different under Quarto.
"""

from __future__ import annotations

from pathlib import Path

from .errors import RenderError

# What qmdrender implements (README.md, "Chunks").
SUPPORTED = {
    "label", "echo", "eval", "include", "output", "warning", "error",
    "fig-cap", "fig-width", "fig-height", "tbl-cap",
    "fig-subcap", "layout-ncol", "fig-alt",  # subfigures and alt text (outputs.py, features.lua)
}

# Quarto options with no effect on Typst output (HTML/revealjs/LaTeX-only, or metadata).
NO_EFFECT_ON_TYPST = {
    "code-fold", "code-summary", "code-overflow", "code-line-fragment-indices", "code-tools",
    "fig-env", "fig-pos", "fig-scap", "fig-link", "output-location", "panel",
    "classes", "tags", "id", "cache", "freeze", "renderings", "html-table-processing",
    "filename", "message", "lst-label", "lst-cap",
}

# The rest of Quarto's cell options (schema cell-*.yml): known, not implemented here.
KNOWN_UNSUPPORTED = {
    "fig-align", "fig-format", "fig-dpi", "fig-asp", "fig-column", "tbl-subcap",
    "tbl-colwidths", "tbl-column", "layout", "layout-nrow", "layout-align",
    "layout-valign", "column", "cap-location", "fig-cap-location", "tbl-cap-location",
    "code-line-numbers", "file", "child", "ojs-define", "title", "padding", "expandable",
    "comment", "results", "out-width", "out-height", "fig-keep", "fig-show", "collapse",
    "prompt", "tidy", "tidy-opts", "class-output", "attr-output", "class-source",
    "attr-source", "class-error", "class-warning", "class-message", "engine", "dependson",
    "cache-vars", "cache-globals", "cache-lazy", "cache-rebuild", "cache-comments", "autodep",
}


def check_chunk_options(options: dict, path: Path, line: int, warn) -> None:
    """Warn (via `warn(text)`) about unknown options; stop on known, unhonoured ones."""
    for name in options:
        where = f"{path}:{line}"
        if name in SUPPORTED or name in NO_EFFECT_ON_TYPST:
            continue
        if name in KNOWN_UNSUPPORTED:
            raise RenderError(f"{where}: chunk option '{name}' is not supported by qmdrender "
                              "(Quarto would honour it, so the PDFs would differ); remove it "
                              "or render with Quarto (tools/qmdrender/README.md lists the subset)")
        warn(f"warning: {where}: unknown chunk option '{name}' (not a Quarto cell option): "
             "ignored")
    output = options.get("output", True)
    if output not in (True, False, "asis"):
        raise RenderError(f"{path}:{line}: output: {output!r} is not supported "
                          "(use true, false or asis)")
