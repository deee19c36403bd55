"""tools/qmdrender (Quarto-free rendering) and tools/submission."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.qmdrender import crossref
from tools.qmdrender.config import merged_metadata, normalize_authors
from tools.qmdrender.document import Chunk, parse
from tools.qmdrender.errors import RenderError
from tools.qmdrender.outputs import OutputConverter
from tools.qmdrender.typst_pdf import fix_math_symbols
from tools.qmdrender.yamlish import YamlError, loads

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "render_fixture.qmd"


# ---------------------------------------------------------------- YAML subset and parser

def test_yaml_subset_reads_authors_lists_and_scalars():
    data = loads('title: "A: b"\nauthor:\n  - name: Jane\n    id: "0123"\n  - Bob\n'
                 "execute:\n  echo: false\n  n: 3\nsizes: [1, 2.5, x]  # comment\n")
    assert data == {"title": "A: b", "author": [{"name": "Jane", "id": "0123"}, "Bob"],
                    "execute": {"echo": False, "n": 3}, "sizes": [1, 2.5, "x"]}


def test_yaml_error_names_the_line():
    with pytest.raises(YamlError, match="line 11"):
        loads("a: 1\n  b: 2\n", first_line=10)


def test_parse_splits_front_matter_prose_and_chunks():
    text = ("---\ntitle: T\n---\n\nIntro\n\n```{python}\n#| label: fig-a\n#| echo: false\n\n"
            "x = 1\n```\n\n```python\nnot executed\n```\n\n```{python}\ny = 2\n```\n")
    doc = parse(text, "d.qmd")
    assert doc.meta == {"title": "T"}
    chunks = doc.chunks
    assert [c.line for c in chunks] == [7, 18]
    assert chunks[0].options == {"label": "fig-a", "echo": False}
    assert chunks[0].code == "x = 1" and chunks[0].code_line == 11
    assert chunks[1].label is None and chunks[1].code == "y = 2"
    assert "not executed" in doc.parts[2].text


def test_parse_rejects_unclosed_fence_with_its_line():
    with pytest.raises(RenderError, match=r"d\.qmd:3: code fence"):
        parse("Hi\n\n```{python}\nx = 1\n", "d.qmd")


def test_project_options_merge_under_front_matter():
    project = {"project": {"type": "default"}, "author": [{"name": "P", "id": "1"}],
               "format": {"typst": {"fig-width": 6}}, "execute": {"echo": False}}
    meta = merged_metadata(project, {"fig-width": 4, "execute": {"warning": False}})
    assert meta["fig-width"] == 4  # the document wins over the project
    assert meta["execute"] == {"echo": False, "warning": False}
    assert normalize_authors(meta["author"]) == [{"name": "P", "id": "1"}]


# ---------------------------------------------------------------- cross-references

DOC = """# Intro {#sec-intro}

See @fig-a, [@tbl-b], @eq-m and @sec-sub. Mail a@fig-x.org. `@fig-code`

## Sub {#sec-sub}

$$ y = 1 $$

