"""tools/qmdrender (Quarto-free rendering) and tools/submission."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pdftext import pdftext, render
from tools.qmdrender import crossref
from tools.qmdrender.config import merged_metadata, normalize_authors
from tools.qmdrender.document import Chunk, parse
from tools.qmdrender.errors import RenderError
from tools.qmdrender.outputs import OutputConverter
from tools.qmdrender.yamlio import YamlError, loads

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "render_fixture.qmd"


# ---------------------------------------------------------------- YAML subset and parser

def test_yaml_subset_reads_authors_lists_and_scalars():
    data = loads('title: "A: b"\nauthor:\n  - name: Jane\n    id: "0123"\n  - Bob\n'
                 "execute:\n  echo: false\n  n: 3\nsizes: [1, 2.5, x]  # comment\n")
    assert data == {"title": "A: b", "author": [{"name": "Jane", "id": "0123"}, "Bob"],
                    "execute": {"echo": False, "n": 3}, "sizes": [1, 2.5, "x"]}


def test_yaml_keeps_non_ascii_and_escaped_quotes():
    """The hand-written parser turned 'José' into 'JosÃ©'; PyYAML reads UTF-8 text as is."""
    data = loads('author:\n  - name: "José \\"Pepe\\" García"\n    id: "0123"\n')
    assert normalize_authors(data["author"]) == [{"name": 'José "Pepe" García', "id": "0123"}]


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
                      "eq-m": "Equation 1", "fig-a": "Figure 1", "fig-b": "Figure 2",
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

@pytest.fixture(scope="module")
def fixture_pdf(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("render")
    pdf = tmp / "fixture.pdf"
    proc = render(FIXTURE, tmp, pdf)
    return pdf, pdftext(pdf), proc.stderr, tmp / "build"


@pytest.mark.slow
def test_fixture_title_block_inline_values_and_progress(fixture_pdf):
    pdf, text, stderr, build = fixture_pdf
    assert "Fixture Report" in text and "Every feature the renderer supports" in text
    assert "Ada Lovelace (ID 314159265)" in text
    assert "José “Pepe” García (ID 271828182)" in text  # UTF-8 and quotes survive YAML
    assert "January 1, 2025" in text  # date-format: long, as Quarto formats it
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    assert "Author:" in info and "Ada Lovelace" in info and "García" in info
    assert "The sum of the values is 28.0 and their mean is 4.0" in text
    assert "the square is 9." in text and "still ran: 1235." in text
    assert "LITERAL `x` and **y** END" in text and "MD emphasised text END" in text
    assert "[10/10] tbl-asis" in stderr
    assert not list(FIXTURE.parent.glob("render_fixture.*[!d]")), "intermediates beside .qmd"
    assert (build / "render_fixture.typ").is_file()


@pytest.mark.slow
def test_fixture_numbering_captions_and_references(fixture_pdf):
    _, text, _, build = fixture_pdf
    assert "Figure 1: A rising line of seven points." in text
    assert "Table 1: Summary statistics of the values." in text
    assert "Table 2: A table printed as Markdown." in text
    # Quarto's Typst output leaves references to Typst, which drops a numbering's
    # parentheses in references: "Equation 1", while the equation itself shows "(1)".
    assert ("As Figure 1 shows, and Table 1 lists, the loss of Equation 1 falls; "
            "the model is Equation 2 (see also Figure 1 and Section 1.1)") in text
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


def test_inline_results_follow_quartos_rules():
    """Quarto's jupyter-inline.ts: text/markdown as is; a quoted repr unquoted and escaped."""
    from tools.qmdrender.inline import InlineError, inline_markdown

    assert inline_markdown({"text/plain": "'lr_pred.csv'"}) == r"lr\_pred\.csv"
    assert inline_markdown({"text/plain": "'`a` **b**, c!'"}) == r"\`a\` \*\*b\*\*\, c\!"
    assert inline_markdown({"text/plain": '"it\'s"'}) == "it's"
    assert inline_markdown({"text/plain": "0.25"}) == "0.25"
    assert inline_markdown({"text/plain": "<IPython.core.display.Markdown object>",
                            "text/markdown": "*foo*"}) == "*foo*"
    for data, message in [({"text/plain": "''"}, "empty string"),
                          ({"text/plain": "'x'", "text/markdown": ""}, "empty Markdown"),
                          ({"text/plain": "np.float64(0.5)"}, "NumPy value"),
                          ({"text/plain": "'a\\\\b'"}, "backslash")]:
        with pytest.raises(InlineError, match=message):
            inline_markdown(data)


