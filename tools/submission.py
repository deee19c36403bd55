"""`python -m tools.submission [--root DIR] [--allow-built-data]` (`make submission`): pack
`<ID>.zip` (or `<ID1>_<ID2>.zip` for a pair) for the course.

The zip holds what a grader needs and nothing else: the solution's code (the `.py` files of
fmnist/ that git tracks), report.qmd and report.ipynb (converted from report.qmd into the zip
only: the student's own report.ipynb is never written), report.pdf, lr_pred.csv, NN_pred.csv,
and, each with its reason, README.md (how to run it), _quarto.yml (the authors, how the report
renders), references.bib (the report's citations), tools/claims.py (the report checks its
claims with it), models/logreg.npz, models/nn.npz (so that `python -m fmnist experiments
--from-models` remakes both prediction files byte for byte with the course's data in data/) and
tests/test_gradcheck.py (the numeric check of every gradient the report describes).
Never data/, caches, notes or environment files.

Refuses (exit 2, one line per problem) unless:
- `_quarto.yml` names one or two authors, each with a real name (not "YOUR NAME", "TODO", ...)
  and a quoted ID of 5 to 10 digits (not all zeros, no two alike);
- report.pdf, report.qmd, _quarto.yml, README.md, fmnist/, the prediction files and the models
  exist, no quick-mode marker is beside them, and report.pdf is newer than report.qmd,
  _quarto.yml and fmnist/;
- `deliverables.json` (written after the render, `tools.deliverables`) is valid, every file it
  lists (report.pdf included) has the checksum recorded there, the results are not quick-mode,
  each prediction file has one class 0-9 per row of test.csv, and the data is the course's,
  not built from Debian's package (`--allow-built-data` overrides);
- `report.claims.json` (written by the report during the render) is there, complete, not
  quick, not older than the render's sources, and every claim in it holds;
- report.ipynb, if there is one, holds nothing that report.qmd lacks;
- no .py file under fmnist/ is left out of git (it would be left out of the zip).
"""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from fmnist.data import DataError, atomic_write
from tools.deliverables import (
    CLAIMS_NAME,
    MANIFEST_NAME,
    MODEL_FILES,
    PREDICTION_FILES,
    check_manifest,
)
from tools.qmdrender.convert import ipynb_to_qmd, qmd_to_ipynb

REQUIRED = ["report.pdf", "report.qmd", "_quarto.yml", "README.md", *PREDICTION_FILES,
            *MODEL_FILES, MANIFEST_NAME, CLAIMS_NAME]
# Packed beside the code when present: the report, its outputs, and what a grader needs to run
# or render it (see the module docstring for each one's reason).
PACKED = ["report.qmd", "report.pdf", *PREDICTION_FILES, "README.md", "_quarto.yml",
          "references.bib", "tools/__init__.py", "tools/claims.py", *MODEL_FILES,
          "tests/test_gradcheck.py"]
CODE_SUFFIXES = (".py", ".ipynb")  # the kinds of code file the course accepts
TO_QMD = ".venv/bin/python -m tools.qmdrender --to qmd report.ipynb"
ID_PATTERN = re.compile(r"[0-9]{5,10}")
_PLACEHOLDER_NAME = re.compile(r"^\s*$|your\s*name|student|todo|tbd|placeholder|name here|xxx",
                               re.I)


class SubmissionError(Exception):
    """The archive cannot be made yet; the message lists every reason."""


