"""tools/qmdrender: the Quarto features beyond the basics, rendered as Quarto's Typst format
renders them (callouts, subfigures, figure divs, citations, shortcodes, footnotes, fig-alt)."""

from __future__ import annotations

import re
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from tests.pdftext import render
from tools.qmdrender import blocks, citations, crossref, includes
from tools.qmdrender.document import Chunk
from tools.qmdrender.errors import RenderError
from tools.qmdrender.outputs import OutputConverter

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "features" / "features.qmd"


def _pieces(text: str) -> list[crossref.Piece]:
    return [crossref.Piece(text, 1)]


# ---------------------------------------------------------------- shortcodes and divs

def test_pagebreak_becomes_raw_typst_and_escaped_shortcodes_stay_literal():
    out = blocks.transform(_pieces("a\n\n{{< pagebreak >}}\n\nShow {{{< pagebreak >}}}.\n"))
    assert out[0].text == "a\n\n`#pagebreak()`{=typst}\n\nShow {{< pagebreak >}}.\n"


@pytest.mark.parametrize(("text", "message"), [
    ("x\n\n{{< video a.mp4 >}}\n", r"line 3: shortcode \{\{< video >\}\} is not supported"),
    ("::: {.callout-danger}\nx\n:::\n", r"line 1: unknown callout type \.callout-danger"),
    ("a\n\n::: {layout-ncol=2}\nx\n:::\n", r"line 3: div \{layout-ncol=2\}: layout-ncol is not"),
    ("::: {.column-margin}\nx\n:::\n", r"line 1: .*\.column-margin is not supported"),
    ("::: {#tbl-x}\nx\n:::\n", r"line 1: .*#tbl-x is not supported"),
    ("::: {#fig-x}\nno image here\n:::\n", r"line 1: figure div has no image"),
    ("a\n\n::: {.callout-note}\nx\n", r"line 3: this div \(':::'\) is never closed"),
])
def test_unsupported_shortcodes_and_divs_stop_with_their_line(text, message):
    with pytest.raises(RenderError, match=message):
        blocks.transform(_pieces(text))


def test_callout_title_heading_is_marked_and_not_numbered_as_a_section():
    text = ("# One {#sec-one}\n\n::: {.callout-note}\n## A title\n\nBody\n:::\n\n"
            "## Sub {#sec-sub}\n\n# Two {#sec-two}\n")
    pieces = blocks.transform(_pieces(text))
    assert "## A title {.callout-title}" in pieces[0].text
    labels = crossref.number(pieces, number_sections=True)
    assert labels == {"sec-one": "Section 1", "sec-sub": "Section 1.1", "sec-two": "Section 2"}


def test_callout_with_title_attribute_keeps_its_first_heading_a_heading():
    pieces = blocks.transform(_pieces('::: {.callout-tip title="T"}\n# Real {#sec-r}\n:::\n'))
    assert "callout-title" not in pieces[0].text
    assert crossref.number(pieces, True) == {"sec-r": "Section 1"}


# ---------------------------------------------------------------- cross-references

FIGS = """![One](a.png){#fig-one}

::: {#fig-div}
![](b.png)

Caption of the div.
:::

::: {#fig-sub layout-ncol=2}
![Left](c.png){#fig-sub-1}

![Right](d.png){#fig-sub-2}

Both.
:::

![After](e.png){#fig-after}

See @fig-div, -@fig-div and [-@fig-sub-2].
"""


def test_figure_divs_and_subfigures_are_numbered_as_quarto_numbers_them():
    labels = crossref.number(_pieces(FIGS), number_sections=False)
    assert labels == {"fig-one": "Figure 1", "fig-div": "Figure 2", "fig-sub": "Figure 3",
                      "fig-sub-1": "Figure 3a", "fig-sub-2": "Figure 3b",
                      "fig-after": "Figure 4"}


def test_minus_reference_gives_the_bare_number():
    pieces = _pieces(FIGS)
    text = crossref.rewrite_refs(pieces, crossref.number(pieces, False))[0].text
    assert "See `#ref(<fig-div>)`{=typst}, `#ref(<fig-div>, supplement: none)`{=typst} and " \
           "`#ref(<fig-sub-2>, supplement: none)`{=typst}." in text