@pytest.mark.slow
def test_kernel_death_ends_with_one_line_naming_the_chunk(tmp_path):
    qmd = tmp_path / "dies.qmd"
    qmd.write_text("---\ntitle: D\n---\n\n```{python}\n#| label: fine\nx = 1\n```\n\n"
                   "```{python}\n#| label: crash\nimport os\nos._exit(1)\n```\n")
    proc = _render_cli(qmd)
    assert proc.returncode == 1
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "dies.qmd:10:" in errors[0] and "(crash)" in errors[0]
    assert "kernel died" in errors[0] and "Traceback" not in proc.stderr


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


# ---------------------------------------------------------------- chunk and document options

def test_multiline_chunk_option_is_read_as_yaml():
    text = ('```{python}\n#| label: fig-pair\n#| fig-subcap:\n#|   - "Left"\n#|   - "Right"\n'
            "#| fig-cap: Both\nx = 1\n```\n")
    chunk = parse(text, "d.qmd").chunks[0]
    assert chunk.options["fig-subcap"] == ["Left", "Right"]
    assert chunk.options["fig-cap"] == "Both" and chunk.code == "x = 1"


def test_unknown_chunk_option_warns_with_its_line_and_unsupported_stops():
    from tools.qmdrender.options import check_chunk_options

    warnings = []
    check_chunk_options({"label": "a", "fig-capp": "x"}, Path("d.qmd"), 7, warnings.append)
    assert warnings == ["warning: d.qmd:7: unknown chunk option 'fig-capp' "
                        "(not a Quarto cell option): ignored"]
    with pytest.raises(RenderError, match=r"d\.qmd:9: chunk option 'layout-nrow' is not "):
        check_chunk_options({"layout-nrow": 2}, Path("d.qmd"), 9, warnings.append)


def test_subfigure_and_alt_options_are_supported_without_warnings():
    from tools.qmdrender.options import (
        KNOWN_UNSUPPORTED,
        NO_EFFECT_ON_TYPST,
        SUPPORTED,
        check_chunk_options,
    )

    warnings = []
    options = {"label": "fig-p", "fig-cap": "Both", "fig-subcap": ["A", "B"], "layout-ncol": 2,
               "fig-alt": ["a", "b"]}
    check_chunk_options(options, Path("d.qmd"), 3, warnings.append)
    assert warnings == []
    assert {"fig-subcap", "layout-ncol", "fig-alt"} <= SUPPORTED
    assert not SUPPORTED & (KNOWN_UNSUPPORTED | NO_EFFECT_ON_TYPST)


def test_other_engine_and_other_format_stop_with_their_line():
    from tools.qmdrender.config import check_document_options

    with pytest.raises(RenderError, match=r"d\.qmd:4: ```\{r\} chunks are not supported"):
        parse("Text\n\n\n```{r}\nx <- 1\n```\n", "d.qmd")
    assert "x <- 1" in parse("```r\nx <- 1\n```\n\n```{=typst}\n#pagebreak()\n```\n",
                             "d.qmd").parts[0].text  # shown code and raw blocks are prose
    with pytest.raises(RenderError, match="d.qmd:1: format: html is not supported"):
        check_document_options({"format": "html"}, "d.qmd:1")
    with pytest.raises(RenderError, match="engine: knitr is not supported"):
        check_document_options({"engine": "knitr"}, "d.qmd:1")
    check_document_options({"format": {"typst": {"papersize": "a4"}}}, "x")  # fine


def test_quarto_partials_are_the_project_files_and_never_call_article():
    """Quarto 1.8 dropped article(paper:); the partials must not depend on article()."""
    import yaml

    config = yaml.safe_load((ROOT / "_quarto.yml").read_text(encoding="utf-8"))
    partials = config["format"]["typst"]["template-partials"]
    assert sorted(Path(p).name for p in partials) == ["typst-show.typ", "typst-template.typ"]
    show = "\n".join(ln for ln in (ROOT / "tools/qmdrender/quarto/typst-show.typ")
                     .read_text(encoding="utf-8").splitlines() if not ln.startswith("//"))
    assert "fmnist-article(" in show and "article(" not in show.replace("fmnist-article(", "")
    template = (ROOT / "tools/qmdrender/template.typ").read_text(encoding="utf-8")
    assert "$quarto/typst-template.typ()$" in template and "$quarto/typst-show.typ()$" in template


