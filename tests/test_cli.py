"""`python -m fmnist` (fmnist/__main__.py): options, the `train` command, errors as one line,
exit status 2 (1 for a diverged run), quick-mode markers, `experiments --from-models` on damaged
models. In-process through `cli.main([...])`; one test starts a real process."""

import argparse

import numpy as np
import pytest
from conftest import run_cli

from fmnist import __main__ as cli
from fmnist.data import DataError
from fmnist.models import MLP, LogisticRegression, load_model
from tests.synth import toy_data, write_data_dir


@pytest.fixture
def data_dir(tmp_path):
    write_data_dir(tmp_path / "data", n_train=300, n_test=37, seed=5)
    return tmp_path / "data"


def parse(argv):
    p = argparse.ArgumentParser(formatter_class=cli._HelpFormatter)
    cli.train_arguments(p)
    return p, p.parse_args(argv)


def one_error_line(err: str) -> str:
    """The whole of stderr must be one line; returns it."""
    lines = err.splitlines()
    assert len(lines) == 1 and err.endswith("\n"), err
    assert "Traceback" not in err and "usage:" not in err
    return lines[0]


# ------------------------------------------------------------------------------- options

def test_defaults_are_the_constructor_defaults_with_the_best_epoch_kept():
    _, args = parse(["--model", "nn"])
    assert cli.build_model(args).get_params() == {**MLP().get_params(), "restore_best": True}
    _, args = parse(["--model", "logreg", "--last-epoch"])
    assert cli.build_model(args).get_params() == {**LogisticRegression().get_params(),
                                                  "restore_best": False}
    _, args = parse(["--hidden", "7", "--lr", "0.5", "--augment", "none", "--nesterov",
                     "--seed", "4", "--batch-size", "9", "--patience", "3"])
    assert cli.build_model(args).get_params() == {
        **MLP().get_params(), "hidden": 7, "lr": 0.5, "nesterov": True, "restore_best": True,
        "random_state": 4, "batch_size": 9, "patience": 3}


def test_help_shows_every_default_and_no_none():
    p, _ = parse([])
    text = " ".join(p.format_help().split())
    assert "None" not in text
    for fragment in (f"default: {MLP().hidden}", f"default: {LogisticRegression().lr} for "
                     f"logreg, {MLP().lr} for nn", "(default: 0.1)", "(default: nn)",
                     "(default: none: run every epoch)"):
        assert fragment in text, fragment
    assert text.count("(default: $FMNIST_DATA_DIR or ./data)") == 1


def test_nn_options_are_refused_for_logreg():
    _, args = parse(["--model", "logreg", "--hidden", "10"])
    with pytest.raises(DataError, match="--hidden applies to --model nn only"):
        cli.build_model(args)


@pytest.mark.parametrize("argv,match", [
    (["--seed", "-1"], "argument --seed: must be an integer >= 0, got '-1'"),
    (["--seed", "x"], "argument --seed: must be an integer >= 0, got 'x'"),
    (["--val-fraction", "0"], "argument --val-fraction: must be a number strictly between 0 "
                              "and 1, got '0'"),
    (["--val-fraction", "1.5"], "got '1.5'"),
    (["--val-fraction", "nan"], "got 'nan'"),
    (["--model", "lr"], "argument --model: invalid choice: 'lr'"),
])
def test_bad_arguments_are_one_line_and_exit_2(argv, match, capsys, data_dir):
    with pytest.raises(SystemExit) as info:
        cli.main(["train", "--data-dir", str(data_dir), *argv])
    assert info.value.code == 2
    out, err = capsys.readouterr()
    line = one_error_line(err)
    assert line.startswith("python -m fmnist train: error: ") and match in line
    assert out == ""