# ---------------------------------------------------------------- citations

BIB = ROOT / "references.bib"


def test_references_bib_holds_both_papers():
    bib = citations.Bibliography([BIB])
    assert bib.keys() == {"xiao2017fashion", "srivastava2014dropout"}
    text = BIB.read_text()
    assert "1708.07747" in text and "Vollgraf" in text
    assert "Journal of Machine Learning Research" in text and "1929--1958" in text


def test_citations_are_checked_and_told_apart_from_refs_and_emails():
    bib = citations.Bibliography([BIB])
    ok = "[@xiao2017fashion]; @srivastava2014dropout says; mail a@b.org; `@code`; \\@x\n"
    assert citations.check(_pieces(ok), bib)
    assert not citations.check(_pieces("no citations, `#ref(<fig-a>)`{=typst}\n"), bib)
    with pytest.raises(RenderError, match=r"line 3: citation @nobody2020 is not in the bib"):
        citations.check(_pieces("a\n\nas [@nobody2020] said\n"), bib)
    with pytest.raises(RenderError, match="no 'bibliography:' given"):
        citations.check(_pieces("@xiao2017fashion\n"), citations.Bibliography())


def test_bibliography_goes_to_typst_unless_citeproc_or_csl(tmp_path):
    (tmp_path / "a.qmd").write_text("")
    (tmp_path / "refs.bib").write_text("@misc{k, title={T}}\n")
    (tmp_path / "style.csl").write_text("<style/>")
    qmd = tmp_path / "a.qmd"
    bib = citations.from_metadata({"bibliography": "refs.bib"}, qmd, tmp_path)
    assert citations.typst_bibliography(bib, tmp_path) == '#bibliography(("/refs.bib",))'
    assert citations.pandoc_args(bib) == []
    for meta in ({"citeproc": True}, {"csl": "style.csl"}):
        bib = citations.from_metadata({"bibliography": "refs.bib", **meta}, qmd, tmp_path)
        assert citations.typst_bibliography(bib, tmp_path) == ""
        assert "--citeproc" in citations.pandoc_args(bib)
    with pytest.raises(RenderError, match="missing.bib: no such file"):
        citations.from_metadata({"bibliography": "missing.bib"}, qmd, tmp_path)


# ---------------------------------------------------------------- include

def test_include_splices_the_file_and_maps_lines_back(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "main.qmd").write_text("---\ntitle: M\n---\nA\n{{< include sub/part.qmd >}}\nZ\n")
    (tmp_path / "sub" / "part.qmd").write_text("---\ntitle: ignored\n---\nP1\nP2\n")
    text, smap = includes.expand(tmp_path / "main.qmd")
    assert text == "---\ntitle: M\n---\nA\nP1\nP2\nZ\n"
    assert smap.where(6) == ((tmp_path / "sub" / "part.qmd").resolve(), 5)
    assert smap.where(7) == ((tmp_path / "main.qmd").resolve(), 6)
    main = (tmp_path / "main.qmd").resolve()
    assert smap.relocate(f"{main}:6: boom", main) == f"{tmp_path / 'sub' / 'part.qmd'}:5: boom"


def test_missing_include_stops_with_its_line(tmp_path):
    (tmp_path / "main.qmd").write_text("A\n\n{{< include nope.qmd >}}\n")
    with pytest.raises(RenderError, match=r"main\.qmd:3: include: no such file .*nope\.qmd"):
        includes.expand(tmp_path / "main.qmd")


# ---------------------------------------------------------------- chunk subfigures

def _png_output():
    png = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA"
           "60e6kgAAAABJRU5ErkJggg==")
    return {"output_type": "display_data", "data": {"image/png": png}}