def _git_files(root: Path, *options: str) -> list[Path] | None:
    """`git ls-files OPTIONS -- fmnist` in `root`, or None when it is not a git work tree."""
    try:
        out = subprocess.run(["git", "-C", str(root), "ls-files", "-z", *options, "--",
                              "fmnist"], capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return [root / name for name in out.decode().split("\0") if name]


def _is_code(path: Path) -> bool:
    """A .py/.ipynb file itself (a symbolic link could pack any file of the machine)."""
    return (path.suffix in CODE_SUFFIXES and path.is_file() and not path.is_symlink()
            and "__pycache__" not in path.parts)


def code_files(root: Path) -> list[Path]:
    """The solution's code: the .py/.ipynb files under fmnist/ that git tracks (every such file
    there when `root` is not a git work tree), never caches or stray files."""
    tracked = _git_files(root)
    paths = tracked if tracked is not None else (root / "fmnist").rglob("*")
    return sorted(p for p in paths if _is_code(p))


def untracked_code(root: Path) -> list[Path]:
    """Code files under fmnist/ that git does not track (and does not ignore): they would be
    missing from the zip, and the solution might not run without them."""
    return sorted(p for p in _git_files(root, "--others", "--exclude-standard") or []
                  if _is_code(p))


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


def render_sources(root: Path) -> list[Path]:
    """What report.pdf (and the claims) are made from."""
    return [root / "report.qmd", root / "_quarto.yml", *code_files(root)]


def claim_problems(root: Path) -> list[str]:
    """Every reason `report.claims.json` does not vouch for the report: missing, damaged,
    incomplete, quick, older than the render's sources, or a claim that does not hold (one
    line each, with its line of report.qmd and its words)."""
    path = root / CLAIMS_NAME
    remake = "run `make report` again"
    try:
        claims = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [f"{CLAIMS_NAME} is missing: the report writes it while it renders; {remake}"]
    except (OSError, ValueError) as err:
        return [f"{CLAIMS_NAME}: cannot be read as JSON ({err}); {remake}"]
    if not isinstance(claims, dict) or not isinstance(claims.get("claims"), list):
        return [f"{CLAIMS_NAME}: not a claims file (no 'claims' list); {remake}"]
    out = []
    if claims.get("complete") is not True:
        out.append(f"{CLAIMS_NAME} is incomplete (the render stopped before checking every "
                   f"claim); {remake}")
    if claims.get("quick") is not False:
        out.append(f"{CLAIMS_NAME} was written by a quick-mode render; run `make report` "
                   "without FMNIST_QUICK")
    newer = [p for p in render_sources(root)
             if p.is_file() and p.stat().st_mtime > path.stat().st_mtime]
    if newer:
        out.append(f"{CLAIMS_NAME} is older than {newer[0].relative_to(root)}: it comes from an "
                   f"earlier render; {remake}")
    document = claims.get("document", "report.qmd")
    for claim in claims["claims"]:
        if not isinstance(claim, dict) or claim.get("holds") is not True:
            where = claim.get("line", "?") if isinstance(claim, dict) else "?"
            words = claim.get("words", claim) if isinstance(claim, dict) else claim
            out.append(f"{document}, line {where}: the claim {words!r} does not hold for these "
                       "results; rewrite the sentence (or the experiment) and run `make report`")
    return out


def notebook_problem(root: Path) -> str:
    """'' unless the student's report.ipynb holds something report.qmd lacks (it would be lost
    if the zip's notebook, converted from report.qmd, were taken for it)."""
    nb, qmd = root / "report.ipynb", root / "report.qmd"
    if not nb.is_file() or not qmd.is_file():
        return ""
    try:
        same = ipynb_to_qmd(nb.read_text(encoding="utf-8")) == qmd.read_text(encoding="utf-8")
    except Exception as err:  # noqa: BLE001 - a notebook the converter cannot read
        return (f"report.ipynb cannot be read as a notebook ({type(err).__name__}); move it "
                "away, or repair it and bring its edits back with " + TO_QMD)
    if same:
        return ""
    if nb.stat().st_mtime > qmd.stat().st_mtime:
        return (f"report.ipynb is newer than report.qmd and holds edits report.qmd lacks; bring "
                f"them back with `{TO_QMD}`, then run `make report`")
    return ("report.ipynb differs from report.qmd (it is older): if it holds edits you want, "
            f"bring them back with `{TO_QMD}`; if not, delete report.ipynb")


def problems(root: Path, allow_built_data: bool = False) -> list[str]:
    """Every reason the submission cannot be packed yet (empty when it can)."""
    try:
        out = author_problems(students(root))
    except SubmissionError as err:
        out = [str(err)]
    for name in REQUIRED:
        if not (root / name).is_file():
            hint = "" if name in ("README.md", "report.qmd", "_quarto.yml") else \
                " (run `make report`)"
            out.append(f"{name} is missing{hint}")
    if not code_files(root):
        out.append("fmnist/ holds no code (.py files tracked by git)")
    out += [f"{p.relative_to(root)} is not tracked by git, so it would not be packed; `git add` "
            "it if the solution needs it, or delete it" for p in untracked_code(root)]
    pdf = root / "report.pdf"
    if pdf.is_file():
        newer = [p for p in render_sources(root)
                 if p.is_file() and p.stat().st_mtime > pdf.stat().st_mtime]
        if newer:
            out.append(f"report.pdf is older than {newer[0].relative_to(root)}"
                       f"{f' and {len(newer) - 1} more' if len(newer) > 1 else ''}; "
                       "re-run `make report`")
    for name in (*PREDICTION_FILES, *MODEL_FILES):
        if (root / (name + ".quick")).exists():
            out.append(f"{name} is a quick-mode output ({name}.quick exists); run `make report` "
                       "without FMNIST_QUICK")
    if (root / MANIFEST_NAME).is_file():
        out += check_manifest(root, allow_built_data=allow_built_data)
    if (root / CLAIMS_NAME).is_file():
        out += claim_problems(root)
    out.append(notebook_problem(root))
    return [line for line in dict.fromkeys(out) if line]


def archive_name(root: Path) -> str:
    return "_".join(a["id"] for a in students(root)) + ".zip"


def members(root: Path) -> dict[str, Path | bytes]:
    """Name in the zip -> the file to pack, or the bytes of the converted notebook."""
    out: dict[str, Path | bytes] = {p.relative_to(root).as_posix(): p for p in code_files(root)}
    out.update({name: root / name for name in PACKED if (root / name).is_file()})
    qmd = (root / "report.qmd").read_text(encoding="utf-8")
    out["report.ipynb"] = qmd_to_ipynb(qmd).encode("utf-8")
    return dict(sorted(out.items()))


def pack(root: Path, allow_built_data: bool = False) -> Path:
    """Check, then write the archive into `root` (atomically); returns its path. Nothing in
    `root` but the archive is written."""
    found = problems(root, allow_built_data)
    if found:
        raise SubmissionError("cannot pack the submission yet:\n  - " + "\n  - ".join(found))
    target = root / archive_name(root)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, source in members(root).items():
            if isinstance(source, bytes):
                zf.writestr(name, source)
            else:
                zf.write(source, name)
    with atomic_write(target, "wb") as f:
        f.write(buffer.getvalue())
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
    except (SubmissionError, DataError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"error: {err.filename or args.root}: {err.strerror or err}", file=sys.stderr)
        return 2
    size = target.stat().st_size
    with zipfile.ZipFile(target) as zf:
        n = len(zf.namelist())
    print(f"wrote {target} ({n} files, {size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
