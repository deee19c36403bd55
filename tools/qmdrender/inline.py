"""Inline `` `{python} expr` `` results turned into Markdown exactly as Quarto does it.

Quarto (src/core/jupyter/jupyter-inline.ts, src/resources/jupyter/notebook.py) evaluates a
Markdown cell's expressions as Jupyter `user_expressions` and gets each value's display data:

- `text/markdown` (e.g. `IPython.display.Markdown(...)`) is inserted as Markdown;
- otherwise `text/plain`, i.e. the value's repr. A quoted repr (a `str`) loses its quotes
  and gets the Markdown characters `` \\ ` * _ { } [ ] ( ) > # + , - . ! `` backslash-escaped,
  so it prints literally; any other repr (numbers, `True`, `np.float64(0.5)`) goes in as is;
- an empty result leaves the raw `` `{python} expr` `` in the document.

`inline_markdown` returns the same Markdown, or raises `InlineError` where Quarto's output
would be wrong (raw code, `np.float64(...)`, doubled backslashes), so what looks right with
qmdrender also looks right with Quarto.
"""

from __future__ import annotations

import re

# Quarto's class [\\`*_{}\[\]()>#+-.!]: in JavaScript `+-.` is the range + , - .
_QUARTO_ESCAPED = re.compile(r"([\\`*_{}\[\]()>#+,\-.!])")
_NUMPY_REPR = re.compile(r"^(np|numpy)\.|^array\(|dtype=")


class InlineError(ValueError):
    """An inline result Quarto would not show as intended; the message says what to do."""


def inline_markdown(data: dict) -> str:
    """Markdown for one expression's display data (a mime bundle), as Quarto inserts it."""
    if "text/markdown" in data:
        text = _joined(data["text/markdown"])
        if not text:
            raise InlineError("the result is empty Markdown: Quarto would leave the raw "
                              "`{python} ...` code in the document; return non-empty text")
        return text
    plain = _joined(data.get("text/plain", ""))
    if len(plain) >= 2 and plain[0] == plain[-1] and plain[0] in "'\"":
        body = plain[1:-1]
        if "\\" in body:
            raise InlineError(f"the string's repr {plain} holds a backslash escape (a "
                              "backslash, newline or mixed quotes): Quarto would print it "
                              "doubled or escaped; build the text without them")
        if not body:
            raise InlineError("the result is an empty string: Quarto would leave the raw "
                              "`{python} ...` code in the document; return at least a space, "
                              "e.g. `{python} \"...\" if cond else \" \"`")
        return _QUARTO_ESCAPED.sub(r"\\\1", body)
    if not plain:
        raise InlineError("the result has no text: Quarto would leave the raw "
                          "`{python} ...` code in the document")
    if _NUMPY_REPR.search(plain):
        raise InlineError(f"the result is a NumPy value, which Quarto prints as its repr "
                          f"{plain!r}; format it, e.g. `{{python}} f\"{{x:.4f}}\"` or "
                          "int(x)/float(x)")
    return plain


def _joined(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)