def test_chunk_with_layout_ncol_becomes_a_figure_div_of_subfigures(tmp_path):
    conv = OutputConverter(tmp_path, 150, "/figs")
    opts = {"echo": False, "eval": True, "include": True, "output": True, "warning": True,
            "error": False, "label": "fig-p", "fig-cap": "Both.", "layout-ncol": 2,
            "fig-subcap": ["Left", "Right"], "fig-alt": ["A1", 'say "A2"']}
    md = conv.chunk_markdown(Chunk(0, 1, "plot()", opts), opts, [_png_output(), _png_output()])
    assert md.startswith("::: {#fig-p layout-ncol=2}\n\n"
                         "![Left](/figs/fig-p-output-1.png){#fig-p-1 ")
    assert '![Right](/figs/fig-p-output-2.png){#fig-p-2 width=0.01in fig-alt="say \\"A2\\""}' in md
    assert md.endswith("\n\nBoth.\n\n:::")
    with pytest.raises(RenderError, match="need 'label: fig-NAME' and 'fig-cap'"):
        bad = {**opts, "label": None}
        conv.chunk_markdown(Chunk(0, 1, "plot()", bad), bad, [_png_output()])


# ---------------------------------------------------------------- the rendered fixture (slow)

def _page_texts(pdf: Path) -> list[str]:
    out = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                         check=True).stdout
    return [" ".join(page.split()) for page in out.split("\f") if page.strip()]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("features")
    pdf = tmp / "features.pdf"
    render(FIXTURE, tmp, pdf)
    return pdf, _page_texts(pdf), tmp / "build"


@pytest.mark.slow
def test_citations_are_numeric_and_the_bibliography_comes_last(rendered):
    _, pages, _ = rendered
    text = " ".join(pages)
    assert "The data set is Fashion-MNIST [1];" in text
    assert "N. Srivastava, G. Hinton, A. Krizhevsky, I. Sutskever, and R. Salakhutdinov [2] " \
           "proposed dropout." in text
    last = pages[-1]
    assert text.count("Bibliography") == 1 and "References" not in text
    assert last.index("Bibliography") > last.index("INCLUDEDTEXT")
    tail = last[last.index("Bibliography"):]
    assert "[1] H. Xiao, K. Rasul, and R. Vollgraf" in tail and "[2] N. Srivastava" in tail


@pytest.mark.slow
def test_callouts_show_titles_without_numbers_and_leave_sections_alone(rendered):
    _, pages, build = rendered
    first = pages[0]
    for title in ("Callout title NOTETITLE", "TIPTITLE from an attribute", "Warning",
                  "Important", "CAUTIONTITLE"):
        assert title in first
    assert not re.search(r"\d(\.\d)* (Callout title|CAUTIONTITLE)", first)
    assert "1 First section" in first and "2 Second section" in first
    assert "3 Third section" in " ".join(pages) and "3.1 Included part" in " ".join(pages)
    typ = (build / "features.typ").read_text()
    assert "= Callout title" not in typ  # not a heading: not in the PDF's outline either


@pytest.mark.slow
def test_subfigures_figure_divs_and_their_references(rendered):
    _, pages, _ = rendered
    text = " ".join(pages)
    assert ("The panels are Figure 1; the left one is Figure 1a and the right one Figure 1b. "
            "The square is Figure 2, number 2 alone; then Figure 3 and Figure 4.") in text
    assert "(a) Left panel LEFTCAP" in text and "(b) Right panel RIGHTCAP" in text
    assert "Figure 1: Two panels side by side." in text
    assert "Figure 2: A blue rectangle in a figure div." in text
    assert "Figure 3: A chunk’s plot in a figure div." in text
    assert "Figure 4: The figure after the divs." in text
    assert "As Equation 1 says." in text and "(1)" in text


@pytest.mark.slow
def test_footnotes_pagebreak_and_include(rendered):
    _, pages, _ = rendered
    first = pages[0]
    assert "inline style1" in first and "INLINENOTE at the foot of the page." in first
    assert "REFNOTE at the foot of the page too." in first
    after = next(i for i, p in enumerate(pages) if "AFTERBREAK" in p)
    assert pages[after].startswith("3 Third section")  # the page starts at the break
    # (images float, so a page of figures may stand between that text and the break)
    assert any("As Equation 1 says." in p for p in pages[:after])
    assert "INCLUDEDTEXT comes from included.qmd, and its chunk ran: 42." in pages[after]
    assert "see Section 3.1" in pages[after]


