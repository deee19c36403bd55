"""The whole pipeline: includes -> parse (YAML `#|` options, checked) -> execute chunks and
inline code -> Markdown -> blocks (shortcodes, divs), cross-references, citations -> Pandoc
(features.lua) -> Typst -> PDF."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

from . import blocks, citations, crossref, includes
from .config import (
    check_author_names,
    check_document_options,
    execute_defaults,
    figure_options,
    find_project_root,
    load_project,
    merged_metadata,
    template_metadata,
)
from .document import Chunk, Prose, parse
from .errors import RenderError
from .execute import (
    ChunkError,
    Kernel,
    KernelDied,
    Progress,
    figsize_code,
    setup_code,
)
from .fileio import atomic_write
from .inline import InlineError, inline_markdown
from .options import check_chunk_options
from .outputs import OutputConverter
from .pandoc import markdown_to_typst, math_to_typst, project_filters
from .typst_pdf import compile_pdf

TEMPLATE = Path(__file__).with_name("template.typ")
FEATURES_TYP = Path(__file__).with_name("features.typ")  # callouts, subfigures (features.lua)
_INLINE = re.compile(r"^`\{python\}[ \t\n](?P<expr>.+?)\s*`$", re.S)  # Quarto: [ \t]
_IMAGE_PATH = re.compile(r"(!\[[^\]]*\]\()([^)\s]+)")
_CELL_LINE = re.compile(r"Cell In\[\d+\], line (\d+)")


def _root_path(path: Path, root: Path) -> str:
    """A path as Typst sees it when compiled with `root`: '/relative/to/root'."""
    return "/" + os.path.relpath(path, root).replace(os.sep, "/")


def _fix_image_paths(text: str, qmd_dir: Path, root: Path) -> str:
    def sub(m):
        target = m.group(2)
        if re.match(r"^[a-z]+:", target) or target.startswith("/"):
            return m.group(0)
        return m.group(1) + _root_path((qmd_dir / target).resolve(), root)
    return _IMAGE_PATH.sub(sub, text)


def _chunk_failure(qmd: Path, chunk: Chunk, err: ChunkError,
                   source_map: includes.SourceMap) -> RenderError:
    m = _CELL_LINE.findall(err.traceback)
    line = chunk.code_line + int(m[0]) - 1 if m else chunk.line
    start = source_map.where(chunk.line)[1]  # render() relocates the leading file:line
    return RenderError(f"{qmd}:{line}: {chunk.describe()} (starting at line {start}) "
                       f"failed: {err.ename}: {err.evalue}\n{err.traceback}")


def _raw_typst(code: str) -> str:
    return f"```{{=typst}}\n{code}\n```" if code else ""


def render(qmd: str | Path, output: str | Path | None = None,
           build_dir: str | Path | None = None, stream=None) -> Path:
    """Render `qmd` to a PDF (default: beside it, same name); returns the PDF's path."""
    qmd = Path(qmd).resolve()
    if not qmd.is_file():
        raise RenderError(f"{qmd}: no such file")
    text, source_map = includes.expand(qmd)  # {{< include >}} first, as Quarto does
    try:
        return _render(qmd, parse(text, qmd), source_map, output, build_dir,
                       stream or sys.stderr)
    except RenderError as err:  # lines of the expanded text -> the file they came from
        raise RenderError(source_map.relocate(str(err), qmd)) from None


