"""The report's claim checks: `tools.claims.Claims` (each claim with its line, the record
`<doc>.claims.json`, the marks a failed claim leaves in the PDF), `tools.claims` (the status
after a render), and end to end: a small document with a false claim, rendered."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fmnist import verdicts as V
from tests.pdftext import pdftext, render
from tools import claims as C
from tools import claims as tool

ROOT = Path(__file__).resolve().parents[1]

DOC = '''\
# A document

Some prose.

```{python}
claims.check("The first claim holds", True)
```

```{python}
claims.check('A claim in single quotes', x > 1)
claims.check("Une affirmation « accentuée »", ok)
```
'''


@pytest.fixture
def doc(tmp_path):
    path = tmp_path / "doc.qmd"
    path.write_text(DOC, encoding="utf-8")
    return path


def record(path: Path) -> dict:
    return json.loads(path.with_suffix(".claims.json").read_text(encoding="utf-8"))


def typst_blocks(markdown: str) -> list[str]:
    return re.findall(r"```\{=typst\}\n(.*?)```", markdown, re.S)


TYPST_STRING = r'"(?:\\.|[^"\\])*"'


def marked(markdown: str) -> list[tuple[str, str]]:
    """(where, words) of each failed claim a Markdown display marks where it stands."""
    return [(json.loads(m.group(1)), json.loads(m.group(2))) for m in
            re.finditer(rf"\(#({TYPST_STRING})\): #({TYPST_STRING})\]", markdown)]


def listed(markdown: str) -> list[dict]:
    """The (line, words) of each failed claim a Markdown display gives the opening box."""
    return [{"line": int(m.group(1)), "words": json.loads(m.group(2))} for m in
            re.finditer(rf"#metadata\(\(line: (\d+), words: ({TYPST_STRING})\)\) "
                        rf"<{C.CLAIM_LABEL}>", markdown)]


# --------------------------------------------------------------------------- Claims


def test_each_claim_is_found_on_its_line_in_either_quotes(doc):
    claims = C.Claims(doc)
    claims.check("The first claim holds", True)
    claims.check("A claim in single quotes", True)
    claims.check("Une affirmation « accentuée »", True)
    claims.check("Words written nowhere", True)
    assert [c["line"] for c in record(doc)["claims"]] == [6, 10, 11, None]


def test_the_record_is_written_from_the_start_and_complete_only_at_the_end(doc):
    claims = C.Claims(doc, quick=True)
    assert record(doc) == {"document": "doc.qmd", "complete": False, "quick": True, "claims": []}
    claims.check("The first claim holds", True)
    claims.check("A claim in single quotes", False)
    assert record(doc)["claims"] == [
        {"line": 6, "words": "The first claim holds", "holds": True},
        {"line": 10, "words": "A claim in single quotes", "holds": False}]
    assert record(doc)["complete"] is False
    claims.finish()
    assert record(doc)["complete"] is True and record(doc)["quick"] is True
    assert not list(doc.parent.glob("*.tmp"))
    C.Claims(doc)  # a new render starts a new record
    assert record(doc) == {"document": "doc.qmd", "complete": False, "quick": False,
                           "claims": []}


def test_a_callable_is_called_and_a_missing_setting_is_a_failed_claim(doc):
    claims = C.Claims(doc)
    claims.check("The first claim holds", lambda: True)
    claims.check("A claim in single quotes", lambda: {}["lr"])           # KeyError
    claims.check("Une affirmation « accentuée »", lambda: [][0])         # IndexError
    claims.check("Words written nowhere", lambda: V.class_index(["Hat"]))  # ValueError
    assert [c["holds"] for c in record(doc)["claims"]] == [True, False, False, False]


def test_a_bug_in_a_check_is_not_a_failed_claim_but_an_error(doc):
    claims = C.Claims(doc)
    with pytest.raises(TypeError):
        claims.check("The first claim holds", lambda: None + 1)


def test_numpy_booleans_are_claims_and_a_missing_verdict_does_not_hold(doc):
    """`ablation` leaves NaN where nothing was compared (a diverged variant): a claim resting
    on it is not verified, so it does not hold (bool(nan) is True)."""
    import numpy as np

    claims = C.Claims(doc)
    claims.check("The first claim holds", np.bool_(True))
    claims.check("A claim in single quotes", np.bool_(False))
    claims.check("Une affirmation « accentuée »", float("nan"))
    claims.check("Words written nowhere", np.float64("nan"))
    assert [c["holds"] for c in record(doc)["claims"]] == [True, False, False, False]


def test_a_claim_that_holds_shows_nothing(doc):
    claims = C.Claims(doc)
    assert claims.check("The first claim holds", True) is None
    assert claims.finish() is None


def test_a_failed_claim_is_marked_once_and_listed_at_the_end(doc):
    claims = C.Claims(doc)
    shown = claims.check("A claim in single quotes", False)
    assert "10" in repr(shown)
    md = shown._repr_markdown_()
    ((where, words),) = marked(md)
    assert words == "A claim in single quotes" and "doc.qmd" in where and "10" in where
    assert listed(md) == []  # the box's list comes from `finish`
    assert shown._repr_markdown_() == "" and claims.pending == []
    assert claims.check("The first claim holds", True) is None
    end = claims.finish()._repr_markdown_()
    assert marked(end) == [] and listed(end) == [{"line": 10, "words": "A claim in single quotes"}]
    assert [c["holds"] for c in record(doc)["claims"]] == [False, True]


def test_the_last_check_of_a_chunk_shows_every_failure_of_the_chunk(doc):
    """Only a chunk's last value is displayed: it must carry the earlier failures too."""
    claims = C.Claims(doc)
    claims.check("A claim in single quotes", False)
    claims.check("Une affirmation « accentuée »", False)
    last = claims.check("The first claim holds", True)
    assert [w for _, w in marked(last._repr_markdown_())] == [
        "A claim in single quotes", "Une affirmation « accentuée »"]


