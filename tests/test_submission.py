"""tools/submission.py and the deliverables manifest it checks (fmnist/deliverables.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import make_images, write_test_csv, write_train_csv

from fmnist import deliverables
from fmnist.datadir import write_pair
from fmnist.deliverables import check_manifest, fingerprint, make_manifest, write_manifest
from fmnist.provenance import data_provenance
from tools import submission

ROOT = Path(__file__).resolve().parents[1]
TEST_ROWS = 12


def tiny_pdf(*lines: str) -> bytes:
    """A one-page PDF whose text (Helvetica) is `lines`: enough for pypdf to extract."""
    def esc(s):
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    content = "BT /F1 11 Tf 72 740 Td 14 TL " + " ".join(f"({esc(s)}) '" for s in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for i, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{obj}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n"
            "%%EOF\n").encode()
    return out


def _authors_yaml(*authors) -> str:
    return "author:\n" + "".join(f"  - name: {json.dumps(n, ensure_ascii=False)}\n    id: "
                                 f"\"{i}\"\n" for n, i in authors)


def _project(root: Path, *, quick=False, built=False, pdf_lines=None,
             authors=(("Ada Lovelace", "314159265"),)) -> dict:
    """A complete, consistent project that `make submission` accepts; returns its manifest."""
    (root / "_quarto.yml").write_text(_authors_yaml(*authors), encoding="utf-8")
    for f in ("report.qmd", "README.md"):
        (root / f).write_text("x\n")
    for d in ("fmnist", "tools/qmdrender"):
        (root / d).mkdir(parents=True)
        (root / d / "__init__.py").write_text("\n")
    (root / "tools" / "__init__.py").write_text("\n")
    data = root / "data"
    data.mkdir()
    X, y = make_images(2)
    X_test = make_images(1, seed=5)[0]
    X_test = np.concatenate([X_test, X_test[:2] ^ 1])  # 12 rows, none in train.csv
    if built:
        write_pair(data, np.column_stack([y, X]).astype(np.uint8), X_test,
                   {"source": "built", "seed": 0, "idx_dir": "/usr/share/datasets/fashion-mnist",
                    "train_rows": len(y), "test_rows": len(X_test)})
    else:
        write_train_csv(data / "train.csv", X, y)
        write_test_csv(data / "test.csv", X_test)
    for f in ("lr_pred.csv", "NN_pred.csv"):
        (root / f).write_text("".join(f"{i % 10}\n" for i in range(TEST_ROWS)))
    (root / "models").mkdir()
    for f in ("logreg.npz", "nn.npz"):
        (root / "models" / f).write_bytes(f.encode() * 10)
    manifest = make_manifest(root, quick, data_provenance(data), TEST_ROWS)
    write_manifest(root, manifest)
    lines = pdf_lines or ["Fashion-MNIST report", deliverables.fingerprint_line(manifest)]
    (root / "report.pdf").write_bytes(tiny_pdf(*lines))
    later = time.time() + 5
    os.utime(root / "report.pdf", (later, later))
    return manifest


def _problems(root, **kw) -> str:
    return "\n".join(submission.problems(root, **kw))


def run_tool(root: Path, *args: str):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LC_ALL": "C"}
    return subprocess.run([sys.executable, "-m", "tools.submission", "--root", str(root), *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)


# ---------------------------------------------------------------- the good case


def test_a_complete_project_is_packed(tmp_path):
    _project(tmp_path)
    assert submission.problems(tmp_path) == []
    assert submission.main(["--root", str(tmp_path)]) == 0
    with zipfile.ZipFile(tmp_path / "314159265.zip") as zf:
        names = set(zf.namelist())
    assert {"report.pdf", "report.qmd", "_quarto.yml", "README.md", "lr_pred.csv", "NN_pred.csv",
            "deliverables.json", "fmnist/__init__.py", "tools/qmdrender/__init__.py",
            "report.ipynb"} <= names
    assert not any(n.startswith("data/") for n in names)


def test_submission_packs_id_zip_for_a_pair(tmp_path):
    _project(tmp_path, authors=(("Ada Lovelace", "314159265"), ("Alan Turing", "271828182")))
    assert submission.main(["--root", str(tmp_path)]) == 0
    assert (tmp_path / "314159265_271828182.zip").is_file()


def test_a_non_ascii_name_end_to_end(tmp_path):
    name = 'José "Pepe" García'
    _project(tmp_path, authors=((name, "123456789"),))
    yml = (tmp_path / "_quarto.yml").read_bytes()
    proc = run_tool(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "123456789.zip" in proc.stdout
    with zipfile.ZipFile(tmp_path / "123456789.zip") as zf:
        assert zf.read("_quarto.yml") == yml
    import yaml
    assert yaml.safe_load(yml)["author"][0]["name"] == name


# ---------------------------------------------------------------- item 1: quick mode


def test_a_quick_manifest_is_refused(tmp_path):
    m = _project(tmp_path, quick=True)
    assert m["quick"] is True
    assert "the results are quick-mode" in _problems(tmp_path)
    proc = run_tool(tmp_path)
    assert proc.returncode == 2 and "quick-mode" in proc.stderr and "Traceback" not in proc.stderr
    assert not list(tmp_path.glob("*.zip"))


def test_a_pdf_with_the_quick_banner_is_refused(tmp_path):
    _project(tmp_path)
    m = json.loads((tmp_path / "deliverables.json").read_text())
    (tmp_path / "report.pdf").write_bytes(tiny_pdf("QUICK-MODE draft: not real results",
                                                   deliverables.fingerprint_line(m)))
    os.utime(tmp_path / "report.pdf", (time.time() + 5,) * 2)
    assert "carries the QUICK-MODE banner" in _problems(tmp_path)


def test_a_pdf_without_a_fingerprint_is_refused(tmp_path):
    _project(tmp_path, pdf_lines=["an old report"])
    assert "report.pdf shows no 'Results fingerprint: ...' line" in _problems(tmp_path)


def test_a_missing_or_edited_manifest_is_refused(tmp_path):
    _project(tmp_path)
    path = tmp_path / "deliverables.json"
    m = json.loads(path.read_text())
    m["quick"] = False
    m["test_rows"] = 5
    path.write_text(json.dumps(m))
    assert "does not match its contents" in _problems(tmp_path)
    path.write_text("{not json")
    assert "deliverables.json, line 1: not valid JSON" in _problems(tmp_path)
    path.unlink()
    assert "deliverables.json is missing" in _problems(tmp_path)


def test_a_damaged_pdf_is_one_message(tmp_path):
    _project(tmp_path)
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.7\ngarbage")
    os.utime(tmp_path / "report.pdf", (time.time() + 5,) * 2)
    proc = run_tool(tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "report.pdf" in proc.stderr


# ---------------------------------------------------------------- item 2: row counts


def test_a_short_prediction_file_is_refused(tmp_path):
    _project(tmp_path)
    (tmp_path / "NN_pred.csv").write_text("1\n2\n3\n4\n5\n")
    m = make_manifest(tmp_path, False, data_provenance(tmp_path / "data"), TEST_ROWS)
    write_manifest(tmp_path, m)  # even a manifest made for it does not help
    (tmp_path / "report.pdf").write_bytes(tiny_pdf(deliverables.fingerprint_line(m)))
    os.utime(tmp_path / "report.pdf", (time.time() + 5,) * 2)
    assert "NN_pred.csv has 5 lines but test.csv has 12 rows" in _problems(tmp_path)


def test_predictions_for_another_test_csv_are_refused(tmp_path):
    _project(tmp_path)
    write_test_csv(tmp_path / "data" / "test.csv", make_images(2, seed=11)[0])  # 20 rows now
    assert "has 20 rows but the predictions are for a test.csv of 12 rows" in _problems(tmp_path)


def test_a_changed_test_csv_of_the_same_length_is_refused(tmp_path):
    _project(tmp_path)
    X = make_images(1, seed=12)[0]
    write_test_csv(tmp_path / "data" / "test.csv", np.concatenate([X, X[:2]]))
    assert "has changed since the predictions were made" in _problems(tmp_path)


# ---------------------------------------------------------------- item 3: built data


def test_predictions_from_built_data_are_refused_unless_allowed(tmp_path):
    _project(tmp_path, built=True)
    found = _problems(tmp_path)
    assert "built by this project" in found and "Copy the course's train.csv and test.csv" in found
    assert "--allow-built-data" in found
    assert run_tool(tmp_path).returncode == 2
    proc = run_tool(tmp_path, "--allow-built-data")
    assert proc.returncode == 0, proc.stderr


# ---------------------------------------------------------------- item 4: one set of results


@pytest.mark.parametrize("name", ["lr_pred.csv", "models/nn.npz"])
def test_a_file_from_other_results_is_named(tmp_path, name):
    _project(tmp_path)
    path = tmp_path / name
    path.write_bytes(path.read_bytes() + b"0\n")
    assert f"{name} differs from the one the results were made with" in _problems(tmp_path)


def test_a_pdf_of_other_results_is_refused(tmp_path):
    m = _project(tmp_path)
    other = dict(m, test_rows=13)
    other["fingerprint"] = fingerprint(other)
    (tmp_path / "report.pdf").write_bytes(tiny_pdf(deliverables.fingerprint_line(other)))
    os.utime(tmp_path / "report.pdf", (time.time() + 5,) * 2)
    assert (f"report.pdf shows results fingerprint {other['fingerprint']} but deliverables.json"
            in _problems(tmp_path))


def test_check_manifest_is_empty_for_consistent_results(tmp_path):
    _project(tmp_path)
    assert check_manifest(tmp_path) == []


# ---------------------------------------------------------------- item 5: authors and IDs


@pytest.mark.parametrize("sid, words", [
    ("1", "not a student ID (5 to 10 digits)"),
    ("1234", "not a student ID"),
    ("12345678901", "not a student ID"),
    ("00000000", "is a placeholder"),
    ("12a45678", "not a student ID"),
    ("١٢٣٤٥٦٧", "not a student ID"),
])
def test_ids_must_be_5_to_10_digits(tmp_path, sid, words):
    _project(tmp_path)
    (tmp_path / "_quarto.yml").write_text(_authors_yaml(("Ada", sid)), encoding="utf-8")
    assert words in _problems(tmp_path)


def test_submission_refuses_placeholder_name_and_id(tmp_path, capsys):
    _project(tmp_path, authors=(("YOUR NAME", "000000000"),))
    assert submission.main(["--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "'YOUR NAME' is a placeholder" in err and "'000000000' is a placeholder" in err
    assert not list(tmp_path.glob("*.zip"))


def test_an_unquoted_id_and_three_authors_are_refused(tmp_path):
    _project(tmp_path)
    (tmp_path / "_quarto.yml").write_text("author:\n  - name: Ada\n    id: 012345670\n")
    assert "is not in quotes" in _problems(tmp_path)
    (tmp_path / "_quarto.yml").write_text(_authors_yaml(("A", "11111"), ("B", "22222"),
                                                        ("C", "33333")))
    assert "names 3 authors" in _problems(tmp_path)


def test_bad_yaml_names_file_and_line(tmp_path):
    _project(tmp_path)
    (tmp_path / "_quarto.yml").write_text("author:\n  - name: Ada\n    id: \"12345\n  x: [\n")
    proc = run_tool(tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "_quarto.yml, line" in proc.stderr and "not valid YAML" in proc.stderr


def test_submission_refuses_missing_stale_and_quick_files(tmp_path):
    _project(tmp_path)
    (tmp_path / "NN_pred.csv").unlink()
    (tmp_path / "lr_pred.csv.quick").write_text("")
    os.utime(tmp_path / "report.pdf", (1, 1))
    found = _problems(tmp_path)
    assert "NN_pred.csv is missing" in found
    assert "lr_pred.csv is a quick-mode output" in found
    assert "report.pdf is older than" in found


def test_the_report_is_packed_as_a_notebook_too(tmp_path):
    """The course takes code as .py or .ipynb only: pack converts report.qmd to report.ipynb,
    cells and `#|` options kept, and packs it."""
    _project(tmp_path)
    (tmp_path / "report.qmd").write_text('---\ntitle: "T"\n---\n\nText.\n\n```{python}\n'
                                         '#| label: one\nx = 1\n```\n')
    assert submission.main(["--root", str(tmp_path)]) == 0
    with zipfile.ZipFile(tmp_path / "314159265.zip") as zf:
        nb = json.loads(zf.read("report.ipynb"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert "".join(code[0]["source"]) == "#| label: one\nx = 1"
