"""The deliverables manifest: which results `report.pdf`, the prediction files and the models
belong to, so that `make submission` can refuse a mismatched or quick-mode hand-in.

The experiments write `deliverables.json` at the project root:

    {"format": 1, "quick": false, "fingerprint": "<12 hex>", "test_rows": 14000,
     "data": {... fmnist.provenance.data_provenance(...) ...},
     "files": {"lr_pred.csv": "<sha256>", "NN_pred.csv": "<sha256>",
               "models/logreg.npz": "<sha256>", "models/nn.npz": "<sha256>"}}

`fingerprint` is the first 12 hex digits of the SHA-256 of the canonical JSON (sorted keys,
separators "," and ":") of everything except `fingerprint`. The report prints
`fingerprint_line(manifest)` ("Results fingerprint: <fingerprint>") on its first page, and
`QUICK_BANNER` ("QUICK-MODE") there when `quick` is true.

    m = make_manifest(root, quick, data_record, test_rows)   # after writing the files
    write_manifest(root, m)
    check_manifest(root) -> list[str]                          # [] when all is consistent
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from fmnist._io import atomic_write
from fmnist.schema import DataError

MANIFEST_NAME = "deliverables.json"
FORMAT = 1
PREDICTION_FILES = ("lr_pred.csv", "NN_pred.csv")
MODEL_FILES = ("models/logreg.npz", "models/nn.npz")
DEFAULT_FILES = PREDICTION_FILES + MODEL_FILES
FINGERPRINT_LABEL = "Results fingerprint:"
QUICK_BANNER = "QUICK-MODE"
_HEX12 = re.compile(r"[0-9a-f]{12}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_PREDICTION_LINE = re.compile(rb"[0-9]")
_REMAKE = "run `make report` (without FMNIST_QUICK) to make them together again"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def fingerprint(manifest: dict) -> str:
    """First 12 hex digits of the SHA-256 of the canonical JSON of all but 'fingerprint'."""
    body = {k: v for k, v in manifest.items() if k != "fingerprint"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def fingerprint_line(manifest: dict) -> str:
    """The text the report prints on page 1: 'Results fingerprint: <fingerprint>'."""
    return f"{FINGERPRINT_LABEL} {manifest['fingerprint']}"


def make_manifest(root: str | os.PathLike, quick: bool, data_record: dict, test_rows: int,
                  files: tuple[str, ...] | list[str] = DEFAULT_FILES) -> dict:
    """The manifest of the files (paths relative to `root`) as they are now, fingerprinted.

    `data_record`: `fmnist.provenance.data_provenance(data_dir)` of the data the results were
    made from; `test_rows`: rows of the test.csv the predictions are for.
    """
    root = Path(root)
    hashes = {}
    for name in files:
        try:
            hashes[name] = _sha256(root / name)
        except OSError as err:
            raise DataError(f"{root / name}: cannot be read to fingerprint the results "
                            f"({err.strerror or err})") from None
    manifest = {"format": FORMAT, "quick": bool(quick), "test_rows": int(test_rows),
                "data": dict(data_record), "files": hashes}
    manifest["fingerprint"] = fingerprint(manifest)
    return manifest


def write_manifest(root: str | os.PathLike, manifest: dict) -> Path:
    """Write `deliverables.json` atomically into `root`; returns its path."""
    path = Path(root) / MANIFEST_NAME
    with atomic_write(path, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write("\n")
    return path


def read_manifest(root: str | os.PathLike) -> dict:
    """The manifest in `root`, checked for shape and fingerprint; DataError if it is missing,
    damaged or edited."""
    path = Path(root) / MANIFEST_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path} is missing: the results were not made by this version of "
                        f"`make report`; {_REMAKE}") from None
    except (OSError, UnicodeError) as err:
        raise DataError(f"{path}: cannot be read ({err}); {_REMAKE}") from None
    try:
        m = json.loads(text)
    except ValueError as err:
        raise DataError(f"{path}, line {getattr(err, 'lineno', '?')}: not valid JSON; "
                        f"{_REMAKE}") from None
    problem = _shape_problem(m)
    if problem:
        raise DataError(f"{path}: {problem}; {_REMAKE}")
    if fingerprint(m) != m["fingerprint"]:
        raise DataError(f"{path}: its fingerprint does not match its contents (edited by hand "
                        f"or damaged); {_REMAKE}")
    return m


def _shape_problem(m) -> str:
    if not isinstance(m, dict) or m.get("format") != FORMAT:
        return f"not a format-{FORMAT} deliverables manifest"
    if not isinstance(m.get("quick"), bool):
        return "'quick' must be true or false"
    if not isinstance(m.get("fingerprint"), str) or not _HEX12.fullmatch(m["fingerprint"]):
        return "'fingerprint' must be 12 hex digits"
    rows = m.get("test_rows")
    if not isinstance(rows, int) or isinstance(rows, bool) or rows < 1:
        return "'test_rows' must be a positive integer"
    if not isinstance(m.get("data"), dict):
        return "'data' must be the data's provenance record"
    files = m.get("files")
    if not isinstance(files, dict) or not all(
            isinstance(v, str) and _HEX64.fullmatch(v) for v in files.values()):
        return "'files' must map file names to SHA-256 checksums"
    missing = [name for name in PREDICTION_FILES if name not in files]
    if missing:
        return f"'files' does not list {', '.join(missing)}"
    return ""


def prediction_problem(path: Path, expected_rows: int) -> str:
    """'' if `path` holds exactly `expected_rows` lines of one class 0-9, else what is wrong."""
    try:
        lines = path.read_bytes().split(b"\n")
    except OSError as err:
        return f"{path.name}: cannot be read ({err.strerror or err})"
    if lines and lines[-1] == b"":
        lines.pop()
    bad = next((i for i, s in enumerate(lines, 1) if not _PREDICTION_LINE.fullmatch(s)), None)
    if bad is not None:
        return f"{path.name}, line {bad}: expected one class 0-9 per line"
    if len(lines) != expected_rows:
        return (f"{path.name} has {len(lines)} line{'s' if len(lines) != 1 else ''} but test.csv "
                f"has {expected_rows} rows: one prediction per test row is needed; {_REMAKE}")
    return ""


def check_manifest(root: str | os.PathLike, *, allow_quick: bool = False,
                   allow_built_data: bool = False,
                   data_dir: str | os.PathLike | None = None) -> list[str]:
    """Every reason the files in `root` are not one consistent, final set of results ([] if
    they are): the manifest is missing, damaged or edited; a listed file is missing or
    differs from the one the results were made with; a prediction file does not have one
    class per test row; the results are quick-mode (unless `allow_quick`); the data was built
    from Debian's package (unless `allow_built_data`). When `data_dir` (default `root/data`)
    holds a test.csv, the predictions must also be for that file.
    """
    root = Path(root)
    try:
        m = read_manifest(root)
    except DataError as err:
        return [str(err)]
    out = []
    for name, digest in m["files"].items():
        path = root / name
        if not path.is_file():
            out.append(f"{name} is missing (deliverables.json lists it); {_REMAKE}")
        elif _sha256(path) != digest:
            out.append(f"{name} differs from the one the results were made with (deliverables"
                       f".json): report.pdf and the other files belong to other results; "
                       f"{_REMAKE}")
        elif name in PREDICTION_FILES:
            problem = prediction_problem(path, m["test_rows"])
            if problem:
                out.append(problem)
    if m["quick"] and not allow_quick:
        out.append("the results are quick-mode (FMNIST_QUICK=1: small subsets, few epochs), "
                   f"not real ones; {_REMAKE}")
    source = m["data"].get("source")
    if source in ("built", "mixed") and not allow_built_data:
        what = m["data"].get("description") or "the data was built from Debian's package"
        out.append(f"{what} Copy the course's train.csv and test.csv into data/ and run `make "
                   "report` again (or pass --allow-built-data if you know better)")
    data_dir = Path(data_dir) if data_dir is not None else root / "data"
    out += _current_data_problems(m, data_dir)
    return out


def _current_data_problems(m: dict, data_dir: Path) -> list[str]:
    test_path = data_dir / "test.csv"
    if not os.path.lexists(test_path):
        return []
    from fmnist.data import load_test
    from fmnist.provenance import file_checksum

    try:
        rows = len(load_test(test_path))  # cached: milliseconds
        digest = file_checksum(test_path)
    except DataError as err:
        return [str(err)]
    if rows != m["test_rows"]:
        return [f"{test_path} has {rows} rows but the predictions are for a test.csv of "
                f"{m['test_rows']} rows; {_REMAKE}"]
    made_for = m["data"].get("test_sha256")
    if made_for and made_for != digest:
        return [f"{test_path} has changed since the predictions were made (its checksum differs "
                f"from the one in deliverables.json); {_REMAKE}"]
    return []


def check_report_text(text: str, manifest: dict) -> list[str]:
    """Problems with the text of report.pdf: no or another results fingerprint than the
    manifest's, or a quick-mode banner. Whitespace is ignored (PDF text breaks lines)."""
    flat = re.sub(r"\s+", "", text)
    label = re.sub(r"\s+", "", FINGERPRINT_LABEL)
    shown = re.findall(re.escape(label) + r"([0-9a-f]{12})", flat)
    out = []
    if not shown:
        out.append(f"report.pdf shows no '{FINGERPRINT_LABEL} ...' line, so it cannot be matched "
                   f"to the prediction files; {_REMAKE}")
    elif manifest["fingerprint"] not in shown:
        out.append(f"report.pdf shows results fingerprint {shown[0]} but deliverables.json (the "
                   f"prediction files and models) has {manifest['fingerprint']}: the PDF was "
                   f"rendered from other results; {_REMAKE}")
    if QUICK_BANNER in flat:
        out.append(f"report.pdf carries the {QUICK_BANNER} banner (a quick draft); {_REMAKE}")
    return out
