"""`python -m tools.submission [--root DIR]`: pack `<ID>.zip` (or `<ID1>_<ID2>.zip`) for the course.

Refuses (exit 2, one message per problem) while:
- an author's name or ID in `_quarto.yml` is still a placeholder (name empty or "YOUR NAME",
  "TODO", ...; ID not all digits, or all zeros);
- a file is missing: report.pdf, report.qmd, _quarto.yml, README.md, fmnist/, tools/qmdrender/,
  lr_pred.csv, NN_pred.csv;
- report.pdf is older than report.qmd, _quarto.yml or any file of fmnist/ (re-run `make report`);
- a prediction file is a quick-mode output (the file `F.quick` exists beside it, the convention
  of `fmnist.experiments`) or is not one class 0-9 per line.
"""

from __future__ import annotations

import argparse
import re
import sys
import zipfile
from pathlib import Path

from fmnist._io import atomic_write
from tools.qmdrender.config import normalize_authors
from tools.qmdrender.yamlish import YamlError, loads

FILES = ["report.pdf", "report.qmd", "_quarto.yml", "README.md", "lr_pred.csv", "NN_pred.csv"]
FOLDERS = ["fmnist", "tools/qmdrender"]
PREDICTIONS = ["lr_pred.csv", "NN_pred.csv"]
_PLACEHOLDER_NAME = re.compile(r"^\s*$|your\s*name|student|todo|tbd|placeholder|name here|xxx",
                               re.I)


class SubmissionError(Exception):
    """The archive cannot be made yet; the message lists every reason."""


def _source_files(root: Path, folder: str) -> list[Path]:
    return sorted(p for p in (root / folder).rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")


def students(root: Path) -> list[dict]:
    """[{name, id}] from `_quarto.yml`'s `author:` entries."""
    path = root / "_quarto.yml"
    if not path.is_file():
        raise SubmissionError(f"{path} is missing; it holds the student names and IDs")
    try:
        meta = loads(path.read_text(encoding="utf-8"))
    except YamlError as err:
        raise SubmissionError(f"{path}:{err.line}: {err}") from None
    return normalize_authors(meta.get("author"))


def problems(root: Path) -> list[str]:
    """Every reason the submission cannot be packed yet (empty when it can)."""
    out = []
    try:
        authors = students(root)
    except SubmissionError as err:
        return [str(err)]
    if not authors:
        out.append("_quarto.yml has no 'author:' entries; add '- name: ...' and 'id: ...'")
    for i, a in enumerate(authors, 1):
        if _PLACEHOLDER_NAME.search(a["name"]):
            out.append(f"_quarto.yml: author {i}'s name {a['name']!r} is a placeholder; "
                       "write the student's name")
        sid = a.get("id", "")
        if not re.fullmatch(r"\d+", sid) or set(sid) == {"0"}:
            out.append(f"_quarto.yml: author {i}'s id {sid!r} is a placeholder or not a number; "
                       "write the student ID")
    for name in FILES:
        if not (root / name).is_file():
            hint = " (run `make report`)" if name.endswith((".pdf", ".csv")) else ""
            out.append(f"{name} is missing{hint}")
    for folder in FOLDERS:
        if not _source_files(root, folder):
            out.append(f"{folder}/ is missing or empty")
    pdf = root / "report.pdf"
    if pdf.is_file():
        sources = [root / "report.qmd", root / "_quarto.yml", *_source_files(root, "fmnist")]
        newer = [p for p in sources if p.is_file() and p.stat().st_mtime > pdf.stat().st_mtime]
        if newer:
            out.append(f"report.pdf is older than {newer[0].relative_to(root)}"
                       f"{f' and {len(newer) - 1} more' if len(newer) > 1 else ''}; "
                       "re-run `make report`")
    for name in PREDICTIONS:
        path = root / name
        if not path.is_file():
            continue
        if path.with_name(name + ".quick").exists():
            out.append(f"{name} is a quick-mode output ({name}.quick exists); run `make report` "
                       "without FMNIST_QUICK")
        lines = path.read_text(encoding="utf-8").splitlines()
        bad = next((i for i, s in enumerate(lines, 1) if not re.fullmatch(r"[0-9]", s)), None)
        if not lines or bad:
            out.append(f"{name}:{bad or 1}: expected one class 0-9 per line")
    return out


def archive_name(root: Path) -> str:
    return "_".join(a["id"] for a in students(root)) + ".zip"


def pack(root: Path) -> Path:
    """Check, then write the archive into `root`; returns its path."""
    found = problems(root)
    if found:
        raise SubmissionError("cannot pack the submission yet:\n  - " + "\n  - ".join(found))
    target = root / archive_name(root)
    members = [root / f for f in FILES]
    for folder in FOLDERS:
        members += _source_files(root, folder)
    members.append(root / "tools" / "__init__.py")
    with atomic_write(target, "wb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in members:
            if path.is_file():
                zf.write(path, path.relative_to(root).as_posix())
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.submission", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=".", help="the project folder")
    args = parser.parse_args(argv)
    try:
        target = pack(Path(args.root).resolve())
    except SubmissionError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    with zipfile.ZipFile(target) as zf:
        n = len(zf.namelist())
    print(f"wrote {target} ({n} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