@pytest.mark.parametrize("argv,match", [
    (["--dropout", "1.5"], r"bad option: dropout must be in [0, 1)"),
    (["--epochs", "0"], "bad option: epochs must be a positive integer"),
    (["--patience", "0"], "bad option: patience must be None or a positive integer"),
    (["--model", "logreg", "--dropout", "0.5"], "--dropout applies to --model nn only"),
])
def test_bad_option_values_are_one_line_and_exit_2(argv, match, capsys, data_dir):
    assert cli.main(["train", "--data-dir", str(data_dir), *argv]) == 2
    out, err = capsys.readouterr()
    assert match in one_error_line(err) and out == ""


def test_the_module_entry_point_exits_2_with_one_line(tmp_path):
    """The real process: `python -m fmnist` turns main's status into the exit status."""
    proc = run_cli("train", "--seed", "-1", "--data-dir", str(tmp_path))
    assert proc.returncode == 2 and proc.stdout == ""
    assert "--seed: must be an integer >= 0" in one_error_line(proc.stderr)


# ------------------------------------------------------------------------------- train

def test_train_writes_predictions_and_the_model(tmp_path, data_dir, capsys):
    out, model_file = tmp_path / "pred.csv", tmp_path / "models" / "m.npz"
    rc = cli.main(["train", "--model", "nn", "--hidden", "16", "--epochs", "2",
                   "--data-dir", str(data_dir), "--out", str(out), "--save", str(model_file)])
    assert rc == 0
    stdout = capsys.readouterr().out
    assert sum(ln.startswith("epoch ") for ln in stdout.splitlines()) == 2
    assert "training on 270 examples, validating on 30" in stdout
    assert "validation accuracy" in stdout and "best (" in stdout
    pred = np.loadtxt(out, dtype=np.int64)
    assert pred.shape == (37,) and pred.dtype == np.int64
    X_test = np.loadtxt(data_dir / "test.csv", delimiter=",", dtype=np.int64)
    np.testing.assert_array_equal(load_model(model_file).predict(X_test), pred)
    assert not (tmp_path / "pred.csv.quick").exists()
    assert not (tmp_path / "models" / "m.npz.quick").exists()


def test_train_patience_stops_early(tmp_path, data_dir, capsys):
    rc = cli.main(["train", "--model", "logreg", "--epochs", "30", "--patience", "1",
                   "--lr", "0.5", "--data-dir", str(data_dir)])
    assert rc == 0
    epochs = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("epoch ")]
    assert 2 <= len(epochs) < 30


def test_divergence_exits_1_with_one_line(data_dir, capsys):
    rc = cli.main(["train", "--model", "logreg", "--lr", "1e30", "--epochs", "2",
                   "--data-dir", str(data_dir)])
    assert rc == 1
    assert "training diverged at epoch" in one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize("option", ["--out", "--save"])
def test_an_output_that_is_a_folder_fails_before_training(tmp_path, data_dir, capsys,
                                                          monkeypatch, option):
    import fmnist.data

    def no_loading(*args, **kwargs):
        raise AssertionError("the data was loaded before the output was checked")

    monkeypatch.setattr(fmnist.data, "load_train", no_loading)
    folder = tmp_path / "results"
    folder.mkdir()
    assert cli.main(["train", "--epochs", "1", "--data-dir", str(data_dir),
                     option, str(folder)]) == 2
    out, err = capsys.readouterr()
    line = one_error_line(err)
    assert str(folder) in line and "is a folder" in line and out == ""
    assert list(folder.iterdir()) == []


