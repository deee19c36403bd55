"""The shared page layout (tools/qmdrender/quarto/typst-template.typ) treats figures and tables
the same whether Quarto wrote them (kinds "quarto-float-fig"/"quarto-float-tbl") or qmdrender
did (Typst's image/table kinds): figures and tables stay in the text where they are written (no
floats), captions are centred, and a table is never split from its caption or across pages
(issue 19 point 3, issue 17)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import typst

from tests.conftest import ROOT

PREAMBLE = """#import "/tools/qmdrender/quarto/typst-template.typ": fmnist-article
#show: doc => fmnist-article(doc)
"""
ROWS = ", ".join(f"[ROW{i}], [{i}]" for i in range(1, 16))
TABLES = {
    "quarto": '#figure([#table(columns: 2, {rows})], caption: figure.caption(position: top, '
              '[TABLECAP]), kind: "quarto-float-tbl", supplement: "Table", )<tbl-t>',
    "qmdrender": "#figure(align(center)[#table(columns: 2, {rows})], caption: [TABLECAP], "
                 "kind: table)<tbl-t>",
}
FIGURES = {
    "quarto": '#figure([#rect(height: 3cm)], caption: figure.caption(position: bottom, [CAPX]), '
              'kind: "quarto-float-fig", supplement: "Figure", )<fig-f>',
    "qmdrender": "#figure(rect(height: 3cm), caption: [CAPX])<fig-f>",
}


def _compile(tmp_path, body: str):
    build = ROOT / "_build" / "test_layout"
    build.mkdir(parents=True, exist_ok=True)
    source = build / f"{tmp_path.name}.typ"
    source.write_text(PREAMBLE + body, encoding="utf-8")
    pdf = tmp_path / "out.pdf"
    typst.compile(str(source), output=str(pdf), root=str(ROOT))
    source.unlink()
    return pdf


def _pages(pdf) -> list[str]:
    out = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                         check=True).stdout
    return out.split("\f")


@pytest.fixture(autouse=True)
def _needs_pdftotext():
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")


@pytest.mark.parametrize("writer", TABLES)
def test_a_table_near_the_page_end_moves_whole_with_its_caption(tmp_path, writer):
    filler = "\n\n".join(f"Filler paragraph {i}. #lorem(40)" for i in range(8))
    pdf = _compile(tmp_path, filler + "\n\n" + TABLES[writer].format(rows=ROWS) + "\n\nEND\n")
    pages = _pages(pdf)
    where = {word: next(i for i, p in enumerate(pages) if word in p)
             for word in ("TABLECAP", "ROW1\n", "ROW15")}
    assert len(set(where.values())) == 1, where
    assert pages[where["TABLECAP"]].index("TABLECAP") < pages[where["ROW1\n"]].index("ROW1\n")


@pytest.mark.parametrize("writer", FIGURES)
def test_figures_stay_in_place_and_their_captions_are_centred(tmp_path, writer):
    body = ("BEFORE\n\n" + FIGURES[writer] + "\n\nAFTER\n\n"
            "#context [PLACEMENT #repr(query(figure).first().placement)]\n")
    pdf = _compile(tmp_path, body)
    page = _pages(pdf)[0]
    assert "PLACEMENT none" in page
    assert page.index("BEFORE") < page.index("CAPX") < page.index("AFTER")
    box = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True,
                         text=True, check=True).stdout
    page_width = float(re.search(r'<page width="([\d.]+)"', box).group(1))
    x0, x1 = (float(v) for v in re.search(
        r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">CAPX', box).groups())
    caption_start = re.search(r'<word xMin="([\d.]+)"[^>]*>Figure', box)
    left = float(caption_start.group(1))
    assert abs((left + x1) / 2 - page_width / 2) < 2, (left, x1, page_width)
