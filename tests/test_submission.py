"""`make submission` (tools/submission.py) and the hand-in manifest written after the render
(tools/deliverables.py): every refusal, what the zip holds, and the zip used as a grader would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import make_images, write_test_csv, write_train_csv

from fmnist.models import MLP, LogisticRegression
from tests.synth import toy_data, write_data_dir
from tools import deliverables, submission
from tools.datadir import write_pair
from tools.deliverables import check_manifest, fingerprint, make_manifest, write_manifest
from tools.qmdrender.convert import qmd_to_ipynb

ROOT = Path(__file__).resolve().parents[1]
TEST_ROWS = 12
QMD = '---\ntitle: "T"\n---\n\nText.\n\n```{python}\n#| label: one\nx = 1\n```\n'


def _authors_yaml(*authors) -> str:
    return "author:\n" + "".join(f"  - name: {json.dumps(n, ensure_ascii=False)}\n    id: "
                                 f"\"{i}\"\n" for n, i in authors)


def _claims(root: Path, claims=(), complete=True, quick=False) -> None:
    (root / "report.claims.json").write_text(json.dumps(
        {"document": "report.qmd", "complete": complete, "quick": quick,
         "claims": [{"line": line, "words": words, "holds": holds}
                    for line, words, holds in claims]}))


def _later(*paths: Path, seconds: float = 5) -> None:
    """Make `paths` newer than the sources (as a render that ran after the edits)."""
    for path in paths:
        os.utime(path, (time.time() + seconds,) * 2)


def _render(root: Path, quick=False) -> dict:
    """What `make report` ends with: report.pdf and the claims (newer than the sources), then
    the manifest written after the render. Returns the manifest."""
    (root / "report.pdf").write_bytes(b"%PDF-1.4 the report " + os.urandom(8))
    _claims(root, [(10, "accuracy is above 80%", True)], quick=quick)
    _later(root / "report.pdf", root / "report.claims.json")
    manifest = make_manifest(root)
    write_manifest(root, manifest)
    return manifest


def _project(root: Path, *, quick=False, built=False,
             authors=(("Ada Lovelace", "314159265"),)) -> dict:
    """A complete, consistent project that `make submission` accepts; returns its manifest."""
    (root / "_quarto.yml").write_text(_authors_yaml(*authors), encoding="utf-8")
    (root / "report.qmd").write_text(QMD)
    (root / "README.md").write_text("run it\n")
    (root / "references.bib").write_text("@book{x}\n")
    (root / "tools").mkdir()
    (root / "tools" / "__init__.py").write_text("\n")
    (root / "tools" / "claims.py").write_text("N = 1\n")
    (root / "tools" / "notes.py").write_text("N = 1\n")  # tooling the report does not need
    (root / "tests").mkdir()
    (root / "tests" / "test_gradcheck.py").write_text("N = 1\n")
    (root / "tests" / "test_data.py").write_text("N = 1\n")  # tests a grader does not need
    (root / "fmnist").mkdir(parents=True)
    (root / "fmnist" / "__init__.py").write_text("\n")
    (root / "fmnist" / "data.py").write_text("N = 1\n")
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
        if quick:
            (root / f"{f}.quick").write_text("")
    (root / "models").mkdir()
    for f in ("logreg.npz", "nn.npz"):
        (root / "models" / f).write_bytes(f.encode() * 10)
    return _render(root, quick=quick)


def _problems(root, **kw) -> str:
    return "\n".join(submission.problems(root, **kw))


def run_tool(root: Path, *args: str, module="tools.submission"):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LC_ALL": "C"}
    return subprocess.run([sys.executable, "-m", module, "--root", str(root), *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)


def _zip_names(root: Path, name="314159265.zip") -> set[str]:
    with zipfile.ZipFile(root / name) as zf:
        return set(zf.namelist())


# ---------------------------------------------------------------- the good case


def test_a_complete_project_is_packed_with_what_a_grader_needs_and_only_that(tmp_path):
    _project(tmp_path)
    assert submission.problems(tmp_path) == []
    assert submission.main(["--root", str(tmp_path)]) == 0
    assert _zip_names(tmp_path) == {
        "report.pdf", "report.qmd", "report.ipynb", "lr_pred.csv", "NN_pred.csv", "README.md",
        "_quarto.yml", "references.bib", "models/logreg.npz", "models/nn.npz",
        "fmnist/__init__.py", "fmnist/data.py", "tools/__init__.py", "tools/claims.py",
        "tests/test_gradcheck.py"}


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


# ---------------------------------------------------------------- issue 20.2: only what is named


def test_strays_notes_secrets_caches_and_data_are_never_packed(tmp_path):
    _project(tmp_path)
    strays = {"fmnist/scratch.csv": "1,2\n", "fmnist/NOTES.md": "todo\n", "fmnist/.env":
              "TOKEN=secret\n", "fmnist/__pycache__/data.cpython-311.pyc": "x",
              "fmnist/.cache/x.npy": "x", ".env": "TOKEN=secret\n", "notes.txt": "x\n",
              "big.csv": "1\n" * 100, "tools/qmdrender/__init__.py": "\n"}
    for name, text in strays.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "secret.txt").write_text("TOKEN=secret\n")
    os.symlink(tmp_path / "secret.txt", tmp_path / "fmnist" / "secret.py")
    strays["fmnist/secret.py"] = ""
    assert submission.main(["--root", str(tmp_path)]) == 0
    names = _zip_names(tmp_path)
    assert not names & set(strays)
    assert not any(n.startswith(("data/", ".cache")) for n in names)
    assert {n for n in names if n.startswith("tools/")} == {"tools/__init__.py", "tools/claims.py"}
    assert {Path(n).suffix for n in names if n.startswith("fmnist/")} == {".py"}


def test_in_a_git_work_tree_only_tracked_code_is_packed(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    _project(tmp_path)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "add", "fmnist/__init__.py", "fmnist/data.py"],
                   check=True)
    (tmp_path / "fmnist" / "helpers.py").write_text("print('untracked')\n")
    (tmp_path / "fmnist" / "scratch.txt").write_text("notes\n")
    _render(tmp_path)  # the new files are newer than the old render; render again
    assert "fmnist/helpers.py is not tracked by git" in _problems(tmp_path)
    (tmp_path / ".gitignore").write_text("fmnist/helpers.py\n")  # a file the student ignores
    assert submission.main(["--root", str(tmp_path)]) == 0
    names = _zip_names(tmp_path)
    assert {n for n in names if n.startswith("fmnist/")} == {"fmnist/__init__.py",
                                                             "fmnist/data.py"}


# ---------------------------------------------------------------- issue 20.1: the notebook


def test_the_report_is_packed_as_a_notebook_and_the_students_file_is_not_written(tmp_path):
    """The course takes code as .py or .ipynb only: report.qmd goes into the zip as a notebook
    too, cells and `#|` options kept, without writing report.ipynb in the project."""
    _project(tmp_path)
    assert submission.main(["--root", str(tmp_path)]) == 0
    with zipfile.ZipFile(tmp_path / "314159265.zip") as zf:
        nb = json.loads(zf.read("report.ipynb"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert "".join(code[0]["source"]) == "#| label: one\nx = 1"
    assert not (tmp_path / "report.ipynb").exists()


def test_a_notebook_with_the_same_content_is_fine(tmp_path):
    _project(tmp_path)
    (tmp_path / "report.ipynb").write_text(qmd_to_ipynb(QMD))
    _later(tmp_path / "report.ipynb", seconds=60)
    assert submission.problems(tmp_path) == []


def _edited_notebook(root: Path) -> str:
    nb = json.loads(qmd_to_ipynb(QMD))
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": ["My new finding."]})
    text = json.dumps(nb)
    (root / "report.ipynb").write_text(text)
    return text


def test_a_newer_notebook_with_edits_is_refused_and_kept(tmp_path):
    _project(tmp_path)
    text = _edited_notebook(tmp_path)
    _later(tmp_path / "report.ipynb", seconds=60)
    proc = run_tool(tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "report.ipynb is newer than report.qmd" in proc.stderr and "--to qmd" in proc.stderr
    assert (tmp_path / "report.ipynb").read_text() == text
    assert not list(tmp_path.glob("*.zip"))


def test_an_older_notebook_that_differs_is_refused_and_kept(tmp_path):
    _project(tmp_path)
    text = _edited_notebook(tmp_path)
    os.utime(tmp_path / "report.ipynb", (1, 1))
    assert "report.ipynb differs from report.qmd" in _problems(tmp_path)
    assert (tmp_path / "report.ipynb").read_text() == text


def test_a_damaged_notebook_is_one_line_and_kept(tmp_path):
    _project(tmp_path)
    (tmp_path / "report.ipynb").write_text("{ not a notebook")
    assert "report.ipynb cannot be read as a notebook" in _problems(tmp_path)
    assert (tmp_path / "report.ipynb").read_text() == "{ not a notebook"


# ---------------------------------------------------------------- the claims of the report


def test_a_claim_that_does_not_hold_is_refused_one_line_each(tmp_path):
    _project(tmp_path)
    _claims(tmp_path, [(212, "L2 up to 1e-3 changes nothing", False),
                       (230, "accuracy is above 80%", True),
                       (301, "dropout helps", False)])
    _later(tmp_path / "report.claims.json")
    proc = run_tool(tmp_path)
    assert proc.returncode == 2
    failed = [ln for ln in proc.stderr.splitlines() if "does not hold" in ln]
    assert len(failed) == 2
    assert "report.qmd, line 212" in failed[0] and "L2 up to 1e-3 changes nothing" in failed[0]
    assert "report.qmd, line 301" in failed[1] and "dropout helps" in failed[1]


@pytest.mark.parametrize("case, words", [
    ("missing", "report.claims.json is missing"),
    ("incomplete", "report.claims.json is incomplete"),
    ("quick", "quick-mode render"),
    ("older than the render", "report.claims.json is older than report.qmd"),
    ("not json", "cannot be read as JSON"),
])
def test_claims_that_cannot_vouch_for_the_report_are_refused(tmp_path, case, words):
    _project(tmp_path)
    path = tmp_path / "report.claims.json"
    if case == "missing":
        path.unlink()
    elif case == "incomplete":
        _claims(tmp_path, complete=False)
    elif case == "quick":
        _claims(tmp_path, quick=True)
    elif case == "older than the render":
        os.utime(path, (1, 1))
    else:
        path.write_text("{")
    if path.exists() and case != "older than the render":
        _later(path)
    assert words in _problems(tmp_path)


# ---------------------------------------------------------------- quick mode


def test_a_quick_run_is_refused(tmp_path):
    m = _project(tmp_path, quick=True)
    assert m["quick"] is True
    found = _problems(tmp_path)
    assert "the results are quick-mode" in found and "lr_pred.csv is a quick-mode output" in found
    proc = run_tool(tmp_path)
    assert proc.returncode == 2 and "quick-mode" in proc.stderr and "Traceback" not in proc.stderr
    assert not list(tmp_path.glob("*.zip"))


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


# ---------------------------------------------------------------- row counts and test.csv


def test_a_short_prediction_file_is_refused(tmp_path):
    _project(tmp_path)
    (tmp_path / "NN_pred.csv").write_text("1\n2\n3\n4\n5\n")
    _render(tmp_path)  # even a manifest made for it does not help
    assert "NN_pred.csv has 5 lines but test.csv has 12 rows" in _problems(tmp_path)


def test_predictions_for_another_test_csv_are_refused(tmp_path):
    _project(tmp_path)
    write_test_csv(tmp_path / "data" / "test.csv", make_images(2, seed=11)[0])  # 20 rows now
    assert "has 20 rows but the predictions are for a test.csv of 12 rows" in _problems(tmp_path)


def test_a_changed_test_csv_of_the_same_length_is_refused(tmp_path):
    _project(tmp_path)
    X = make_images(1, seed=12)[0]
    write_test_csv(tmp_path / "data" / "test.csv", np.concatenate([X, X[:2]]))
    assert "holds other images than the one the predictions were made for" in _problems(tmp_path)


def test_the_same_test_images_spelled_differently_are_fine(tmp_path):
    _project(tmp_path)
    path = tmp_path / "data" / "test.csv"
    lines = path.read_text().splitlines()
    path.write_bytes(("pixel" + ",pixel".join(map(str, range(1, 785))) + "\r\n"
                      + "\r\n".join(lines) + "\r\n").encode())
    assert check_manifest(tmp_path) == []


# ---------------------------------------------------------------- built data


def test_predictions_from_built_data_are_refused_unless_allowed(tmp_path):
    _project(tmp_path, built=True)
    found = _problems(tmp_path)
    assert "built by this project" in found and "Copy the course's train.csv and test.csv" in found
    assert "--allow-built-data" in found
    assert run_tool(tmp_path).returncode == 2
    proc = run_tool(tmp_path, "--allow-built-data")
    assert proc.returncode == 0, proc.stderr


# ---------------------------------------------------------------- one set of results


@pytest.mark.parametrize("name", ["lr_pred.csv", "models/nn.npz", "report.pdf"])
def test_a_file_from_other_results_is_named(tmp_path, name):
    _project(tmp_path)
    path = tmp_path / name
    path.write_bytes(path.read_bytes() + b"0\n")
    _later(path)
    assert f"{name} differs from the one recorded after the render" in _problems(tmp_path)


def test_check_manifest_is_empty_for_consistent_results(tmp_path):
    _project(tmp_path)
    assert check_manifest(tmp_path) == []
    m = json.loads((tmp_path / "deliverables.json").read_text())
    assert set(m["files"]) == {"report.pdf", "lr_pred.csv", "NN_pred.csv", "models/logreg.npz",
                               "models/nn.npz", "report.claims.json"}
    assert m["fingerprint"] == fingerprint(m) and m["quick"] is False
    assert m["data"]["source"] == "supplied" and m["test_rows"] == TEST_ROWS


def test_the_manifest_tool_writes_after_the_render_and_refuses_without_outputs(tmp_path):
    _project(tmp_path)
    (tmp_path / "deliverables.json").unlink()
    proc = run_tool(tmp_path, module="tools.deliverables")
    assert proc.returncode == 0, proc.stderr
    assert deliverables.read_manifest(tmp_path)["files"]["report.pdf"]
    (tmp_path / "report.pdf").unlink()
    (tmp_path / "deliverables.json").unlink()
    proc = run_tool(tmp_path, module="tools.deliverables")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "report.pdf is missing" in proc.stderr
    assert not (tmp_path / "deliverables.json").exists()


# ---------------------------------------------------------------- authors and IDs


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
    (tmp_path / "models" / "nn.npz").unlink()
    (tmp_path / "lr_pred.csv.quick").write_text("")
    os.utime(tmp_path / "report.pdf", (1, 1))
    found = _problems(tmp_path)
    assert "NN_pred.csv is missing" in found and "models/nn.npz is missing" in found
    assert "lr_pred.csv is a quick-mode output" in found
    assert "report.pdf is older than" in found


# ---------------------------------------------------------------- the zip, used as a grader would


def test_the_unzipped_hand_in_remakes_both_prediction_files_byte_for_byte(tmp_path):
    """Issue 20.2: unzip into an empty folder, put the course's CSVs in its data/, run
    `python -m fmnist experiments --from-models` with nothing of the project importable."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copytree(ROOT / "fmnist", project / "fmnist",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("_quarto.yml", "README.md", "references.bib"):
        shutil.copy(ROOT / name, project / name)
    (project / "_quarto.yml").write_text((project / "_quarto.yml").read_text()
                                         + _authors_yaml(("Ada Lovelace", "314159265")))
    (project / "report.qmd").write_text(QMD)
    write_data_dir(project / "data", n_train=300, n_test=37, seed=5)
    X, y = toy_data(200, seed=5)
    LogisticRegression(epochs=2).fit(X, y).save(project / "models" / "logreg.npz")
    MLP(hidden=8, epochs=2).fit(X, y).save(project / "models" / "nn.npz")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "FMNIST_DATA_DIR")}
    remake = [sys.executable, "-m", "fmnist", "experiments", "--from-models"]
    proc = subprocess.run(remake, cwd=project, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    _render(project)
    target = submission.pack(project)
    assert target.stat().st_size < 2_000_000

    grader = tmp_path / "grader"
    with zipfile.ZipFile(target) as zf:
        zf.extractall(grader)
    assert not (grader / "data").exists() and not (grader / "tools").exists()
    (grader / "data").mkdir()
    for name in ("train.csv", "test.csv"):
        shutil.copy(project / "data" / name, grader / "data" / name)
    packed = {name: (grader / name).read_bytes() for name in ("lr_pred.csv", "NN_pred.csv")}
    for name in packed:
        (grader / name).unlink()
    proc = subprocess.run(remake, cwd=grader, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    for name, content in packed.items():
        assert (grader / name).read_bytes() == content
        assert content.count(b"\n") == 37