def _render(qmd: Path, doc, source_map: includes.SourceMap, output, build_dir,
            stream) -> Path:
    def warn(text: str) -> None:  # "warning: <qmd>:<expanded line>: ..." -> the real file:line
        body = text.removeprefix("warning: ")
        prefix = "warning: " if body != text else ""
        print(prefix + source_map.relocate(body, qmd), file=stream)

    root = find_project_root(qmd)
    project = load_project(root)
    check_document_options(project, str(root / "_quarto.yml"))
    check_document_options(doc.meta, f"{qmd}:1")
    for chunk in doc.chunks:
        check_chunk_options(chunk.options, qmd, chunk.line, warn)
    meta = merged_metadata(project, doc.meta)
    check_author_names(meta, [root / "_quarto.yml", qmd])
    try:
        filters = project_filters(meta, root, qmd.parent)
    except RenderError as err:
        raise RenderError(f"{root / '_quarto.yml'}: {err}") from None
    for part in doc.parts:
        if isinstance(part, Prose):
            for line in crossref.lone_display_math(part.text):
                warn(f"warning: {qmd}:{part.line + line - 1}: a `$$` with no closing `$$` in "
                     "its paragraph is printed as is; close the equation, or write \\$\\$")
    defaults, figs = execute_defaults(meta), figure_options(meta)
    build = Path(build_dir).resolve() if build_dir else root / "_build" / qmd.stem
    build.mkdir(parents=True, exist_ok=True)
    output = Path(output).resolve() if output else qmd.with_suffix(".pdf")
    typst_root = Path(os.path.commonpath([root, build, qmd.parent]))
    converter = OutputConverter(build / "figures", int(figs["fig-dpi"]),
                                _root_path(build / "figures", typst_root))
    chunks = doc.chunks
    progress = Progress(len(chunks), stream)
    print(f"rendering {qmd.name}: {len(chunks)} chunks, working directory {root}", file=stream)
    t0 = time.perf_counter()

    pieces: list[crossref.Piece] = []
    with Kernel(root, build, echo=stream) as kernel:
        kernel.run(setup_code(figs["fig-width"], figs["fig-height"], figs["fig-format"],
                              int(figs["fig-dpi"])))
        for part in doc.parts:
            if isinstance(part, Prose):
                text = _evaluate_inline(part, kernel, qmd) if defaults["eval"] else part.text
                pieces.append(crossref.Piece(_fix_image_paths(text, qmd.parent, typst_root),
                                             part.line))
                continue
            opts = {**defaults, **figs, **part.options}
            origin, line = source_map.where(part.line)
            progress.start(part.index + 1, part.label or (
                f"line {line}" if origin == qmd else f"{origin.name}:{line}"))
            kernel.client.echoed = False
            outputs = []
            if opts["eval"]:
                sized = "fig-width" in part.options or "fig-height" in part.options
                if sized:
                    kernel.run(figsize_code(opts["fig-width"], opts["fig-height"]))
                try:
                    outputs = (kernel.run_allowing_errors(part.code) if opts["error"]
                               else kernel.run(part.code))
                except ChunkError as err:
                    progress.done(" FAILED", kernel.client.echoed)
                    raise _chunk_failure(qmd, part, err, source_map) from None
                except KernelDied:
                    progress.done(" KERNEL DIED", kernel.client.echoed)
                    raise RenderError(f"{qmd}:{part.line}: the Python kernel died while running "
                                      f"{part.describe()} (a crash, os._exit, out of memory or "
                                      "a kill); run the chunk's code in plain Python to see why"
                                      ) from None
                if sized:
                    kernel.run(figsize_code(figs["fig-width"], figs["fig-height"]))
            progress.done("" if opts["eval"] else " (not run: eval false)", kernel.client.echoed)
            try:
                md = converter.chunk_markdown(part, opts, outputs)
            except RenderError as err:
                raise RenderError(f"{qmd}:{part.line}: {part.describe()}: {err}") from None
            if md:
                pieces.append(crossref.Piece(md, part.line))

    bib = citations.from_metadata(meta, qmd, root)
    try:
        pieces = blocks.transform(pieces)
        labels = crossref.number(pieces, bool(meta.get("number-sections")))
        pieces = crossref.rewrite_refs(pieces, labels)
        citations.check(pieces, bib)
    except RenderError as err:
        raise RenderError(f"{qmd}:{str(err).removeprefix('line ')}") from None
    body = [_raw_typst(FEATURES_TYP.read_text(encoding="utf-8")), *(p.text for p in pieces),
            _raw_typst(citations.typst_bibliography(bib, typst_root))]
    markdown = crossref.rewrite_equations("\n\n".join(body),
                                          lambda tex: math_to_typst(tex, filters))
    (build / f"{qmd.stem}.md").write_text(markdown, encoding="utf-8")
    (build / "crossrefs.json").write_text(json.dumps(labels, indent=1), encoding="utf-8")
    metadata_file = build / "metadata.json"
    # save-figures.lua finds the plots by their Typst paths, which start at `typst_root`
    metadata = {**template_metadata(meta), "qmdrender-typst-root": str(typst_root)}
    metadata_file.write_text(json.dumps(metadata, indent=1), encoding="utf-8")

    typ_file = build / f"{qmd.stem}.typ"
    typst_source = markdown_to_typst(markdown, TEMPLATE, metadata_file,
                                     citations.pandoc_args(bib), filters, output.parent)
    typ_file.write_text(typst_source, encoding="utf-8")
    pdf_tmp = build / f"{qmd.stem}.pdf"
    for warning in compile_pdf(typ_file, pdf_tmp, typst_root):
        print(f"typst warning: {warning}", file=stream)
    with atomic_write(output, "wb") as f:
        f.write(pdf_tmp.read_bytes())
    print(f"wrote {output} in {time.perf_counter() - t0:.1f} s "
          f"(intermediates in {build})", file=stream)
    return output


def _evaluate_inline(part: Prose, kernel: Kernel, qmd: Path) -> str:
    """Replace each `` `{python} expr` `` by its result (rules: inline.py), evaluated now."""
    pieces = []  # (text, expr or None, .qmd line)
    consumed = 0
    for is_code, text in crossref.split_code(part.text):
        m = _INLINE.match(text) if is_code else None
        line = part.line + part.text[:consumed].count("\n")
        consumed += len(text)
        if m and "\n" in text:
            raise RenderError(f"{qmd}:{line}: inline expression {text!r} spans two lines; "
                              "Quarto only finds inline code on one line: join the lines")
        pieces.append((text, m.group("expr").strip() if m else None, line))
    exprs = [expr for _, expr, _ in pieces if expr is not None]
    if not exprs:
        return part.text
    try:
        results = iter(kernel.evaluate(exprs))
    except KernelDied:
        raise RenderError(f"{qmd}:{part.line}: the Python kernel died while evaluating the "
                          "inline expressions of this paragraph") from None
    out = []
    for text, expr, line in pieces:
        if expr is None:
            out.append(text)
            continue
        result = next(results)
        if result.get("status") != "ok":
            raise RenderError(f"{qmd}:{line}: inline expression {expr!r} failed: "
                              f"{result.get('ename')}: {result.get('evalue')}")
        try:
            out.append(inline_markdown(result.get("data", {})))
        except InlineError as err:
            raise RenderError(f"{qmd}:{line}: inline expression {expr!r}: {err}") from None
    return "".join(out)
