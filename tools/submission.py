"""`python -m tools.submission [--root DIR] [--allow-built-data]`: pack `<ID>.zip` (or
`<ID1>_<ID2>.zip` for a pair) for the course.

Refuses (exit 2, one message per problem) unless:
- `_quarto.yml` names one or two authors, each with a real name (not "YOUR NAME", "TODO", ...)
  and a quoted ID of 5 to 10 digits (not all zeros, no two alike);
- report.pdf, report.qmd, _quarto.yml, README.md, fmnist/, tools/qmdrender/, lr_pred.csv and
  NN_pred.csv exist, and report.pdf is newer than report.qmd, _quarto.yml and fmnist/;
- `deliverables.json` (written by the experiments, see `fmnist.deliverables`) is valid, every
  file it lists has the checksum it records, the results are not quick-mode, each prediction
  file has one class 0-9 per row of test.csv (the manifest's count and data/test.csv's), and
  the data is the course's, not built from Debian's package (`--allow-built-data` overrides);
- report.pdf's text shows `Results fingerprint: <the manifest's fingerprint>` and no
  QUICK-MODE banner (read with pypdf).
"""

from __future__ import annotations

import argparse
import re
import sys
import zipfile
from pathlib import Path

from fmnist.deliverables import MANIFEST_NAME, check_manifest, check_report_text, read_manifest
from fmnist.schema import DataError
from tools.qmdrender.convert import qmd_to_ipynb
from tools.qmdrender.fileio import atomic_write

FILES = ["report.pdf", "report.qmd", "_quarto.yml", "README.md", "lr_pred.csv", "NN_pred.csv",
         MANIFEST_NAME]
FOLDERS = ["fmnist", "tools/qmdrender"]
PREDICTIONS = ["lr_pred.csv", "NN_pred.csv"]
# Files `pack` makes and packs: the report's code as a notebook (the course accepts code only
# as .py or .ipynb), converted from report.qmd as `quarto convert` would.
GENERATED_EXTRAS: list[str] = ["report.ipynb"]
ID_PATTERN = re.compile(r"[0-9]{5,10}")
_PLACEHOLDER_NAME = re.compile(r"^\s*$|your\s*name|student|todo|tbd|placeholder|name here|xxx",
                               re.I)


class SubmissionError(Exception):
    """The archive cannot be made yet; the message lists every reason."""


def _source_files(root: Path, folder: str) -> list[Path]:
    return sorted(p for p in (root / folder).rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")


def _normalize_authors(value) -> list[dict]:
    """`author:` as a string, a list of strings, or a list of {name, id} -> [{name, id}]; an
    `id` that YAML did not read as a string is kept as its value (refused later)."""
    if value is None:
        return []
    authors = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict):
            name = item.get("name")
            if isinstance(name, dict):
                name = name.get("literal") or " ".join(
                    str(name[k]) for k in ("given", "family") if name.get(k))
            authors.append({"name": "" if name is None else str(name), "id": item.get("id")})
        else:
            authors.append({"name": str(item), "id": None})
    return authors


def students(root: Path) -> list[dict]:
    """[{name, id}] from `_quarto.yml`'s `author:` entries (read with PyYAML)."""
    import yaml

    path = root / "_quarto.yml"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SubmissionError(f"{path} is missing; it holds the student names and IDs") from None
    except (OSError, UnicodeError) as err:
        raise SubmissionError(f"{path}: cannot be read ({err})") from None
    try:
        meta = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = getattr(err, "problem", None) or str(err)
        raise SubmissionError(f"{path}{where}: not valid YAML ({what}); fix it") from None
    if not isinstance(meta, dict):
        raise SubmissionError(f"{path}: expected options such as 'author:', found no mapping")
    return _normalize_authors(meta.get("author"))


