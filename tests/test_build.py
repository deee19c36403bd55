"""Building data/train.csv and data/test.csv from IDX files (tools/build.py, tools/datadir.py),
provenance (tools/provenance.py), and `make data` (`python -m tools.data`)."""

from __future__ import annotations

import errno
import gzip
import hashlib
import os
import signal
import struct
import subprocess
import sys

import numpy as np
import pytest
from conftest import (
    REAL_IDX_DIR,
    ROOT,
    make_images,
    requires_real_idx,
    run_data,
    write_idx,
    write_idx_dir,
    write_test_csv,
    write_train_csv,
)

from fmnist.data import DataError, array_sha256, load_test, load_train
from tools import build, datadir, provenance
from tools.build import build_csvs, format_rows, read_idx
from tools.data import ensure_data


def origin(data_dir) -> str:
    """"built" when either file is the project's build (as the report's note decides)."""
    return "supplied" if provenance.data_provenance(data_dir)["source"] == "supplied" else "built"

def read_csv_matrix(path):
    """A CSV written by the build, parsed independently of fmnist: int matrix (n, k)."""
    return np.loadtxt(path, delimiter=",", dtype=np.int64, ndmin=2)


# ---------------------------------------------------------------- IDX files


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_read_idx_round_trip(tmp_path, gz):
    X, y = make_images(2)
    ext = ".gz" if gz else ""
    images = read_idx(write_idx(tmp_path / f"images{ext}", X.reshape(-1, 28, 28)))
    labels = read_idx(write_idx(tmp_path / f"labels{ext}", y))
    assert images.shape == (20, 28, 28) and images.dtype == np.uint8
    np.testing.assert_array_equal(images.reshape(20, 784), X)
    np.testing.assert_array_equal(labels, y)


def _idx_bytes(magic, dims, data):
    return struct.pack(">I", magic) + struct.pack(f">{len(dims)}I", *dims) + data


@pytest.mark.parametrize("content, words", [
    (_idx_bytes(0x0803, (2, 28, 28), bytes(2 * 784 - 1)), ["damaged", "2 x 28 x 28"]),
    (_idx_bytes(0x0801, (5,), bytes(6)), ["5 = 5 bytes", "holds 6"]),
    (_idx_bytes(0x0802, (5, 1), bytes(5)), ["magic number 0x00000802"]),
    (_idx_bytes(0x0D03, (1, 1, 1), bytes(4)), ["magic number 0x00000d03"]),
    (b"\x00\x00\x08", ["too short"]),
    (struct.pack(">I", 0x0803) + b"\x00\x00\x00\x02", ["header cut short"]),
    (b"\x1f\x8b" + b"garbage", ["damaged gzip"]),
], ids=["short images", "long labels", "2-d", "float type", "tiny", "cut header", "bad gzip"])
def test_read_idx_rejects_bad_files(tmp_path, content, words):
    path = tmp_path / "bad-idx"
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        read_idx(path)
    for word in [str(path), *words]:
        assert word in str(info.value)


def test_read_idx_reads_a_gzip_file_without_gz_suffix(tmp_path):
    _, y = make_images(1)
    path = tmp_path / "labels"
    path.write_bytes(gzip.compress(_idx_bytes(0x0801, (10,), y.astype(np.uint8).tobytes())))
    np.testing.assert_array_equal(read_idx(path), y)


def test_format_rows_matches_a_plain_formatter():
    rng = np.random.default_rng(0)
    M = rng.integers(0, 256, size=(50, 785), dtype=np.uint8)
    M[0] = 0
    M[1] = 255
    M[2, :10] = [0, 9, 10, 99, 100, 255, 1, 0, 5, 50]
    expected = "".join(",".join(str(v) for v in row) + "\n" for row in M.tolist())
    assert format_rows(M) == expected.encode()


# ---------------------------------------------------------------- the build


@pytest.fixture
def idx_dir(tmp_path):
    """Synthetic IDX files: 6 train and 2 test images of every class (80 in all)."""
    X, y = write_idx_dir(tmp_path / "idx")
    return tmp_path / "idx", X, y