def test_an_output_below_a_file_fails_before_training(tmp_path, data_dir, capsys):
    (tmp_path / "afile").write_text("x")
    assert cli.main(["train", "--epochs", "1", "--data-dir", str(data_dir), "--out",
                     str(tmp_path / "afile" / "pred.csv")]) == 2
    out, err = capsys.readouterr()
    assert "is a file, not a folder" in one_error_line(err) and out == ""


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "yes"])
def test_quick_mode_train_marks_its_outputs(tmp_path, data_dir, monkeypatch, capsys, value):
    monkeypatch.setenv("FMNIST_QUICK", value)
    out, model_file = tmp_path / "F", tmp_path / "m.npz"
    assert cli.main(["train", "--model", "logreg", "--epochs", "5", "--data-dir",
                     str(data_dir), "--out", str(out), "--save", str(model_file)]) == 0
    stdout, err = capsys.readouterr()
    assert "quick mode" in err
    assert sum(ln.startswith("epoch ") for ln in stdout.splitlines()) == 2  # at most 2
    assert "quick mode" in (tmp_path / "F.quick").read_text()
    assert (tmp_path / "m.npz.quick").exists()
    # a full run over the same outputs removes the markers
    monkeypatch.setenv("FMNIST_QUICK", "0")
    assert cli.main(["train", "--model", "logreg", "--epochs", "1", "--data-dir",
                     str(data_dir), "--out", str(out), "--save", str(model_file)]) == 0
    assert not (tmp_path / "F.quick").exists() and not (tmp_path / "m.npz.quick").exists()


# ------------------------------------------------------------------------------- no input lost
# issue 20, point 4

def _no_training(monkeypatch):
    import fmnist.data

    def no_loading(*args, **kwargs):
        raise AssertionError("the data was loaded before the output was checked")

    monkeypatch.setattr(fmnist.data, "load_train", no_loading)


@pytest.mark.parametrize("option, name", [("--out", "test.csv"), ("--save", "train.csv"),
                                          ("--out", "train.csv"), ("--save", "provenance.json"),
                                          ("--out", "new.csv")])
def test_a_file_of_the_data_folder_is_refused_before_training(data_dir, capsys, monkeypatch,
                                                              option, name):
    _no_training(monkeypatch)
    target = data_dir / name
    before = target.read_bytes() if target.exists() else None
    assert cli.main(["train", "--epochs", "1", "--data-dir", str(data_dir), option,
                     str(target)]) == 2
    out, err = capsys.readouterr()
    assert str(target) in one_error_line(err) and out == ""
    assert (target.read_bytes() if target.exists() else None) == before


def test_the_data_folder_is_recognised_through_another_path(tmp_path, data_dir, capsys,
                                                             monkeypatch):
    _no_training(monkeypatch)
    monkeypatch.chdir(tmp_path)
    before = (data_dir / "test.csv").read_bytes()
    assert cli.main(["train", "--data-dir", "data", "--out",
                     str(data_dir / ".." / "data" / "test.csv")]) == 2
    one_error_line(capsys.readouterr().err)
    assert (data_dir / "test.csv").read_bytes() == before


@pytest.mark.parametrize("option", ["--out", "--save"])
def test_the_report_source_is_refused(tmp_path, data_dir, capsys, monkeypatch, option):
    _no_training(monkeypatch)
    report = tmp_path / "report.qmd"
    report.write_text("# the report\n")
    assert cli.main(["train", "--data-dir", str(data_dir), option, str(report)]) == 2
    assert str(report) in one_error_line(capsys.readouterr().err)
    assert report.read_text() == "# the report\n"


@pytest.mark.parametrize("option, content", [
    ("--out", b"# my notes\n"), ("--out", b"1\n2\nsome text\n"), ("--out", b"0,1,2\n"),
    ("--save", b"not a model"), ("--save", b"PK\x03\x04 a zip of something else"),
    ("--save", b"3\n1\n"),
], ids=["notes as --out", "text after predictions", "a CSV row", "text as --save",
        "a damaged zip", "predictions as --save"])
