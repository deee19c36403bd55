"""The hand-in manifest `deliverables.json`, written AFTER the render by
`python -m tools.deliverables` (`make report`'s last step): which report.pdf, prediction files
and models belong together, the data they were made from, and whether the run was quick.
`make submission` (tools/submission.py) refuses a hand-in that no longer matches it.

    {"format": 2, "quick": false, "test_rows": 14000,
     "data": {... tools.provenance.data_provenance(data_dir) ...},
     "files": {"report.pdf": "<sha256>", "lr_pred.csv": "<sha256>", "NN_pred.csv": "<sha256>",
               "models/logreg.npz": "<sha256>", "models/nn.npz": "<sha256>",
               "report.claims.json": "<sha256>"},
     "fingerprint": "<12 hex>"}

`fingerprint` is the first 12 hex digits of the SHA-256 of the canonical JSON of everything
else, so a hand-edited manifest is noticed. The run is quick when any prediction file or model
carries a `.quick` marker (FMNIST_QUICK=1) or the claims file says so.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from pathlib import Path

from fmnist.data import DataError, array_sha256, atomic_write, default_data_dir, load_test
from tools import oneline
from tools.provenance import data_provenance, sha256_file

MANIFEST_NAME = "deliverables.json"
CLAIMS_NAME = "report.claims.json"
FORMAT = 2
PREDICTION_FILES = ("lr_pred.csv", "NN_pred.csv")
MODEL_FILES = ("models/logreg.npz", "models/nn.npz")
FILES = ("report.pdf", *PREDICTION_FILES, *MODEL_FILES)
_HEX12 = re.compile(r"[0-9a-f]{12}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_PREDICTION_LINE = re.compile(rb"[0-9]")
_REMAKE = "run `make report` (without FMNIST_QUICK) to make them together again"


def fingerprint(manifest: dict) -> str:
    """First 12 hex digits of the SHA-256 of the canonical JSON of all but 'fingerprint'."""
    body = {k: v for k, v in manifest.items() if k != "fingerprint"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def is_quick(root: str | os.PathLike) -> bool:
    """Whether the outputs in `root` are quick-mode ones (a `.quick` marker beside any of
    them, or the claims file's "quick")."""
    root = Path(root)
    if any((root / f"{name}.quick").exists() for name in (*PREDICTION_FILES, *MODEL_FILES)):
        return True
    try:
        return json.loads((root / CLAIMS_NAME).read_text(encoding="utf-8")).get("quick") is True
    except (OSError, ValueError, AttributeError):
        return False


def make_manifest(root: str | os.PathLike, data_dir: str | os.PathLike | None = None) -> dict:
    """The manifest of the files in `root` as they are now (all of FILES must exist; the
    claims file is recorded when there is one)."""
    root = Path(root)
    data_dir = Path(data_dir) if data_dir is not None else root / default_data_dir()
    names = [*FILES, *([CLAIMS_NAME] if (root / CLAIMS_NAME).is_file() else [])]
    missing = [name for name in FILES if not (root / name).is_file()]
    if missing:
        raise DataError(f"{root / missing[0]} is missing, so the hand-in manifest cannot be "
                        "written; run `make report` first")
    data = data_provenance(data_dir)
    manifest = {"format": FORMAT, "quick": is_quick(root), "test_rows": data["test_rows"],
                "data": data, "files": {name: sha256_file(root / name) for name in names}}
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
        m = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path} is missing: it is written after the render; {_REMAKE}"
                        ) from None
    except (OSError, UnicodeError) as err:
        raise DataError(f"{path}: cannot be read ({err}); {_REMAKE}") from None
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
    missing = [name for name in FILES if name not in files]
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
    they are): the manifest is missing, damaged or edited; a listed file (report.pdf, the
    predictions, the models, the claims) is missing or differs from the one recorded after the
    render; a prediction file does not have one class per test row; the results are quick-mode
    (unless `allow_quick`); the data was built from Debian's package (unless
    `allow_built_data`). When `data_dir` (default `root/data`, or FMNIST_DATA_DIR) holds a
    test.csv, the predictions must be for that file's images.
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
        elif sha256_file(path) != digest:
            out.append(f"{name} differs from the one recorded after the render (deliverables."
                       f"json): report.pdf and the other files belong to other results; "
                       f"{_REMAKE}")
        elif name in PREDICTION_FILES:
            problem = prediction_problem(path, m["test_rows"])
            if problem:
                out.append(problem)
    if m["quick"] and not allow_quick:
        out.append("the results are quick-mode (FMNIST_QUICK=1: small subsets, few epochs), "
                   f"not real ones; {_REMAKE}")
    if m["data"].get("source") in ("built", "mixed") and not allow_built_data:
        what = m["data"].get("description") or "the data was built from Debian's package."
        out.append(f"{what} Copy the course's train.csv and test.csv into data/ and run `make "
                   "report` again (or pass --allow-built-data if you know better)")
    data_dir = Path(data_dir) if data_dir is not None else root / default_data_dir()
    out += _current_data_problems(m, data_dir)
    return out


def _current_data_problems(m: dict, data_dir: Path) -> list[str]:
    test_path = data_dir / "test.csv"
    if not os.path.lexists(test_path):
        return []
    try:
        X_test = load_test(test_path)  # cached: milliseconds
    except DataError as err:
        return [str(err)]
    if len(X_test) != m["test_rows"]:
        return [f"{test_path} has {len(X_test)} rows but the predictions are for a test.csv of "
                f"{m['test_rows']} rows; {_REMAKE}"]
    made_for = m["data"].get("array_sha256", {}).get("test")
    if made_for and made_for != array_sha256(X_test):
        return [f"{test_path} holds other images than the one the predictions were made for "
                f"(deliverables.json); {_REMAKE}"]
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.deliverables", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=".", help="the project folder")
    parser.add_argument("--data-dir", default=None,
                        help="the data folder (default: ROOT/$FMNIST_DATA_DIR or ROOT/data)")
    args = parser.parse_args(argv)

    def write() -> int:
        print(f"wrote {write_manifest(args.root, make_manifest(args.root, args.data_dir))}")
        return 0

    return oneline.run(write, DataError, args.root)


if __name__ == "__main__":
    sys.exit(main())