def test_finish_marks_a_failure_no_chunk_displayed_and_lists_every_failure(doc):
    claims = C.Claims(doc)
    claims.check("Une affirmation « accentuée »", False)._repr_markdown_()  # shown
    claims.check("Words written nowhere", False)._repr_markdown_()  # a hidden chunk's output
    claims.check("A claim in single quotes", False)  # not a chunk's last value: never shown
    rest = claims.finish()._repr_markdown_()
    assert [w for _, w in marked(rest)] == ["A claim in single quotes"]
    assert listed(rest) == [{"line": 11, "words": "Une affirmation « accentuée »"},
                            {"line": 0, "words": "Words written nowhere"},  # on no line: 0
                            {"line": 10, "words": "A claim in single quotes"}]


def test_marks_compile_in_typst_whatever_the_words_and_the_document_name(tmp_path):
    """Quotes, backslashes, Typst markup (* _ # $ @ <) in the words or in the document's name
    stay text: the mark and the report's opening box compile and show them."""
    typst = pytest.importorskip("typst")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    words = 'A "quoted" \\ claim: *not bold* _nor_ #emph[x] $x$ @ref <lab> « é »'
    path = tmp_path / "_draft #2.qmd"
    path.write_text(f"```{{python}}\nclaims.check({json.dumps(words, ensure_ascii=False)}, "
                    "False)\n```\n", encoding="utf-8")
    claims = C.Claims(path)
    md = claims.check(words, False)._repr_markdown_() + claims.finish()._repr_markdown_()
    typ = tmp_path / "marks.typ"
    typ.write_text("\n".join([report_box(), *typst_blocks(md)]), encoding="utf-8")
    typst.compile(str(typ), output=str(tmp_path / "marks.pdf"))
    text = subprocess.run(["pdftotext", str(tmp_path / "marks.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    text = " ".join(text.split())
    assert f"line 2: {words}" in text  # listed in the report's box
    assert text.count(words) == 2 and "_draft #2.qmd" in text


def test_every_claim_of_the_report_can_be_found_and_shown(tmp_path):
    """report.qmd: at least 10 claims, each written once as a literal on its call's line (so its
    failure names that line); each chunk that checks shows its output and ends with a check,
    so that a failure is marked where it stands; the last chunk finishes the record and lists
    the failures for the opening box."""
    import ast

    from tools.qmdrender.document import parse

    text = (ROOT / "report.qmd").read_text(encoding="utf-8")
    copy = tmp_path / "report.qmd"
    copy.write_text(text, encoding="utf-8")
    claims = C.Claims(copy)
    chunks = parse(text, "report.qmd").chunks
    found = []
    for chunk in chunks:
        calls = [node for node in ast.walk(ast.parse(chunk.code)) if isinstance(node, ast.Call)
                 and isinstance(node.func, ast.Attribute) and node.func.attr == "check"
                 and isinstance(node.func.value, ast.Name) and node.func.value.id == "claims"]
        if not calls:
            continue
        assert chunk.options.get("include", True) and chunk.options.get("output", True), \
            chunk.label
        last = ast.parse(chunk.code).body[-1]
        assert isinstance(last, ast.Expr) and isinstance(last.value, ast.Call) \
            and last.value.func.attr == "check", chunk.label
        for call in calls:
            words = call.args[0]
            assert isinstance(words, ast.Constant) and isinstance(words.value, str), chunk.label
            line = chunk.code_line + call.lineno - 1
            assert claims._line(words.value) == line, words.value
            found.append(words.value)
    assert len(found) >= 10 and len(set(found)) == len(found)
    assert chunks[-1].code.strip() == "claims.finish()"
    assert chunks[-1].options.get("include", True) and chunks[-1].options.get("output", True)


# --------------------------------------------------------------------------- tools.claims


def write_record(tmp_path, claims, complete=True, quick=False, name="doc"):
    path = tmp_path / f"{name}.claims.json"
    path.write_text(json.dumps({"document": f"{name}.qmd", "complete": complete, "quick": quick,
                                "claims": claims}), encoding="utf-8")
    return str(tmp_path / f"{name}.qmd")


HOLDS = {"line": 3, "words": "A claim that holds", "holds": True}
FAILS = {"line": 7, "words": "A claim that fails", "holds": False}
FAILS_NOWHERE = {"line": None, "words": "A claim on no line", "holds": False}


def test_status_0_when_every_claim_holds(tmp_path, capsys):
    qmd = write_record(tmp_path, [HOLDS, HOLDS])
    assert tool.main([qmd]) == 0
    assert capsys.readouterr().err == ""


def test_status_1_names_each_failed_claim_by_its_line(tmp_path, capsys):
    qmd = write_record(tmp_path, [HOLDS, FAILS, FAILS_NOWHERE])
    assert tool.main([qmd]) == 1
    err = capsys.readouterr().err
    assert f"{qmd}:7:" in err and "A claim that fails" in err
    assert f"{qmd}:?:" in err and "A claim on no line" in err
    assert "A claim that holds" not in err


def test_a_quick_draft_lists_its_failures_and_passes(tmp_path, capsys):
    qmd = write_record(tmp_path, [HOLDS, FAILS], quick=True)
    assert tool.main([qmd]) == 0
    assert f"{qmd}:7:" in capsys.readouterr().err


def test_status_2_when_the_record_is_missing_unreadable_or_incomplete(tmp_path, capsys):
    assert tool.main([str(tmp_path / "none.qmd")]) == 2
    qmd = write_record(tmp_path, [HOLDS], complete=False)
    assert tool.main([qmd]) == 2
    qmd = write_record(tmp_path, [FAILS], complete=False, quick=True, name="quick")
    assert tool.main([qmd]) == 2  # a draft that stopped half-way is not a draft
    (tmp_path / "bad.claims.json").write_text("{not json", encoding="utf-8")
    assert tool.main([str(tmp_path / "bad.qmd")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 4 and all(".claims.json" in line for line in err)  # one line each


def test_read_and_failed(tmp_path):
    qmd = write_record(tmp_path, [HOLDS, FAILS, FAILS_NOWHERE])
    assert tool.failed(tool.read(qmd)) == [FAILS, FAILS_NOWHERE]
    with pytest.raises(ValueError):
        tool.read(tmp_path / "missing.qmd")


# --------------------------------------------------------------------------- end to end

E2E = """---
title: "Claims end to end"
format: typst
execute:
  echo: false
---

```{{=typst}}
{box}
```

```{{=typst}}
#pagebreak()
```

```{{python}}
#| label: setup
from tools.claims import Claims
from fmnist import verdicts
claims = Claims("claimdoc.qmd")
```

The first paragraph states a fact that is true.

```{{python}}
#| label: claim-true
claims.check("TRUECLAIM two and two make four", 2 + 2 == 4)
```

The second paragraph states one that is false.

```{{python}}
#| label: claim-false
claims.check("FALSECLAIM two and two make five", 2 + 2 == 5)
```

A third paragraph, whose check shows nothing.

```{{python}}
#| label: claim-hidden
#| output: false
claims.check("HIDDENCLAIM one is two", 1 == 2)
```

```{{python}}
#| label: finish
claims.finish()
```
"""


def report_box() -> str:
    """The opening box of report.qmd, as it stands there."""
    text = (ROOT / "report.qmd").read_text(encoding="utf-8")
    m = re.search(r"```\{=typst\}\n(#context \{\n  let failed = query\(<fmnist-failed-claim>\)"
                  r".*?)```", text, re.S)
    assert m, "report.qmd has no opening box of failed claims"
    return m.group(1).rstrip("\n")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """claimdoc.qmd (one true claim, one false) rendered once with tools/qmdrender."""
    tmp = tmp_path_factory.mktemp("claims")
    qmd = tmp / "claimdoc.qmd"
    qmd.write_text(E2E.format(box=report_box()), encoding="utf-8")
    render(qmd, tmp)
    lines = qmd.read_text(encoding="utf-8").splitlines()
    line = {w: next(i for i, t in enumerate(lines, 1) if w in t)
            for w in ("TRUECLAIM", "FALSECLAIM", "HIDDENCLAIM")}
    return qmd, qmd.with_suffix(".pdf"), line


@pytest.mark.slow
def test_the_first_page_lists_the_false_claim_with_its_line_and_not_the_true_one(rendered):
    _, pdf, line = rendered
    first = pdftext(pdf, "-f", "1", "-l", "1")
    assert f"line {line['FALSECLAIM']}: FALSECLAIM two and two make five" in first
    # a failure in a chunk whose output is hidden is listed all the same
    assert f"line {line['HIDDENCLAIM']}: HIDDENCLAIM one is two" in first
    assert "TRUECLAIM" not in pdftext(pdf)
    rest = pdftext(pdf, "-f", "2")
    assert rest.count("FALSECLAIM two and two make five") == 1  # marked where it stands
    assert rest.index("second paragraph") < rest.index("FALSECLAIM") < rest.index("third")


@pytest.mark.slow
def test_the_render_leaves_a_complete_record(rendered):
    qmd, _, line = rendered
    assert record(qmd) == {"document": "claimdoc.qmd", "complete": True, "quick": False,
                           "claims": [
                               {"line": line["TRUECLAIM"],
                                "words": "TRUECLAIM two and two make four", "holds": True},
                               {"line": line["FALSECLAIM"],
                                "words": "FALSECLAIM two and two make five", "holds": False},
                               {"line": line["HIDDENCLAIM"],
                                "words": "HIDDENCLAIM one is two", "holds": False}]}


@pytest.mark.slow
def test_the_status_after_the_render_fails_and_names_the_line(rendered, tmp_path):
    qmd, _, line = rendered
    proc = subprocess.run([sys.executable, "-m", "tools.claims", str(qmd)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert f"{qmd}:{line['FALSECLAIM']}:" in proc.stderr and "FALSECLAIM" in proc.stderr
    assert f"{qmd}:{line['HIDDENCLAIM']}:" in proc.stderr
    assert "TRUECLAIM" not in proc.stderr
    # the same record from a quick-mode draft: listed, and the status passes
    quick = record(qmd) | {"quick": True}
    (tmp_path / "claimdoc.claims.json").write_text(json.dumps(quick), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "tools.claims", str(tmp_path / "claimdoc.qmd")],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and f":{line['FALSECLAIM']}:" in proc.stderr


@pytest.mark.slow
def test_make_submission_refuses_the_rendered_record_naming_each_failed_claim(rendered, tmp_path):
    from tools import submission

    qmd, _, line = rendered
    (tmp_path / "report.claims.json").write_text(json.dumps(record(qmd)), encoding="utf-8")
    problems = submission.claim_problems(tmp_path)
    assert len(problems) == 2
    assert f"line {line['FALSECLAIM']}" in problems[0] and "FALSECLAIM" in problems[0]
    assert f"line {line['HIDDENCLAIM']}" in problems[1] and "HIDDENCLAIM" in problems[1]
    assert not any("TRUECLAIM" in p for p in problems)