def test_build_splits_the_pool_by_class_and_keeps_test_labels_out(tmp_path, idx_dir):
    directory, X, y = idx_dir
    train_path, test_path = build_csvs(tmp_path / "out", directory, seed=1, test_per_class=3)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "provenance.json", "test.csv", "train.csv"]
    train, test = read_csv_matrix(train_path), read_csv_matrix(test_path)
    assert train.shape == (50, 785) and test.shape == (30, 784)
    label_of = {row.tobytes(): label for row, label in zip(X, y, strict=True)}
    test_labels = [label_of[row.astype(np.uint8).tobytes()] for row in test]
    np.testing.assert_array_equal(np.bincount(test_labels, minlength=10), np.full(10, 3))
    train_labels = [label_of[row.astype(np.uint8).tobytes()] for row in train[:, 1:]]
    np.testing.assert_array_equal(train[:, 0], train_labels)  # the right label on every row
    pooled = sorted(r.tobytes() for r in X)
    built = sorted(r.astype(np.uint8).tobytes() for r in np.vstack([train[:, 1:], test]))
    assert built == pooled  # every image once: disjoint and complete
    assert not np.array_equal(np.sort(train[:, 0]), train[:, 0])  # shuffled, not by class
    # readable by our own loader, header-free, in the exercise's format
    assert train_path.read_text().splitlines()[0].count(",") == 784
    np.testing.assert_array_equal(load_test(test_path), test)


def test_build_is_byte_identical_for_the_same_seed(tmp_path, idx_dir):
    directory, _, _ = idx_dir
    a = build_csvs(tmp_path / "a", directory, seed=5, test_per_class=2)
    b = build_csvs(tmp_path / "b", directory, seed=5, test_per_class=2)
    c = build_csvs(tmp_path / "c", directory, seed=6, test_per_class=2)
    for pa, pb in zip(a, b, strict=True):
        assert pa.read_bytes() == pb.read_bytes()
    assert a[1].read_bytes() != c[1].read_bytes()


def test_build_rejects_too_few_images_per_class(tmp_path, idx_dir):
    directory, _, _ = idx_dir
    with pytest.raises(DataError, match="only 8 images"):
        build_csvs(tmp_path / "out", directory, test_per_class=8)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_build_with_a_damaged_idx_file_writes_nothing(tmp_path, idx_dir):
    directory, _, _ = idx_dir
    labels = directory / "t10k-labels-idx1-ubyte.gz"
    labels.write_bytes(gzip.compress(_idx_bytes(0x0801, (20,), bytes(19))))
    with pytest.raises(DataError, match="t10k-labels"):
        build_csvs(tmp_path / "out", directory, test_per_class=2)
    assert not (tmp_path / "out").exists()


def test_build_rejects_mismatched_images_and_labels(tmp_path, idx_dir):
    directory, _, _ = idx_dir
    write_idx(directory / "train-labels-idx1-ubyte.gz", np.zeros(59, dtype=np.uint8))
    with pytest.raises(DataError, match="60 images but .* 59 labels"):
        build_csvs(tmp_path / "out", directory, test_per_class=2)


def test_build_reads_plain_idx_files(tmp_path):
    X, _ = write_idx_dir(tmp_path / "idx", gz=False)
    train_path, test_path = build_csvs(tmp_path / "out", tmp_path / "idx", test_per_class=2)
    assert len(load_test(test_path)) + len(load_train(train_path)[0]) == len(X)


# ---------------------------------------------------------------- ensure_data


def test_ensure_data_validates_existing_files_without_rewriting_them(tmp_path):
    X, y = make_images(2)
    train = write_train_csv(tmp_path / "train.csv", X, y)
    test = write_test_csv(tmp_path / "test.csv", X[:3])
    before = train.stat().st_mtime_ns, test.stat().st_mtime_ns
    assert ensure_data(tmp_path, tmp_path / "no-idx-needed") == (train, test)
    assert (train.stat().st_mtime_ns, test.stat().st_mtime_ns) == before
    assert (tmp_path / ".cache").is_dir()  # validation filled the cache


@pytest.mark.parametrize("present", ["train.csv", "test.csv"])
def test_only_one_csv_is_an_error_and_is_not_overwritten(tmp_path, idx_dir, present):
    directory, _, _ = idx_dir
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / present).write_text("the user's own file\n")
    with pytest.raises(DataError, match=f"{present} exists but .* does not"):
        ensure_data(data_dir, directory)
    assert (data_dir / present).read_text() == "the user's own file\n"
    assert sorted(p.name for p in data_dir.iterdir()) == [present]