@pytest.mark.slow
def test_fig_alt_reaches_the_pdf(rendered):
    pdf, _, build = rendered
    typ = (build / "features.typ").read_text()
    for alt in ("ALTLEFT a rising line", "ALTRIGHT a falling line", "ALTSQUARE a blue rectangle",
                "ALTCHUNK a flat line"):
        assert f'alt: "{alt}"' in typ
    data = pdf.read_bytes()
    streams = [data] + [_inflate(m.group(1)) for m in
                        re.finditer(rb"stream\r?\n(.*?)endstream", data, re.S)]
    for alt in (b"ALTLEFT", b"ALTRIGHT", b"ALTSQUARE", b"ALTCHUNK"):
        assert any(alt in s for s in streams), alt


def _inflate(raw: bytes) -> bytes:
    try:
        return zlib.decompress(raw)
    except zlib.error:
        return raw


@pytest.mark.slow
def test_error_in_an_included_file_names_that_file_and_line(tmp_path):
    (tmp_path / "main.qmd").write_text("---\ntitle: M\n---\n\n{{< include part.qmd >}}\n")
    (tmp_path / "part.qmd").write_text("Text.\n\n{{< lipsum 2 >}}\n")
    proc = subprocess.run([sys.executable, "-m", "tools.qmdrender", str(tmp_path / "main.qmd")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert f"{tmp_path / 'part.qmd'}:3: shortcode {{{{< lipsum >}}}} is not supported" \
        in proc.stderr


@pytest.mark.slow
def test_multiline_yaml_fig_subcap_reaches_the_subfigures(rendered):
    """The fixture gives fig-subcap as a YAML list over several `#|` lines (render-compat's
    YAML option parsing) and the chunk still becomes subfigures "(a)", "(b)"."""
    source = FIXTURE.read_text()
    assert '#| fig-subcap:\n#|   - "Left panel LEFTCAP"\n#|   - "Right panel RIGHTCAP"\n' in source
    _, pages, build = rendered
    md = (build / "features.md").read_text()
    assert "![Left panel LEFTCAP](" in md and "![Right panel RIGHTCAP](" in md
    text = " ".join(pages)
    assert "(a) Left panel LEFTCAP" in text and "(b) Right panel RIGHTCAP" in text


@pytest.mark.slow
def test_warnings_and_chunk_errors_in_an_included_file_name_that_file(tmp_path):
    (tmp_path / "main.qmd").write_text("---\ntitle: M\n---\n\nA\n\n{{< include part.qmd >}}\n")
    (tmp_path / "part.qmd").write_text("Text.\n\n```{python}\n#| fig-capp: typo\nx = 1\n```\n\n"
                                       "```{python}\n#| label: boom\n\n1 / 0\n```\n")
    proc = subprocess.run([sys.executable, "-m", "tools.qmdrender", str(tmp_path / "main.qmd")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    part = tmp_path / "part.qmd"
    assert f"warning: {part}:3: unknown chunk option 'fig-capp'" in proc.stderr
    assert f"{part}:11: chunk 2 (boom) (starting at line 8) failed: ZeroDivisionError" \
        in proc.stderr


@pytest.mark.slow
def test_callout_icons_are_quartos_font_awesome_characters(rendered):
    """Quarto's Typst callouts show fa-info, fa-lightbulb, fa-exclamation-triangle,
    fa-exclamation and fa-fire in its Font Awesome 6 Free: the same characters in the same
    font when `fontawesomefree` provides it; drawn stand-ins otherwise."""
    from tools.qmdrender.typst_pdf import font_awesome_dir

    first = rendered[1][0]
    fonts = subprocess.run(["pdffonts", str(rendered[0])], capture_output=True,
                           text=True).stdout
    titles = ("Callout title NOTETITLE", "TIPTITLE from an attribute", "Warning", "Important",
              "CAUTIONTITLE")
    if font_awesome_dir() is None:
        assert "FontAwesome" not in fonts and "\uf129" not in first
        assert "i Callout title NOTETITLE" in first and "! Important" in first
        return
    assert "FontAwesome6Free-Solid" in fonts.replace(" ", "")
    for icon, title in zip(("\uf129", "\uf0eb", "\uf071", "!", "\uf06d"), titles, strict=True):
        assert f"{icon} {title}" in first, (icon, title)
