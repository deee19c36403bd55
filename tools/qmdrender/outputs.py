"""Turn a chunk's source and Jupyter outputs into Pandoc Markdown (Quarto's preferences)."""

from __future__ import annotations

import base64
import re
from pathlib import Path

from .document import Chunk
from .errors import RenderError
from .pandoc import html_table_to_markdown

# Reprs that are side effects of plotting calls, not results anyone wants to read.
_HIDDEN_REPR = re.compile(
    r"^\s*(\[?\s*(<[\w.]+( object)? at 0x[0-9a-fA-F]+>\s*,?\s*)+\]?"
    r"|<Figure size [\d.]+x[\d.]+ with \d+ Axes>"
    r"|<[\w.]+ object>"
    r"|<matplotlib\.[^>]*>)\s*$",
    re.DOTALL,
)
_PLOT_REPR = re.compile(r"^\s*(Text|Text\w*|\(np\.float64|\()\(?.*\)\s*$", re.DOTALL)

TEXT_WIDTH_IN = 6.3  # the template's text width (A4 with 2.5 cm margins), inches


def fence(text: str, cls: str = "") -> str:
    """A fenced code block long enough not to be closed by backticks inside `text`."""
    longest = max((len(m) for m in re.findall(r"`{3,}", text)), default=2)
    ticks = "`" * (longest + 1)
    return f"{ticks}{cls}\n{text.rstrip()}\n{ticks}"


def _svg_width_in(svg: str) -> float | None:
    m = re.search(r'<svg[^>]*\swidth="([\d.]+)(pt|px|in)?"', svg)
    if not m:
        return None
    value, unit = float(m.group(1)), m.group(2) or "px"
    return value / {"pt": 72.0, "px": 96.0, "in": 1.0}[unit]


def _png_width_in(data: bytes, dpi: float) -> float | None:
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return int.from_bytes(data[16:20], "big") / dpi


def _attr_value(text: str) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def image_markdown(path: str, width_in: float | None, caption: str = "", label: str | None = None,
                   alt: str | None = None) -> str:
    attrs = []
    if label:
        attrs.append(f"#{label}")
    if width_in:
        attrs.append(f"width={min(width_in, TEXT_WIDTH_IN):.2f}in")
    if alt:
        attrs.append(f"fig-alt={_attr_value(alt)}")
    attr = "{" + " ".join(attrs) + "}" if attrs else ""
    if caption and not label:
        return f"![]({path}){attr}\n\n::: {{.unnumbered-caption}}\n{caption}\n:::"
    return f"![{caption}]({path}){attr}"