def test_missing_idx_files_without_root_say_what_to_run(tmp_path, monkeypatch):
    monkeypatch.setattr(build, "DEFAULT_IDX_DIR", tmp_path / "debian")
    monkeypatch.setattr(build, "_can_install", lambda: False)
    with pytest.raises(DataError) as info:
        ensure_data(tmp_path / "data", tmp_path / "debian")
    msg = str(info.value)
    assert "sudo apt-get install dataset-fashion-mnist" in msg
    assert "train.csv and test.csv" in msg and str(tmp_path / "data") in msg
    assert not (tmp_path / "data").exists()


def test_missing_custom_idx_dir_points_at_the_setting(tmp_path):
    with pytest.raises(DataError, match="FMNIST_IDX_DIR"):
        ensure_data(tmp_path / "data", tmp_path / "elsewhere")


def test_missing_idx_files_as_root_installs_the_debian_package(tmp_path, monkeypatch):
    debian = tmp_path / "debian"
    monkeypatch.setattr(build, "DEFAULT_IDX_DIR", debian)
    monkeypatch.setattr(build, "_can_install", lambda: True)
    commands = []

    class Done:
        def __init__(self, returncode):
            self.returncode = returncode

    def fake_run(cmd, **kwargs):
        commands.append(cmd)
        if cmd[:2] == ["apt-get", "install"] and ["apt-get", "update"] in commands:
            write_idx_dir(debian, train_per_class=1399, test_per_class=2)
            return Done(0)
        return Done(100 if cmd[1] == "install" else 0)  # first install: stale package lists

    monkeypatch.setattr(build.subprocess, "run", fake_run)
    train_path, test_path = ensure_data(tmp_path / "data", debian)
    assert commands == [["apt-get", "install", "-y", "dataset-fashion-mnist"],
                        ["apt-get", "update"],
                        ["apt-get", "install", "-y", "dataset-fashion-mnist"]]
    assert load_test(test_path).shape == (14000, 784)
    assert load_train(train_path)[0].shape == (10, 784)  # one left per class


def test_failed_install_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(build, "DEFAULT_IDX_DIR", tmp_path / "debian")
    monkeypatch.setattr(build, "_can_install", lambda: True)
    monkeypatch.setattr(build.subprocess, "run", lambda cmd, **kw: type("R", (), {"returncode": 1}))
    with pytest.raises(DataError, match="could not install dataset-fashion-mnist"):
        ensure_data(tmp_path / "data", tmp_path / "debian")


def test_cli_data_reports_one_csv_missing_with_exit_2(tmp_path):
    write_test_csv(tmp_path / "test.csv", make_images(1)[0])
    proc = run_data("--data-dir", str(tmp_path), "--idx-dir", str(tmp_path))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert "test.csv exists but" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["test.csv"]


# ---------------------------------------------------------------- the real data


@requires_real_idx
def test_real_build_has_the_exercise_shapes_and_1400_test_images_per_class(real_build):
    data_dir, proc = real_build
    assert proc.returncode == 0, proc.stderr
    assert "built" in proc.stdout and "56000 x 785" in proc.stdout and "14000 x 784" in proc.stdout
    X, y = load_train(data_dir / "train.csv")
    X_test = load_test(data_dir / "test.csv")
    assert X.shape == (56000, 784) and X_test.shape == (14000, 784)
    np.testing.assert_array_equal(np.bincount(y, minlength=10), np.full(10, 5600))
    assert (data_dir / "test.csv").read_text().split("\n", 1)[0].count(",") == 783
    # the test images' classes, looked up in the IDX files (never stored under data/)
    images = [read_idx(REAL_IDX_DIR / f"{s}-images-idx3-ubyte.gz").reshape(-1, 784)
              for s in ("train", "t10k")]
    labels = [read_idx(REAL_IDX_DIR / f"{s}-labels-idx1-ubyte.gz") for s in ("train", "t10k")]
    label_of = {row.tobytes(): int(c) for row, c in zip(np.vstack(images),
                                                         np.concatenate(labels), strict=True)}
    test_labels = np.array([label_of[row.tobytes()] for row in X_test])
    np.testing.assert_array_equal(np.bincount(test_labels, minlength=10), np.full(10, 1400))


@requires_real_idx
def test_real_data_is_validated_not_rebuilt_on_the_second_run(real_build):
    data_dir, first = real_build
    assert first.returncode == 0, first.stderr
    mtime = (data_dir / "train.csv").stat().st_mtime_ns
    proc = run_data("--data-dir", str(data_dir))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("validated")
    assert (data_dir / "train.csv").stat().st_mtime_ns == mtime


# ---------------------------------------------------------------- the pair, atomically (issue 12)