$$
x = 1
$$ {#eq-m}

![A cap](a.png){#fig-a width=3in}

![Second](b.png){#fig-b}

| a |
|---|
| 1 |

: Cap {#tbl-b}

# Unnumbered {.unnumbered}

# Two {#sec-two}
"""


def test_numbering_follows_document_order_and_section_levels():
    labels = crossref.number([crossref.Piece(DOC, 1)], number_sections=True)
    assert labels == {"sec-intro": "Section 1", "sec-sub": "Section 1.1",
                      "eq-m": "Equation (1)", "fig-a": "Figure 1", "fig-b": "Figure 2",
                      "tbl-b": "Table 1", "sec-two": "Section 2"}


def test_refs_become_typst_references_outside_code_only():
    pieces = [crossref.Piece(DOC, 1)]
    out = crossref.rewrite_refs(pieces, crossref.number(pieces, True))[0].text
    assert "`#ref(<fig-a>)`{=typst}" in out and "`#ref(<tbl-b>)`{=typst}" in out
    assert "[@tbl-b]" not in out and "a@fig-x.org" in out and "`@fig-code`" in out


def test_unknown_and_duplicate_labels_stop_with_their_line():
    with pytest.raises(RenderError, match="line 4: reference @fig-nope"):
        pieces = [crossref.Piece("a\n\nb\nsee @fig-nope\n", 1)]
        crossref.rewrite_refs(pieces, crossref.number(pieces, True))
    with pytest.raises(RenderError, match="line 3: label 'sec-a' is defined twice"):
        crossref.number([crossref.Piece("# A {#sec-a}\n\n# B {#sec-a}\n", 1)], True)


def test_labelled_equations_become_numbered_typst_and_others_stay():
    text = "$$ a $$\n\n$$\nb\n$$ {#eq-b}\n"
    out = crossref.rewrite_equations(text, lambda tex: f"T[{tex}]")
    assert out.startswith("$$ a $$")
    assert '#math.equation(block: true, numbering: "(1)", $ T[b] $) <eq-b>' in out


def test_math_symbol_renames_only_inside_math():
    src = "A sect of text. $ a dot.circle b sect c times.circle d $"
    assert fix_math_symbols(src) == "A sect of text. $ a dot.o b inter c times.o d $"


# ---------------------------------------------------------------- outputs

def _opts(**kw):
    base = {"echo": True, "eval": True, "include": True, "output": True, "warning": True,
            "error": False}
    return {**base, **kw}


def test_plot_reprs_are_hidden_and_asis_tables_get_caption(tmp_path):
    conv = OutputConverter(tmp_path, 150, "/figs")
    chunk = Chunk(0, 1, "plt.plot(x)", {"label": "tbl-t", "tbl-cap": "Cap."})
    outputs = [
        {"output_type": "execute_result",
         "data": {"text/plain": "[<matplotlib.lines.Line2D at 0x7f00aa>]"}},
        {"output_type": "stream", "name": "stdout", "text": "| a |\n|---|\n| 1 |\n"},
    ]
    md = conv.chunk_markdown(chunk, _opts(output="asis", echo=False, **chunk.options), outputs)
    assert "Line2D" not in md
    assert md.strip() == "| a |\n|---|\n| 1 |\n\n: Cap. {#tbl-t}"


def test_include_false_and_warning_false(tmp_path):
    conv = OutputConverter(tmp_path, 150, "/figs")
    chunk = Chunk(0, 1, "print(1)", {})
    outs = [{"output_type": "stream", "name": "stderr", "text": "UserWarning: careful\n"},
            {"output_type": "stream", "name": "stdout", "text": "1\n"}]
    assert conv.chunk_markdown(chunk, _opts(include=False), outs) == ""
    md = conv.chunk_markdown(chunk, _opts(warning=False, echo=False), outs)
    assert "careful" not in md and "1" in md


# ---------------------------------------------------------------- rendering (slow)

def _pdftext(pdf: Path) -> str:
    out = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True)
    return " ".join(out.stdout.split())


@pytest.fixture(scope="module")
def fixture_pdf(tmp_path_factory):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    tmp = tmp_path_factory.mktemp("render")
    pdf = tmp / "fixture.pdf"
    proc = subprocess.run([sys.executable, "-m", "tools.qmdrender", str(FIXTURE), "-o", str(pdf),
                           "--build-dir", str(tmp / "build")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return pdf, _pdftext(pdf), proc.stderr, tmp / "build"


@pytest.mark.slow
def test_fixture_title_block_inline_values_and_progress(fixture_pdf):
    pdf, text, stderr, build = fixture_pdf
    assert "Fixture Report" in text and "Every feature the renderer supports" in text
    assert "Ada Lovelace (ID 314159265)" in text and "Alan Turing (ID 271828182)" in text
    assert "1 January 2025" in text
    assert "The sum of the values is 28.0 and their mean is 4.0" in text
    assert "the square is 9." in text and "still ran: 1235." in text
    assert "[10/10] tbl-asis" in stderr
    assert not list(FIXTURE.parent.glob("render_fixture.*[!d]")), "intermediates beside .qmd"
    assert (build / "render_fixture.typ").is_file()


@pytest.mark.slow
def test_fixture_numbering_captions_and_references(fixture_pdf):
    _, text, _, build = fixture_pdf
    assert "Figure 1: A rising line of seven points." in text
    assert "Table 1: Summary statistics of the values." in text
    assert "Table 2: A table printed as Markdown." in text
    assert ("As Figure 1 shows, and Table 1 lists, the loss of Equation (1) falls; "
            "the model is Equation (2) (see also Figure 1 and Section 1.1)") in text
    assert "The printed table is Table 2." in text
    assert "the shown chunk in Section 1.1" in text
    assert "1 Setup" in text and "1.1 Method" in text and "2 Results" in text
    assert "(1)" in text and "(2)" in text and "(3)" not in text  # unlabelled display: no number
    assert "Appendix" in text and "3 Appendix" not in text
    assert "@" not in text and "{#" not in text and "$$" not in text and "```" not in text
    refs = (build / "crossrefs.json").read_text()
    assert '"fig-line": "Figure 1"' in refs and '"tbl-asis": "Table 2"' in refs


@pytest.mark.slow
def test_fixture_hides_what_the_options_hide(fixture_pdf):
    _, text, _, _ = fixture_pdf
    assert "square = int(values[2] ** 2)" in text and "square is 9" in text  # echo + output
    assert "HIDDENSOURCE" not in text and "secret_marker" not in text  # echo: false
    assert "NOTRUNMARKER" in text  # eval: false shows the code ...
    assert "INCLUDEFALSEMARKER" not in text and "OUTPUTFALSEMARKER" not in text
    assert "EXPECTEDERRORMARKER" in text  # error: true shows the error and goes on
    assert "WARNINGMARKER" not in text and "after the warning" in text
    assert "Line2D" not in text and "Figure size" not in text and "Text(" not in text
    assert "statistic" in text and "count" in text  # the DataFrame became a table


def _render_cli(qmd):
    """`python -m tools.qmdrender qmd` from the project root; the finished process."""
    return subprocess.run([sys.executable, "-m", "tools.qmdrender", str(qmd)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_failing_chunk_stops_with_label_line_and_error(tmp_path):
    qmd = tmp_path / "bad.qmd"
    qmd.write_text("---\ntitle: Bad\n---\n\nText.\n\n```{python}\n#| label: ok\nx = 1\n```\n\n"
                   "```{python}\n#| label: boom\ny = 2\nz = 1 / 0\n```\n\nNever.\n")
    proc = _render_cli(qmd)
    assert proc.returncode == 1
    assert "bad.qmd:15" in proc.stderr and "(boom)" in proc.stderr
    assert "ZeroDivisionError: division by zero" in proc.stderr
    assert not qmd.with_suffix(".pdf").exists()
    assert not (tmp_path / "bad.typ").exists()


def test_inline_string_naming_an_existing_file_is_inserted_as_text(tmp_path, monkeypatch):
    """IPython's Markdown("x.csv") reads the file x.csv; an inline value must stay the text."""
    from tools.qmdrender.execute import INLINE_HELPER

    (tmp_path / "lr_pred.csv").write_text("3\n1\n")
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    exec(INLINE_HELPER, ns)
    shown = ns["__qmdrender_inline__"]("lr_pred.csv")
    assert shown._repr_markdown_() == "lr_pred.csv"
    assert ns["__qmdrender_inline__"](0.25)._repr_markdown_() == "0.25"


@pytest.mark.slow
def test_chunk_stderr_reaches_the_terminal_while_it_runs(tmp_path):
    """Long chunks (the experiments) report progress on stderr; the render must show it."""
    qmd = tmp_path / "progress.qmd"
    qmd.write_text("---\ntitle: P\n---\n\n```{python}\n#| label: long\nimport sys\n"
                   "print('run 1 of 2 PROGRESSMARKER', file=sys.stderr)\n1 / 0\n```\n")
    proc = _render_cli(qmd)
    assert proc.returncode == 1
    assert "run 1 of 2 PROGRESSMARKER" in proc.stderr
    assert proc.stderr.index("PROGRESSMARKER") < proc.stderr.index("ZeroDivisionError")
    assert "WARNING" not in proc.stderr  # the kernel's own start-up chatter stays out