class OutputConverter:
    """Writes images into `figures_dir` and returns Markdown for one chunk."""

    def __init__(self, figures_dir: Path, fig_dpi: int, link_prefix: str):
        self.figures_dir = figures_dir
        self.link_prefix = link_prefix.rstrip("/")
        self.fig_dpi = fig_dpi
        figures_dir.mkdir(parents=True, exist_ok=True)

    def chunk_markdown(self, chunk: Chunk, opts: dict, outputs: list[dict]) -> str:
        """Markdown for the chunk: echoed code (if `echo`), then its outputs (if `output`)."""
        if not opts["include"]:
            return ""
        blocks = []
        if opts["echo"] and chunk.code.strip():
            blocks.append(fence(chunk.code, "python"))
        if opts["output"] is not False:
            blocks.extend(self._outputs(chunk, opts, outputs))
        return "\n\n".join(b for b in blocks if b.strip())

    def _outputs(self, chunk: Chunk, opts: dict, outputs: list[dict]) -> list[str]:
        asis = opts["output"] == "asis"
        label = chunk.label or ""
        has_figure = any("image/svg+xml" in o.get("data", {}) or "image/png" in o.get("data", {})
                         for o in outputs)
        blocks: list[str] = []
        n_images = 0
        subfigures = _subfigure_layout(chunk, opts)
        image_blocks: list[int] = []
        table_blocks: list[int] = []
        stream_buffer: dict[str, str] = {}

        def flush_streams():
            for name, text in stream_buffer.items():
                if name == "stdout":
                    blocks.append(text if asis else fence(text))
                elif opts["warning"]:
                    blocks.append(fence(text, "{.stderr}"))
            stream_buffer.clear()

        for out in outputs:
            kind = out.get("output_type")
            if kind == "stream":
                name = out.get("name", "stdout")
                if stream_buffer and name not in stream_buffer:
                    flush_streams()
                stream_buffer[name] = stream_buffer.get(name, "") + out.get("text", "")
                continue
            flush_streams()
            if kind == "error":
                tb = "\n".join(out.get("traceback", [])) or f"{out['ename']}: {out['evalue']}"
                blocks.append(fence(tb, "{.error}"))
                continue
            data = out.get("data", {})
            if "text/markdown" in data:
                md = data["text/markdown"]
                blocks.append(md)
                if _looks_like_table(md):
                    table_blocks.append(len(blocks) - 1)
            elif "image/svg+xml" in data or "image/png" in data:
                n_images += 1
                name = f"{label or f'cell-{chunk.index + 1}'}-output-{n_images}"  # Quarto's names
                if "image/svg+xml" in data:
                    svg = data["image/svg+xml"]
                    path = self.figures_dir / f"{name}.svg"
                    path.write_text(svg, encoding="utf-8")
                    width = _svg_width_in(svg)
                else:
                    png = base64.b64decode(data["image/png"])
                    path = self.figures_dir / f"{name}.png"
                    path.write_bytes(png)
                    width = _png_width_in(png, self.fig_dpi)
                first = n_images == 1
                cap = opts.get("fig-cap") if first else None
                fig_label = label if first and label.startswith("fig-") and cap else None
                link = f"{self.link_prefix}/{path.name}"
                alt = _nth(opts.get("fig-alt"), n_images - 1)
                if subfigures:  # caption and label go on the figure div around them all
                    cap = _nth(opts.get("fig-subcap"), n_images - 1)
                    fig_label = f"{label}-{n_images}"
                    image_blocks.append(len(blocks))
                blocks.append(image_markdown(link, width, str(cap or ""), fig_label, alt))
            elif "text/html" in data and "<table" in data["text/html"]:
                blocks.append(html_table_to_markdown(data["text/html"]))
                table_blocks.append(len(blocks) - 1)
            elif "text/plain" in data:
                text = data["text/plain"]
                if _HIDDEN_REPR.match(text) or (has_figure and _PLOT_REPR.match(text)):
                    continue
                blocks.append(text if asis else fence(text))
        flush_streams()
        if asis:
            table_blocks += [i for i, b in enumerate(blocks) if _looks_like_table(b)
                             and i not in table_blocks]
        if image_blocks:
            blocks = _figure_div(blocks, image_blocks, label, subfigures, opts["fig-cap"])
        cap = opts.get("tbl-cap")
        if cap and table_blocks:
            i = max(table_blocks)
            ident = f" {{#{label}}}" if label.startswith("tbl-") else ""
            blocks[i] = blocks[i].rstrip() + f"\n\n: {cap}{ident}"
        return blocks


def _looks_like_table(md: str) -> bool:
    lines = [ln for ln in md.strip().splitlines() if ln.strip()]
    return (len(lines) >= 2 and lines[-1].lstrip().startswith("|")
            and any(re.fullmatch(r"\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*", ln)
                    for ln in lines))


def _nth(value, i: int):
    """The i-th item of a chunk option given as a list (fig-subcap, fig-alt), else the value
    itself for the first figure only."""
    if isinstance(value, list):
        return value[i] if i < len(value) else None
    return value if i == 0 else None


def _subfigure_layout(chunk: Chunk, opts: dict) -> int | None:
    """Columns of a subfigure chunk (`layout-ncol` with `fig-subcap`), else None."""
    if not any(k in opts for k in ("layout-ncol", "layout-nrow", "layout", "fig-subcap")):
        return None
    if "layout" in opts or "layout-nrow" in opts:
        raise RenderError("'layout'/'layout-nrow' are not supported by the built-in renderer "
                          "(use layout-ncol)")
    if not (chunk.label or "").startswith("fig-") or not opts.get("fig-cap"):
        raise RenderError("subfigures (layout-ncol, fig-subcap) need 'label: fig-NAME' and "
                          "'fig-cap' on the chunk")
    ncol = opts.get("layout-ncol", 1)
    if not isinstance(ncol, int) or ncol < 1:
        raise RenderError(f"layout-ncol must be a whole number, got {ncol!r}")
    return ncol


def _figure_div(blocks: list[str], image_blocks: list[int], label: str, ncol: int,
                caption: str) -> list[str]:
    """The subfigure images as one figure div (see blocks.py/features.lua), in place of the
    first image; captions "(a) ...", "(b) ..." come from fig-subcap."""
    div = "\n\n".join([f"::: {{#{label} layout-ncol={ncol}}}",
                        *(blocks[i] for i in image_blocks), str(caption), ":::"])
    first = image_blocks[0]
    return [div if i == first else b for i, b in enumerate(blocks) if i not in image_blocks[1:]]
