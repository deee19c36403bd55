"""tools/qmdrender/quarto/typst-symbols.lua: math whose Typst symbol names differ between
releases renders with any Pandoc 3.1-3.10 and any Typst 0.11-0.15 (issue 19, point 1)."""

from __future__ import annotations

import subprocess

import pytest
import typst
import yaml

from tests.conftest import ROOT
from tools.qmdrender.pandoc import pandoc_path, project_filters

FILTER = ROOT / "tools" / "qmdrender" / "quarto" / "typst-symbols.lua"

# $a \odot b \otimes c \cap d \langle x \rangle \ominus e \circledast f$ as each Pandoc writes it
WRITTEN = {
    "pandoc 3.1-3.5": "$a dot.circle b times.circle c sect d angle.l x angle.r minus.circle e "
                      "ast.circle f$",
    "pandoc 3.6-3.9": "$a dot.circle b times.circle c sect d chevron.l x chevron.r "
                      "minus.circle e convolve.o f$",
    "pandoc 3.10": "$a dot.o b times.o c inter d chevron.l x chevron.r minus.o e convolve.o f$",
}
AS_CHARACTERS = "$a ⊙ b ⊗ c ∩ d ⟨ x ⟩ ⊖ e ⊛ f$"

# Pandoc's writer replaced by one returning `written`: the filter sees what that Pandoc writes.
HARNESS = """
FORMAT = "typst"
local written = arg[2]
pandoc.write = function() return written .. "\\n" end
local out = dofile(arg[1])[1].Math(pandoc.Math("InlineMath", "x"))
io.write(out and out.text or "UNCHANGED")
"""


def _filtered(tmp_path, written: str) -> str:
    harness = tmp_path / "harness.lua"
    harness.write_text(HARNESS, encoding="utf-8")
    proc = subprocess.run([pandoc_path(), "lua", str(harness), str(FILTER), written],
                          capture_output=True, text=True, encoding="utf-8", check=True)
    return proc.stdout


@pytest.mark.parametrize("written", WRITTEN.values(), ids=WRITTEN.keys())
def test_every_pandocs_symbol_names_become_characters(tmp_path, written):
    assert _filtered(tmp_path, written) == AS_CHARACTERS


def test_the_characters_compile_with_this_typst(tmp_path):
    doc = tmp_path / "m.typ"
    doc.write_text(AS_CHARACTERS + "\n", encoding="utf-8")
    typst.compile(str(doc), output=str(tmp_path / "m.pdf"))
    with pytest.raises(typst.TypstError, match="unknown"):  # why the filter exists
        doc.write_text(WRITTEN["pandoc 3.1-3.5"] + "\n", encoding="utf-8")
        typst.compile(str(doc), output=str(tmp_path / "m.pdf"))


@pytest.mark.parametrize(("written", "expected"), [
    ('$upright("dot.circle") + x$', "UNCHANGED"),      # text in a string stays text
    ("$sect.x + xdot.circle$", "UNCHANGED"),          # other names that merely contain one
    ("$a dot.circle.$", "$a ⊙.$"),                    # punctuation after a name
    ('$"a \\" sect" sect b$', '$"a \\" sect" ∩ b$'),  # an escaped quote inside a string
])
def test_only_whole_names_outside_strings_change(tmp_path, written, expected):
    assert _filtered(tmp_path, written) == expected


def test_the_real_pandoc_writes_odot_as_a_character_in_inline_and_display_math():
    md = "Here $h \\odot r$ and\n\n$$\n\\delta = W \\odot h \\cap V\n$$\n"
    out = subprocess.run([pandoc_path(), "-f", "markdown", "-t", "typst",
                          f"--lua-filter={FILTER}"], input=md, capture_output=True,
                         text=True, encoding="utf-8", check=True).stdout
    assert "$h ⊙ r$" in out and "$ delta = W ⊙ h ∩ V $" in out


def test_both_renderers_run_the_filter_listed_in_quarto_yml():
    config = yaml.safe_load((ROOT / "_quarto.yml").read_text(encoding="utf-8"))
    listed = config["format"]["typst"]["filters"]
    assert listed.index("quarto") < listed.index("tools/qmdrender/quarto/typst-symbols.lua")
    pre, post = project_filters(config["format"]["typst"], ROOT, ROOT)
    assert pre == [] and post[0] == FILTER
    assert "fix_math_symbols" not in (ROOT / "tools/qmdrender/typst_pdf.py").read_text()


def test_filters_are_ordered_around_quartos_own_and_must_be_lua_files(tmp_path):
    from tools.qmdrender.errors import RenderError

    for name in ("a.lua", "b.lua"):
        (tmp_path / name).write_text("return {}\n")
    assert project_filters({"filters": ["a.lua", "quarto", {"path": "b.lua"}]},
                           tmp_path, tmp_path) == ([tmp_path / "a.lua"], [tmp_path / "b.lua"])
    assert project_filters({"filters": ["a.lua", "b.lua"]}, tmp_path, tmp_path) == (
        [tmp_path / "a.lua", tmp_path / "b.lua"], [])
    for bad in ("missing.lua", "filter.py"):
        with pytest.raises(RenderError, match=bad):
            project_filters({"filters": [bad]}, tmp_path, tmp_path)