def author_problems(authors: list[dict]) -> list[str]:
    out = []
    if not authors:
        out.append("_quarto.yml has no 'author:' entries; add '- name: ...' and 'id: \"...\"'")
    if len(authors) > 2:
        out.append(f"_quarto.yml names {len(authors)} authors; the exercise is done alone or in "
                   "pairs (the archive is ID.zip or ID1_ID2.zip)")
    for i, a in enumerate(authors, 1):
        if _PLACEHOLDER_NAME.search(a["name"]):
            out.append(f"_quarto.yml: author {i}'s name {a['name']!r} is a placeholder; "
                       "write the student's name")
        sid = a["id"]
        if sid is not None and not isinstance(sid, str):
            out.append(f"_quarto.yml: author {i}'s id {sid!r} is not in quotes (YAML may change "
                       f"a number: leading zeros are lost); write id: \"...\"")
        elif not isinstance(sid, str) or not ID_PATTERN.fullmatch(sid) or set(sid) == {"0"}:
            out.append(f"_quarto.yml: author {i}'s id {sid!r} is a placeholder or not a student "
                       "ID (5 to 10 digits); write the student ID")
    ids = [a["id"] for a in authors]
    if len(ids) == 2 and ids[0] == ids[1]:
        out.append("_quarto.yml: both authors have the same id")
    return out


def pdf_text(path: Path) -> str:
    """The text of every page of a PDF (pypdf); SubmissionError if it cannot be read."""
    try:
        from pypdf import PdfReader
    except ImportError:
        raise SubmissionError("pypdf is not installed; run `make venv` (or pip install pypdf)"
                              ) from None
    try:
        reader = PdfReader(str(path))
        return "\n".join(page.extract_text() or "" for page in reader.pages)
    except Exception as err:  # noqa: BLE001 - pypdf raises many kinds on a damaged file
        raise SubmissionError(f"{path.name} cannot be read as a PDF ({type(err).__name__}: "
                              f"{err}); run `make report` again") from None


def problems(root: Path, allow_built_data: bool = False) -> list[str]:
    """Every reason the submission cannot be packed yet (empty when it can)."""
    try:
        out = author_problems(students(root))
    except SubmissionError as err:
        out = [str(err)]
    for name in FILES:
        if not (root / name).is_file():
            hint = "" if name in ("README.md", "report.qmd", "_quarto.yml") else \
                " (run `make report`)"
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
        if (root / (name + ".quick")).exists():
            out.append(f"{name} is a quick-mode output ({name}.quick exists); run `make report` "
                       "without FMNIST_QUICK")
    if not (root / MANIFEST_NAME).is_file():
        return out  # reported above as missing; nothing below can be checked without it
    out += check_manifest(root, allow_built_data=allow_built_data)
    if pdf.is_file():
        try:
            manifest = read_manifest(root)
            out += check_report_text(pdf_text(pdf), manifest)
        except DataError:
            pass  # check_manifest has said what is wrong with the manifest
        except SubmissionError as err:
            out.append(str(err))
    return list(dict.fromkeys(out))


def archive_name(root: Path) -> str:
    return "_".join(a["id"] for a in students(root)) + ".zip"


def members(root: Path) -> list[Path]:
    paths = [root / f for f in FILES + GENERATED_EXTRAS]
    for folder in FOLDERS:
        paths += _source_files(root, folder)
    paths.append(root / "tools" / "__init__.py")
    paths.append(root / "tools" / "submission.py")
    return [p for p in paths if p.is_file()]


def pack(root: Path, allow_built_data: bool = False) -> Path:
    """Write report.ipynb from report.qmd, check, then write the archive into `root`
    (atomically); returns its path."""
    qmd = root / "report.qmd"
    if qmd.is_file():
        with atomic_write(root / "report.ipynb", "w", encoding="utf-8") as f:
            f.write(qmd_to_ipynb(qmd.read_text(encoding="utf-8")))
    found = problems(root, allow_built_data)
    if found:
        raise SubmissionError("cannot pack the submission yet:\n  - " + "\n  - ".join(found))
    target = root / archive_name(root)
    with atomic_write(target, "wb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in members(root):
            zf.write(path, path.relative_to(root).as_posix())
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.submission", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=".", help="the project folder")
    parser.add_argument("--allow-built-data", action="store_true",
                        help="pack even though data/*.csv were built from Debian's package, "
                             "not supplied by the course (the predictions are then not for "
                             "the course's test.csv)")
    args = parser.parse_args(argv)
    try:
        target = pack(Path(args.root).resolve(), args.allow_built_data)
    except SubmissionError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"error: {err.filename or args.root}: {err.strerror or err}", file=sys.stderr)
        return 2
    with zipfile.ZipFile(target) as zf:
        n = len(zf.namelist())
    print(f"wrote {target} ({n} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