def _big_idx_dir(tmp_path):
    """IDX files with 1,401 images per class: enough for the default 1,400 test images each."""
    write_idx_dir(tmp_path / "idx", train_per_class=1399, test_per_class=2)
    return tmp_path / "idx"


KILL_AFTER_FIRST_CSV_RENAME = """
import os, signal, sys
real_replace = os.replace
def replace(src, dst, *args, **kwargs):
    real_replace(src, dst, *args, **kwargs)
    if str(dst).endswith(".csv"):
        os.kill(os.getpid(), signal.SIGKILL)
os.replace = replace
from tools.data import main
sys.exit(main(sys.argv[1:]))
"""


def run_patched(patch: str, *args: str):
    """`python -c PATCH ARGS` (PATCH ends by calling tools.data.main), the project importable."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", patch, *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)


def test_a_build_killed_between_the_two_renames_is_rebuilt_not_refused(tmp_path):
    idx, data_dir = _big_idx_dir(tmp_path), tmp_path / "data"
    killed = run_patched(KILL_AFTER_FIRST_CSV_RENAME, "--data-dir", str(data_dir),
                         "--idx-dir", str(idx))
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (data_dir / "test.csv").exists() and not (data_dir / "train.csv").exists()
    assert list(data_dir.glob(".*.tmp"))  # what a SIGKILL leaves: the other temp file
    proc = run_data("--data-dir", str(data_dir), "--idx-dir", str(idx))
    assert proc.returncode == 0, proc.stderr
    assert "interrupted" in proc.stderr and proc.stdout.startswith("built")
    assert sorted(p.name for p in data_dir.iterdir()) == [
        ".cache", "provenance.json", "test.csv", "train.csv"]
    assert not list((data_dir / ".cache").glob(".*.tmp"))
    clean = build_csvs(tmp_path / "clean", idx)
    for name, path in zip(("train.csv", "test.csv"), clean, strict=True):
        assert (data_dir / name).read_bytes() == path.read_bytes()


def test_leftover_temp_files_of_a_killed_run_are_removed(tmp_path):
    X, y = make_images(2)
    write_train_csv(tmp_path / "train.csv", X, y)
    write_test_csv(tmp_path / "test.csv", X[:3])
    leftovers = [tmp_path / ".train.csv.k1ll3d.tmp", tmp_path / ".test.csv.abc.tmp",
                 tmp_path / ".cache" / ".train.csv.train.v2.x.npy.abc.tmp"]
    (tmp_path / ".cache").mkdir()
    for p in leftovers:
        p.write_bytes(b"0" * 1000)
    os.utime(leftovers[-1], (1, 1))  # an old cache temp (a recent one may be a running load's)
    young = tmp_path / ".cache" / ".test.csv.test.v2.y.npy.new.tmp"
    young.write_bytes(b"")
    proc = run_data("--data-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert not any(p.exists() for p in leftovers) and young.exists()
    assert (tmp_path / "train.csv").exists() and (tmp_path / "test.csv").exists()


@pytest.mark.parametrize("name", ["train.csv", "test.csv"])
def test_dangling_symlinks_are_refused_not_replaced(tmp_path, idx_dir, name):
    directory, _, _ = idx_dir
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    os.symlink("/media/course/" + name, data_dir / name)
    proc = run_data("--data-dir", str(data_dir), "--idx-dir", str(directory))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert f"symbolic link to /media/course/{name}" in proc.stderr
    assert (data_dir / name).is_symlink() and sorted(os.listdir(data_dir)) == [name]


def test_data_dir_that_is_a_file_is_one_line(tmp_path):
    (tmp_path / "data").write_text("not a folder\n")
    proc = run_data("--data-dir", str(tmp_path / "data"), "--idx-dir", str(tmp_path))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "is a file, not a folder" in proc.stderr
    assert (tmp_path / "data").read_text() == "not a folder\n"


FAIL_WRITES = """
import errno, os, sys, tempfile
def refuse(*args, **kwargs):
    raise OSError(errno.{errno}, os.strerror(errno.{errno}), kwargs.get("dir") or args[-1])
tempfile.mkstemp = refuse
from tools.data import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("err, words", [("EROFS", "cannot write there (Read-only file system)"),
                                        ("EACCES", "cannot write there (Permission denied)")])