def test_render_products_are_all_git_ignored():
    """After `quarto render` or qmdrender, `git status --porcelain` must show nothing new."""
    if shutil.which("git") is None or subprocess.run(
            ["git", "rev-parse"], cwd=ROOT, capture_output=True).returncode != 0:
        pytest.skip("not a git work tree")
    products = [".quarto/xref/x.json", "report.quarto_ipynb", "tests/fixtures/a.quarto_ipynb",
                "report.pdf", "report.typ", "report_files/figure-typst/f.svg", "report.ipynb",
                "lr_pred.csv", "NN_pred.csv", "lr_pred.csv.quick", "report.pdf.quick",
                "_build/report/report.typ", "figures/examples.svg", "314159265.zip",
                "figures/fig-examples.svg", "tests/fixtures/figures/fig-line.svg",
                "models/lr.npz"]
    proc = subprocess.run(["git", "check-ignore", "--no-index", "-v", "-n", *products],
                          cwd=ROOT, capture_output=True, text=True)
    not_ignored = [ln.split("\t")[-1] for ln in proc.stdout.splitlines() if ln.startswith("::")]
    assert not_ignored == [], f"not in .gitignore: {not_ignored}"


def test_make_render_quotes_a_path_with_a_space():
    """`make render QMD="my doc.qmd"` must pass ONE argument to the renderer."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    proc = subprocess.run(["make", "-n", "render", "report", "QMD=my doc.qmd", "PY=python"],
                          cwd=ROOT, capture_output=True, text=True)
    assert 'tools.qmdrender "my doc.qmd"' in proc.stdout
    assert '"$quarto" render "my doc.qmd"' in proc.stdout


# ---------------------------------------------------------------- .qmd <-> .ipynb

@pytest.mark.parametrize("qmd", [ROOT / "report.qmd", *sorted((ROOT / "tests/fixtures")
                                                              .glob("*.qmd"))],
                         ids=lambda p: p.name)
def test_qmd_ipynb_qmd_round_trip_is_byte_identical(qmd):
    import nbformat

    from tools.qmdrender.convert import ipynb_to_qmd, qmd_to_ipynb

    text = qmd.read_text(encoding="utf-8")
    nb_text = qmd_to_ipynb(text)
    nb = nbformat.reads(nb_text, as_version=4)
    nbformat.validate(nb)
    assert nb.cells[0].cell_type == "raw" and nb.cells[0].source.startswith("---\n")
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) == len(parse(text).chunks)
    assert code[0].source.startswith("#| label:")  # options stay in the cell, as quarto convert
    assert ipynb_to_qmd(nb_text) == text


def test_cli_converts_beside_the_file(tmp_path):
    from tools.qmdrender.__main__ import main

    qmd = tmp_path / "doc.qmd"
    qmd.write_text("---\ntitle: T\n---\n\nHi.\n\n```{python}\n#| echo: false\nx = 1\n```\n")
    assert main(["--to", "ipynb", str(qmd)]) == 0
    assert main(["--to", "qmd", str(tmp_path / "doc.ipynb"), "-o", str(tmp_path / "b.qmd")]) == 0
    assert (tmp_path / "b.qmd").read_text() == qmd.read_text()
    assert main(["--to", "qmd", str(qmd)]) == 1  # wrong input kind: a clear error


# ---------------------------------------------------------------- issue 20, point 7

@pytest.mark.parametrize(("text", "lines"), [
    ("Costs $$5 each.\n", [1]),                                   # a lone $$
    ("Intro.\n\n$$\na + b\n\nNext paragraph.\n", [3]),            # closed only after a blank
    ("$$ a $$ and\n$$\nb\n$$\n", []),                             # display math, one or many lines
    ("`$$` and\n\n```\n$$\n```\n\nand \\$\\$ escaped.\n", []),    # code and escapes
    ("$$ a $$ $$ b\n\nc $$\n", [1, 3]),
])
def test_lone_display_math_delimiters_are_found_with_their_line(text, lines):
    assert crossref.lone_display_math(text) == lines


@pytest.mark.slow
def test_a_lone_display_math_delimiter_warns_with_its_qmd_line(tmp_path):
    qmd = tmp_path / "doc.qmd"
    qmd.write_text("---\ntitle: T\n---\n\nIt costs $$5 a month.\n\n$$ a = b $$\n")
    proc = _render_cli(qmd)
    assert proc.returncode == 0, proc.stderr
    warnings = [ln for ln in proc.stderr.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 1 and warnings[0].startswith(f"warning: {qmd}:5:")


def test_a_reference_in_an_author_name_stops_pointing_at_quarto_yml(tmp_path):
    (tmp_path / "_quarto.yml").write_text('author:\n  - name: "Jane @fig-x Doe"\n'
                                          '    id: "1"\n')
    qmd = tmp_path / "doc.qmd"
    qmd.write_text("---\ntitle: T\n---\n\nText.\n")
    proc = _render_cli(qmd)
    assert proc.returncode == 1
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {tmp_path / '_quarto.yml'}:2:")
    assert "_build" not in proc.stderr