def test_an_existing_file_of_another_kind_is_refused(tmp_path, data_dir, capsys, monkeypatch,
                                                      option, content):
    _no_training(monkeypatch)
    target = tmp_path / "existing.dat"
    target.write_bytes(content)
    assert cli.main(["train", "--data-dir", str(data_dir), option, str(target)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert str(target) in line and "is not" in line
    assert target.read_bytes() == content


def test_outputs_of_the_same_kind_are_replaced(tmp_path, data_dir, capsys):
    out, model_file = tmp_path / "pred.csv", tmp_path / "m.npz"
    args = ["train", "--model", "logreg", "--epochs", "1", "--data-dir", str(data_dir),
            "--out", str(out), "--save", str(model_file)]
    assert cli.main(args) == 0 and cli.main([*args, "--seed", "3"]) == 0
    X_test = np.loadtxt(data_dir / "test.csv", delimiter=",", dtype=np.int64)
    np.testing.assert_array_equal(load_model(model_file).predict(X_test),
                                  np.loadtxt(out, dtype=np.int64))
    assert load_model(model_file).random_state == 3


# ------------------------------------------------------------------------------- figure
# issue 20, point 7

@pytest.mark.parametrize("suffix, magic", [(".pdf", b"%PDF-"), (".png", b"\x89PNG"),
                                           (".svg", b"<?xml")])
def test_figure_writes_the_format_its_name_says(tmp_path, data_dir, capsys, suffix, magic):
    out = tmp_path / f"fig{suffix}"
    assert cli.main(["figure", "--data-dir", str(data_dir), "--out", str(out)]) == 0
    assert out.read_bytes().startswith(magic)


@pytest.mark.parametrize("name", ["fig.jpeg", "fig", "fig.csv"])
def test_figure_refuses_an_unknown_suffix_before_loading(tmp_path, data_dir, capsys,
                                                         monkeypatch, name):
    _no_training(monkeypatch)
    assert cli.main(["figure", "--data-dir", str(data_dir), "--out", str(tmp_path / name)]) == 2
    assert "unknown image format" in one_error_line(capsys.readouterr().err)
    assert not (tmp_path / name).exists()


# ------------------------------------------------------------------------------- experiments

@pytest.fixture
def saved_models(tmp_path, data_dir):
    """out/models/logreg.npz and out/models/nn.npz as `experiments` saves them."""
    X, y = toy_data(100, seed=5)
    out = tmp_path / "out"
    LogisticRegression(epochs=1).fit(X, y).save(out / "models" / "logreg.npz")
    MLP(hidden=8, epochs=1).fit(X, y).save(out / "models" / "nn.npz")
    return out


def test_from_models_remakes_the_prediction_files(saved_models, data_dir, capsys):
    assert cli.main(["experiments", "--from-models", "--data-dir", str(data_dir), "--out",
                     str(saved_models)]) == 0
    stdout = capsys.readouterr().out
    for name in ("lr_pred.csv", "NN_pred.csv"):
        assert np.loadtxt(saved_models / name, dtype=np.int64).shape == (37,)
        assert f"wrote {saved_models / name}" in stdout


@pytest.mark.parametrize("damage", ["truncated", "corrupted", "empty", "not_a_zip"])
@pytest.mark.parametrize("kind", ["logreg", "nn"])
def test_from_models_with_a_damaged_model_exits_2_with_one_line(saved_models, data_dir, capsys,
                                                                damage, kind):
    path = saved_models / "models" / f"{kind}.npz"
    raw = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "corrupted":  # same length, bytes flipped in the middle of the weights
        mid = len(raw) // 2
        path.write_bytes(raw[:mid] + bytes(b ^ 0xFF for b in raw[mid:mid + 64]) + raw[mid + 64:])
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        path.write_text("weights\n")
    assert cli.main(["experiments", "--from-models", "--data-dir", str(data_dir), "--out",
                     str(saved_models)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith(f"error: {path}: ") and "save it again" in line


def test_from_models_without_saved_models_says_what_to_do(tmp_path, data_dir, capsys):
    assert cli.main(["experiments", "--from-models", "--data-dir", str(data_dir), "--out",
                     str(tmp_path)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "models/logreg.npz" in line and "python -m fmnist experiments" in line


def test_the_data_command_is_make_datas_now(capsys):
    """Building and diagnosing data/ is tooling (tools/data.py); fmnist's CLI has no `data`."""
    with pytest.raises(SystemExit) as info:
        cli.main(["data"])
    assert info.value.code == 2 and "invalid choice: 'data'" in one_error_line(
        capsys.readouterr().err)
