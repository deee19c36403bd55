"""After a render: list the report's claims that do not hold, and fail when there are any.

    python -m tools.claims report.qmd      # reads report.claims.json, written while rendering

Each claim of the report is checked by a chunk beside its paragraph (`fmnist.verdicts.Claims`).
Exit status 0 when every claim holds (or the results are a quick-mode draft, whose claims are
expected to fail: they are listed as warnings), 1 when a claim does not hold, 2 when the record
is missing or incomplete (the render did not reach its end).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


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