def test_a_read_only_empty_data_folder_is_one_line(tmp_path, err, words):
    """Tests run as root, who can write anywhere: simulate what a read-only folder does."""
    directory = _big_idx_dir(tmp_path)
    (tmp_path / "data").mkdir()
    proc = run_patched(FAIL_WRITES.format(errno=err), "--data-dir",
                       str(tmp_path / "data"), "--idx-dir", str(directory))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 2  # "building ..." then the error
    assert words in proc.stderr and "--data-dir" in proc.stderr
    assert os.listdir(tmp_path / "data") == []


def test_a_full_disk_while_building_leaves_nothing_half_written(tmp_path, idx_dir, monkeypatch):
    directory, _, _ = idx_dir
    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, f):
            self.f, self.written = f, 0

        def write(self, data):
            if self.written:  # the first chunk fits, the second does not
                raise OSError(errno.ENOSPC, "No space left on device")
            self.written += len(data)
            return self.f.write(data)

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    monkeypatch.setattr(datadir, "_ROWS_PER_CHUNK", 10)
    monkeypatch.setattr(datadir.os, "fdopen", lambda *a, **k: FullDisk(real_fdopen(*a, **k)))
    with pytest.raises(DataError, match="no space left on the device.*free some space"):
        build_csvs(tmp_path / "data", directory, test_per_class=2)
    assert os.listdir(tmp_path / "data") == []


def test_a_full_disk_while_renaming_the_pair_leaves_nothing(tmp_path, idx_dir, monkeypatch):
    """The record is the last write: when it fails, both renamed files go too."""
    directory, _, _ = idx_dir

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(datadir.provenance, "write_record", full)
    with pytest.raises(DataError, match="no space left"):
        build_csvs(tmp_path / "data", directory, test_per_class=2)
    assert os.listdir(tmp_path / "data") == []


# ---------------------------------------------------------------- provenance (issue 12)


def test_the_build_records_where_the_data_came_from(tmp_path, idx_dir):
    directory, _, _ = idx_dir
    train, test = build_csvs(tmp_path / "data", directory, seed=3, test_per_class=2)
    p = provenance.data_provenance(tmp_path / "data")
    assert p["source"] == p["train_source"] == p["test_source"] == "built"
    assert p["seed"] == 3 and p["idx_dir"] == str(directory.resolve())
    assert p["train_rows"] == 60 and p["test_rows"] == 20
    X, y = load_train(train)
    assert p["array_sha256"] == {"train": array_sha256(np.column_stack([y, X])),
                                 "test": array_sha256(load_test(test))}
    record = provenance.read_record(tmp_path / "data")
    assert record["train_sha256"] == hashlib.sha256(train.read_bytes()).hexdigest()
    assert record["test_sha256"] == hashlib.sha256(test.read_bytes()).hexdigest()
    assert "built by this project" in p["description"] and "not an answer" in p["description"]


def test_files_without_a_record_are_supplied(tmp_path):
    X, y = make_images(2)
    write_train_csv(tmp_path / "train.csv", X, y)
    write_test_csv(tmp_path / "test.csv", X[:3])
    p = provenance.data_provenance(tmp_path)
    assert p["source"] == "supplied" and p["seed"] is None and p["test_rows"] == 3
    assert "supplied" in p["description"]


def test_a_built_train_csv_with_a_supplied_test_csv_is_called_a_leak(tmp_path, idx_dir):
    directory, _, _ = idx_dir
    build_csvs(tmp_path, directory, test_per_class=2)
    write_test_csv(tmp_path / "test.csv", make_images(1, seed=9)[0])  # "the course's"
    p = provenance.data_provenance(tmp_path)
    assert (p["source"], p["train_source"], p["test_source"]) == ("mixed", "built", "supplied")
    assert "leaks test answers" in p["description"]
    proc = run_data("--data-dir", str(tmp_path))
    assert proc.returncode == 0 and "warning:" in proc.stderr and "leaks" in proc.stderr


def test_a_built_test_csv_with_a_supplied_train_csv_is_named(tmp_path, idx_dir):
    directory, _, _ = idx_dir
    build_csvs(tmp_path, directory, test_per_class=2)
    X, y = make_images(2, seed=9)
    write_train_csv(tmp_path / "train.csv", X, y)
    p = provenance.data_provenance(tmp_path)
    assert (p["train_source"], p["test_source"]) == ("supplied", "built")
    assert "copy the course's test.csv" in p["description"]


