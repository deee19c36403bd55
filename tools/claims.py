"""The report's claim checks: each qualitative sentence of `report.qmd` is checked against the
results by a chunk beside it, and a claim that no longer holds never passes silently.

In the report (its chunks run in the project folder, so `tools` is importable):

    claims = Claims("report.qmd", quick=ctx.quick)
    claims.check("L2 up to 1e-3 changes nothing measurable", verdict)   # in a chunk
    claims.finish()                                                    # the last chunk

A failed claim is marked in the PDF where its chunk stands, listed with its line in the box at
the start of the PDF, and written to `report.claims.json`. After a render:

    python -m tools.claims report.qmd

lists the failed claims and exits 0 when every claim holds (or the results are a quick-mode
draft, whose claims are expected to fail: listed as warnings), 1 when a claim does not hold,
2 when the record is missing or incomplete (the render did not reach its end).
`make submission` refuses while any claim is listed.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

CLAIM_LABEL = "fmnist-failed-claim"


class _Marks:
    """What the notebook shows of the failed claims: a raw Typst block that marks each failure
    not shown yet where its chunk stands (shown once: showing empties the list), and, from
    `finish`, a metadata entry for every failure of the document, which the box at the start
    of the report lists (`query(<fmnist-failed-claim>)`), even one whose chunk hides its
    output."""

    def __init__(self, claims: Claims, listed: list[dict] | None = None):
        self.claims = claims
        self.listed = listed or []

    def _repr_markdown_(self) -> str:
        out = []
        for c in self.claims.pending:
            words = json.dumps(c["words"], ensure_ascii=False)  # also a valid Typst string
            where = json.dumps(f"{self.claims.document.name}, line {c['line'] or '?'}",
                               ensure_ascii=False)
            out.append("```{=typst}\n"
                       "#block(width: 100%, inset: 6pt, fill: rgb(\"#fdecea\"), "
                       "stroke: 1pt + rgb(\"#b71c1c\"))[*This claim does not hold* "
                       f"(#{where}): #{words}]\n```\n")
        if self.listed:
            out.append("```{=typst}\n" + "".join(
                f"#metadata((line: {c['line'] or 0}, "
                f"words: {json.dumps(c['words'], ensure_ascii=False)})) <{CLAIM_LABEL}>\n"
                for c in self.listed) + "```\n")
        self.claims.pending, self.listed = [], []
        return "\n".join(out)

    def __repr__(self) -> str:
        return "\n".join(f"claim does not hold (line {c['line']}): {c['words']}"
                         for c in self.claims.pending)


class Claims:
    """The report's claim checks. `check(words, holds)` records each claim with its line in
    the document; a failed one is marked in the PDF where the chunk stands (the chunk's last
    check shows every failure of the chunk), listed in the box at the report's start (by
    `finish()`, the value of the document's last chunk), and written to
    `<document>.claims.json`, which `make report` and `make submission` read."""

    def __init__(self, document: str | os.PathLike, quick: bool = False):
        self.document = Path(document)
        self.path = self.document.with_suffix(".claims.json")
        self.lines = self.document.read_text(encoding="utf-8").splitlines()
        self.record = {"document": self.document.name, "complete": False, "quick": bool(quick),
                       "claims": []}
        self.pending: list[dict] = []
        self._save()

    def _line(self, words: str) -> int | None:
        for quoted in (json.dumps(words, ensure_ascii=False), repr(words)):
            for i, text in enumerate(self.lines, start=1):
                if quoted in text:
                    return i
        return None

    def check(self, words: str, holds) -> _Marks | None:
        """Record the claim `words` (written in the document, on one line) and whether it holds.
        `holds` may be a function, called now: a claim about a setting these results lack (a
        KeyError, IndexError or ValueError) does not hold, nor does one resting on a verdict
        that is missing (NaN, where nothing was compared). Returns the marks of the failures
        not shown yet (nothing when there are none)."""
        if callable(holds):
            try:
                holds = holds()
            except (KeyError, IndexError, ValueError):
                holds = False
        if isinstance(holds, float) and math.isnan(holds):  # also NumPy floats
            holds = False
        claim = {"line": self._line(words), "words": words, "holds": bool(holds)}
        self.record["claims"].append(claim)
        if not claim["holds"]:
            self.pending.append(claim)
        self._save()
        return _Marks(self) if self.pending else None

    def finish(self) -> _Marks | None:
        """Mark the record complete (the render reached its end); returns the marks of any
        failure not shown yet and the list of every failure for the box at the start."""
        self.record["complete"] = True
        self._save()
        failed = [c for c in self.record["claims"] if not c["holds"]]
        return _Marks(self, failed) if self.pending or failed else None

    def _save(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.record, indent=1, ensure_ascii=False) + "\n",
                       encoding="utf-8")
        os.replace(tmp, self.path)


def read(document: str | Path) -> dict:
    """The claim record of `document` ({"complete", "quick", "claims": [{line, words, holds}]});
    raises ValueError with one line when it is missing, unreadable or incomplete."""
    path = Path(document).with_suffix(".claims.json")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: no claim record; render {document} first "
                         "(`make report`)") from None
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: unreadable claim record ({e}); render {document} again") \
            from None
    if not record.get("complete"):
        raise ValueError(f"{path}: the render of {document} did not reach its end; render it "
                         "again")
    return record


def failed(record: dict) -> list[dict]:
    return [c for c in record["claims"] if not c["holds"]]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    document = argv[0] if argv else "report.qmd"
    try:
        record = read(document)
    except ValueError as e:
        print(f"claims: {e}", file=sys.stderr)
        return 2
    bad = failed(record)
    for c in bad:
        print(f"{document}:{c['line'] or '?'}: claim does not hold: {c['words']}",
              file=sys.stderr)
    n = len(record["claims"])
    if bad and record.get("quick"):
        print(f"claims: {len(bad)} of {n} claims do not hold for this quick-mode draft "
              "(expected; a full `make report` must pass them all)", file=sys.stderr)
        return 0
    if bad:
        print(f"claims: {len(bad)} of {n} claims of {document} do not hold; rewrite those "
              "sentences (listed in the box on the report's first page)", file=sys.stderr)
        return 1
    print(f"claims: all {n} claims of {document} hold")
    return 0


if __name__ == "__main__":
    sys.exit(main())