def test_built_data_resaved_by_pandas_with_a_header_is_still_built(tmp_path, idx_dir):
    """Issue 20 point 6: the record names the parsed arrays, not the bytes of the files."""
    import pandas as pd

    directory, _, _ = idx_dir
    build_csvs(tmp_path, directory, test_per_class=2)
    for name in ("train.csv", "test.csv"):
        df = pd.read_csv(tmp_path / name, header=None)
        df.to_csv(tmp_path / name, index=False, lineterminator="\r\n")  # header 0,1,...; CRLF
    assert (tmp_path / "test.csv").read_text().startswith("0,1,2,")
    p = provenance.data_provenance(tmp_path)
    assert (p["source"], p["train_source"], p["test_source"]) == ("built", "built", "built")
    assert origin(tmp_path) == "built"
    write_test_csv(tmp_path / "test.csv", make_images(1, seed=4)[0])
    assert provenance.data_provenance(tmp_path)["test_source"] == "supplied"
    assert origin(tmp_path) == "built"  # train.csv is still the build's: never "supplied"
    X, y = make_images(2, seed=9)
    write_train_csv(tmp_path / "train.csv", X, y)
    assert origin(tmp_path) == "supplied"


def test_overlap_is_found_with_file_line_numbers(tmp_path, monkeypatch):
    X, y = make_images(3)
    train = write_train_csv(tmp_path / "train.csv", X, y, header=True)
    lines = train.read_text().splitlines()
    lines.insert(3, "")  # a blank line: file lines, not row numbers
    train.write_text("\n".join(lines) + "\n")
    X_test = make_images(1, seed=8)[0]
    X_test[4] = X[0]   # train line 2 (after the header)
    X_test[7] = X[20]  # train line 23 (after the blank line)
    test = write_test_csv(tmp_path / "test.csv", X_test)
    assert provenance.find_overlap(train, test) == [(2, 5), (23, 8)]
    monkeypatch.setattr(provenance, "load_train", lambda p: pytest.fail("not cached"))
    assert provenance.find_overlap(train, test) == [(2, 5), (23, 8)]
    monkeypatch.undo()
    proc = run_data("--data-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "warning: 2 test images also appear in the training data" in proc.stderr
    assert f"{test} line 5 = {train} line 2" in proc.stderr


def test_no_overlap_no_warning(tmp_path):
    X, y = make_images(2)
    write_train_csv(tmp_path / "train.csv", X, y)
    write_test_csv(tmp_path / "test.csv", make_images(1, seed=5)[0])
    assert provenance.find_overlap(tmp_path / "train.csv", tmp_path / "test.csv") == []
    proc = run_data("--data-dir", str(tmp_path))
    assert proc.returncode == 0 and "warning" not in proc.stderr


def test_a_known_build_without_a_record_counts_as_built(tmp_path, monkeypatch):
    """data/ built before records existed: recognised by the arrays of the seed-0 build."""
    X, y = make_images(2)
    write_train_csv(tmp_path / "train.csv", X, y)
    write_test_csv(tmp_path / "test.csv", X[:3])
    assert origin(tmp_path) == "supplied"
    monkeypatch.setattr(provenance, "KNOWN_BUILDS", {array_sha256(np.column_stack([y, X]))})
    p = provenance.data_provenance(tmp_path)
    assert (p["source"], p["train_source"], p["seed"]) == ("mixed", "built", 0)
    assert origin(tmp_path) == "built"


@requires_real_idx
def test_the_known_build_is_the_seed_0_build(real_build):
    data_dir, proc = real_build
    assert proc.returncode == 0, proc.stderr
    assert set(provenance.read_record(data_dir)["array_sha256"].values()) == provenance.KNOWN_BUILDS


def test_a_record_of_an_earlier_version_is_upgraded_to_name_the_arrays(tmp_path, idx_dir):
    """A build with another seed, recorded before records named the arrays: `make data` adds
    them, so re-saving the files later does not turn them into "the course's"."""
    import json

    directory, _, _ = idx_dir
    build_csvs(tmp_path, directory, seed=5, test_per_class=2)
    record = json.loads((tmp_path / "provenance.json").read_text())
    old = {k: v for k, v in record.items() if k != "array_sha256"}
    (tmp_path / "provenance.json").write_text(json.dumps({**old, "format": 1}))
    assert origin(tmp_path) == "supplied"  # what the old record alone can tell
    proc = run_data("--data-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert provenance.read_record(tmp_path)["array_sha256"] == record["array_sha256"]
    assert origin(tmp_path) == "built"
    (tmp_path / "test.csv").write_text("\n".join(
        ",".join(row) for row in (line.split(",") for line in
                                  (tmp_path / "test.csv").read_text().splitlines())) + "\r\n")
    assert origin(tmp_path) == "built"
