"""Loading and validating the exercise's CSV files (fmnist.data), the cache, the split and the
normalisation; the forensic diagnosis `make data` adds (tools/csvcheck.py)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import (
    csv_text,
    header_line,
    make_images,
    run_data,
    write_test_csv,
    write_train_csv,
)

from fmnist import CLASS_NAMES, DataError, Standardizer, data, one_hot
from fmnist.data import load_test, load_train, train_val_split
from tools import csvcheck


def cache_files(directory):
    cache = directory / ".cache"
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


# ---------------------------------------------------------------- good files


def test_load_train_shapes_dtypes_and_values(small_train):
    path, X, y = small_train
    X_got, y_got = load_train(path)
    assert X_got.dtype == np.uint8 and X_got.shape == (30, 784) and X_got.flags.c_contiguous
    assert y_got.dtype == np.int64 and y_got.shape == (30,)
    np.testing.assert_array_equal(X_got, X)
    np.testing.assert_array_equal(y_got, y)


def test_load_test_shapes_dtypes_and_values(small_test):
    path, X = small_test
    X_got = load_test(path)
    assert X_got.dtype == np.uint8 and X_got.shape == (12, 784)
    np.testing.assert_array_equal(X_got, X)


def test_header_and_no_header_load_the_same(tmp_path):
    X, y = make_images(3)
    for name in "abcd":
        (tmp_path / name).mkdir()
    plain = write_train_csv(tmp_path / "a" / "train.csv", X, y)
    with_header = write_train_csv(tmp_path / "b" / "train.csv", X, y, header=True)
    for got, want in zip(load_train(plain), load_train(with_header), strict=True):
        np.testing.assert_array_equal(got, want)
    Xt = X[:5]
    np.testing.assert_array_equal(load_test(write_test_csv(tmp_path / "c" / "test.csv", Xt)),
                                  load_test(write_test_csv(tmp_path / "d" / "test.csv", Xt,
                                                           header=True)))


@pytest.mark.parametrize("header", [
    ",".join(str(i) for i in range(785)),
    "label," + ",".join(str(i) for i in range(784)),
    "y," + ",".join(str(i) for i in range(1, 785)),
], ids=["pandas numbers", "label and numbers", "y and numbers from 1"])
def test_headers_of_column_numbers_are_recognised(tmp_path, header):
    X, y = make_images(2)
    path = tmp_path / "train.csv"
    path.write_text(csv_text(np.column_stack([y, X]), header))
    np.testing.assert_array_equal(load_train(path)[0], X)


def test_windows_line_endings_blank_lines_and_spaces_are_accepted(tmp_path):
    X, y = make_images(2)
    lines = csv_text(np.column_stack([y, X])).splitlines()
    lines[3] = lines[3].replace(",", ", ", 5)
    lines.insert(5, "")
    path = tmp_path / "train.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n\r\n\n").encode())
    X_got, y_got = load_train(path)
    np.testing.assert_array_equal(X_got, X)
    np.testing.assert_array_equal(y_got, y)


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    X, y = make_images(2)
    for header in (False, True):
        path = write_train_csv(tmp_path / f"train{header}.csv", X, y, header=header)
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
        np.testing.assert_array_equal(load_train(path)[1], y)


def test_default_paths_follow_FMNIST_DATA_DIR(small_train, monkeypatch):
    path, X, _ = small_train
    monkeypatch.setenv("FMNIST_DATA_DIR", str(path.parent))
    assert data.default_data_dir() == path.parent
    np.testing.assert_array_equal(load_train()[0], X)
    monkeypatch.delenv("FMNIST_DATA_DIR")
    assert str(data.default_data_dir()) == "data"


# ---------------------------------------------------------------- bad files

def _train_lines():
    X, y = make_images(3)
    M = np.column_stack([y, X])
    M[:, 1:] = np.minimum(M[:, 1:], 200)  # leaves room to make one value too big below
    return csv_text(M).splitlines()


def _set(lines, lineno, col, value):
    """Set 1-based column `col` of 1-based line `lineno`."""
    cells = lines[lineno - 1].split(",")
    cells[col - 1] = value
    lines[lineno - 1] = ",".join(cells)
    return lines


# (id, how to corrupt the lines, expected line, words the message must contain)
TRAIN_CASES = [
    ("extra value", lambda L: L[:4] + [L[4] + ",7"] + L[5:], 5, ["786 values", "expected 785"]),
    ("label column missing", lambda L: L[:6] + [L[6].split(",", 1)[1]] + L[7:], 7,
     ["784 values", "label column", "missing"]),
    ("short row", lambda L: L[:8] + [",".join(L[8].split(",")[:400])] + L[9:], 9,
     ["400 values", "expected 785"]),
    ("non-numeric pixel", lambda L: _set(L, 3, 10, "abc"), 3, ["column 10", "'abc'", "0..255"]),
    ("non-integer pixel", lambda L: _set(L, 9, 100, "12.5"), 9, ["'12.5'", "not an integer"]),
    ("missing pixel", lambda L: _set(L, 4, 300, ""), 4, ["column 300", "empty"]),
    ("pixel in exponent notation", lambda L: _set(L, 16, 30, "1e2"), 16,
     ["'1e2'", "not an integer"]),
    ("pixel NaN", lambda L: _set(L, 11, 20, "NaN"), 11, ["'NaN'", "not an integer"]),
    ("pixel 256", lambda L: _set(L, 6, 785, "256"), 6, ["column 785", "256", "outside 0..255"]),
    ("negative pixel", lambda L: _set(L, 8, 2, "-1"), 8, ["-1", "outside 0..255"]),
    ("huge pixel", lambda L: _set(L, 10, 50, "9" * 30), 10, ["outside 0..255"]),
    ("label 10", lambda L: _set(L, 2, 1, "10"), 2, ["label '10'", "integer 0..9"]),
    ("label -1", lambda L: _set(L, 12, 1, "-1"), 12, ["label '-1'", "integer 0..9"]),
    ("label 3.0", lambda L: _set(L, 13, 1, "3.0"), 13, ["label '3.0'", "integer 0..9"]),
    ("label missing", lambda L: _set(L, 14, 1, ""), 14, ["label", "empty"]),
    ("label 3.", lambda L: _set(L, 17, 1, "3."), 17, ["label '3.'"]),
    ("label word", lambda L: _set(L, 15, 1, "Dress"), 15, ["label 'Dress'", "integer 0..9"]),
    ("semicolons", lambda L: [ln.replace(",", ";") for ln in L], 1,
     ["1 value,", "comma-separated"]),
    ("blank line before the bad one", lambda L: L[:2] + [""] + _set(L, 6, 5, "x")[2:], 7,
     ["'x'"]),
    ("header, then a bad label", lambda L: [header_line("train")] + _set(L, 3, 1, "12"), 4,
     ["label '12'"]),
    ("header with too few names", lambda L: [header_line("test")] + L, 1,
     ["header with 784 values"]),
    ("bad first row is not taken for a header", lambda L: _set(L, 1, 3, "abc"), 1, ["'abc'"]),
    ("bad last line", lambda L: _set(L, 30, 785, "x"), 30, ["column 785", "'x'"]),
]


@pytest.mark.parametrize("corrupt, lineno, words", [c[1:] for c in TRAIN_CASES],
                         ids=[c[0] for c in TRAIN_CASES])
def test_bad_train_file_names_file_and_line_and_writes_no_cache(tmp_path, corrupt, lineno, words):
    _assert_bad_file(tmp_path / "train.csv", load_train, corrupt(_train_lines()), lineno, words)


def _assert_bad_file(path, load, lines, lineno, words):
    """`load(path)` of these lines raises DataError naming the file, the line and `words`."""
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as info:
        load(path)
    msg = str(info.value)
    assert str(path) in msg and f"line {lineno}:" in msg, msg
    for word in words:
        assert word in msg, msg
    assert cache_files(path.parent) == []


def _test_lines():
    X, _ = make_images(2, seed=3)
    return csv_text(np.minimum(X, 200)).splitlines()


TEST_CASES = [
    ("label column included", lambda L: ["4," + ln for ln in L], 1,
     ["785 values", "expected 784", "label column"]),
    ("header with label", lambda L: [header_line("train")] + L, 1, ["label column"]),
    ("one row with a label", lambda L: L[:9] + ["4," + L[9]] + L[10:], 10, ["785 values"]),
    ("non-numeric", lambda L: _set(L, 2, 1, "?"), 2, ["column 1", "'?'"]),
    ("pixel 300", lambda L: _set(L, 12, 784, "300"), 12, ["column 784", "outside 0..255"]),
    ("missing cell", lambda L: _set(L, 20, 17, ""), 20, ["column 17", "empty"]),
]


@pytest.mark.parametrize("corrupt, lineno, words", [c[1:] for c in TEST_CASES],
                         ids=[c[0] for c in TEST_CASES])
def test_bad_test_file_names_file_and_line_and_writes_no_cache(tmp_path, corrupt, lineno, words):
    _assert_bad_file(tmp_path / "test.csv", load_test, corrupt(_test_lines()), lineno, words)


def test_bad_line_deep_in_a_longer_file_is_found_exactly(tmp_path):
    X, y = make_images(250)  # 2,500 rows: the second pass works in blocks of lines
    lines = [header_line("train"), *csv_text(np.column_stack([y, X])).splitlines()]
    lines[1234:1234] = ["", ""]
    lines = _set(lines, 2345, 400, "256")
    path = tmp_path / "train.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"line 2345: column 400 \(pixel 399\) is 256"):
        load_train(path)
    assert cache_files(tmp_path) == []


@pytest.mark.parametrize("content", ["", "\n \n\n", header_line("train") + "\n"],
                         ids=["zero bytes", "only blank lines", "only a header"])
def test_empty_files(tmp_path, content):
    path = tmp_path / "train.csv"
    path.write_text(content)
    with pytest.raises(DataError) as info:
        load_train(path)
    for word in [str(path), "no data rows"]:
        assert word in str(info.value)
    assert cache_files(tmp_path) == []


def test_missing_file_says_how_to_get_it(tmp_path):
    with pytest.raises(DataError, match="not found.*run `make data`"):
        load_test(tmp_path / "test.csv")
    assert isinstance(DataError("x"), ValueError)


def test_a_class_without_examples_is_an_error(tmp_path):
    path = tmp_path / "train.csv"
    lines = [ln for ln in _train_lines() if not ln.startswith("3,")]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"no training example of class 3 \(Dress\)"):
        load_train(path)


def test_cli_data_exits_2_with_one_line_and_writes_nothing(tmp_path):
    (tmp_path / "train.csv").write_text("\n".join(_set(_train_lines(), 5, 7, "oops")) + "\n")
    write_test_csv(tmp_path / "test.csv", make_images(1)[0])
    before = sorted(p.name for p in tmp_path.iterdir())
    proc = run_data("--data-dir", str(tmp_path))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert str(tmp_path / "train.csv") in lines[0] and "line 5:" in lines[0]
    assert "'oops'" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_cli_data_rejects_a_test_file_with_labels(tmp_path):
    X, y = make_images(2)
    write_train_csv(tmp_path / "train.csv", X, y)
    (tmp_path / "test.csv").write_text(csv_text(np.column_stack([y, X])))
    proc = run_data("--data-dir", str(tmp_path))
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "test.csv, line 1:" in proc.stderr and "label column" in proc.stderr
    assert cache_files(tmp_path) == [] or all(n.startswith("train.csv") for n in
                                                cache_files(tmp_path))


# ---------------------------------------------------------------- cache


def test_second_load_comes_from_the_cache_and_is_identical(small_train, monkeypatch):
    path, _, _ = small_train
    X1, y1 = load_train(path)
    assert len(cache_files(path.parent)) == 1

    def no_parsing(*args):
        raise AssertionError("parsed again instead of using the cache")

    monkeypatch.setattr(data, "parse_csv", no_parsing)
    X2, y2 = load_train(path)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert X2.dtype == np.uint8 and y2.dtype == np.int64


def test_a_modified_file_invalidates_the_cache(small_train):
    path, X, y = small_train
    load_train(path)
    X2 = X.copy()
    X2[0, 0] = 7 if X[0, 0] != 7 else 8
    write_train_csv(path, X2, y)
    np.testing.assert_array_equal(load_train(path)[0], X2)
    from tools.datadir import clear_leftovers  # `make data` removes the stale cache

    clear_leftovers(path.parent)
    assert len(cache_files(path.parent)) == 1
    np.testing.assert_array_equal(load_train(path)[0], X2)


def test_same_size_edit_with_a_new_mtime_invalidates_the_cache(small_train):
    path, X, y = small_train
    load_train(path)
    st = path.stat()
    first_line, rest = path.read_text().split("\n", 1)
    cells = first_line.split(",")
    cells[1], cells[2] = cells[2], cells[1]
    path.write_text(",".join(cells) + "\n" + rest)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert path.stat().st_size == st.st_size
    X_got, _ = load_train(path)
    assert X_got[0, 0] == X[0, 1] and X_got[0, 1] == X[0, 0]


def test_a_damaged_cache_is_ignored(small_train):
    path, X, _ = small_train
    load_train(path)
    (cache,) = (path.parent / ".cache").iterdir()
    cache.write_bytes(b"not a numpy file")
    np.testing.assert_array_equal(load_train(path)[0], X)


def test_caches_of_similar_names_are_kept_apart(tmp_path):
    X, y = make_images(2)
    write_train_csv(tmp_path / "train.csv", X, y)
    write_train_csv(tmp_path / "train.v2.csv", X[::-1], y[::-1])
    load_train(tmp_path / "train.csv")
    load_train(tmp_path / "train.v2.csv")
    assert len(cache_files(tmp_path)) == 2
    np.testing.assert_array_equal(load_train(tmp_path / "train.v2.csv")[0], X[::-1])


def test_an_unwritable_cache_only_costs_speed(small_train, monkeypatch):
    path, X, _ = small_train

    def refuse(*args, **kwargs):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(data, "atomic_write", refuse)
    np.testing.assert_array_equal(load_train(path)[0], X)
    assert cache_files(path.parent) == []


def test_train_and_test_caches_do_not_mix(tmp_path):
    X, y = make_images(2)
    write_train_csv(tmp_path / "train.csv", X, y)
    write_test_csv(tmp_path / "test.csv", X[:4])
    load_train(tmp_path / "train.csv")
    np.testing.assert_array_equal(load_test(tmp_path / "test.csv"), X[:4])
    assert len(cache_files(tmp_path)) == 2


# ---------------------------------------------------------------- preprocessing


def test_class_names_in_the_exercise_order():
    assert CLASS_NAMES == ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def _labelled(per_class=50):
    return make_images(per_class, seed=7)


def _row_ids(A, X):
    """Index in X of every row of A (rows of X are distinct)."""
    lookup = {row.tobytes(): i for i, row in enumerate(X)}
    return np.array([lookup[row.tobytes()] for row in A])


def test_split_is_stratified_disjoint_complete_and_reproducible():
    X, y = _labelled()
    X_tr, X_val, y_tr, y_val = train_val_split(X, y, val_fraction=0.2, random_state=3)
    assert len(X_val) == 100 and len(X_tr) == 400
    np.testing.assert_array_equal(np.bincount(y_val, minlength=10), np.full(10, 10))
    np.testing.assert_array_equal(np.bincount(y_tr, minlength=10), np.full(10, 40))
    ids_tr, ids_val = _row_ids(X_tr, X), _row_ids(X_val, X)
    assert not set(ids_tr) & set(ids_val)
    assert sorted([*ids_tr, *ids_val]) == list(range(len(X)))
    np.testing.assert_array_equal(y[ids_tr], y_tr)
    np.testing.assert_array_equal(y[ids_val], y_val)
    again = train_val_split(X, y, val_fraction=0.2, random_state=3)
    for a, b in zip(again, (X_tr, X_val, y_tr, y_val), strict=True):
        np.testing.assert_array_equal(a, b)
    other = train_val_split(X, y, val_fraction=0.2, random_state=4)
    assert set(_row_ids(other[1], X)) != set(ids_val)


def test_split_default_is_ten_percent():
    X, y = _labelled(per_class=30)
    _, X_val, _, y_val = train_val_split(X, y)
    assert len(X_val) == 30 and np.all(np.bincount(y_val, minlength=10) == 3)


def test_standardizer_statistics_come_from_the_training_part_only():
    X, y = _labelled()
    X_tr, X_val, _, _ = train_val_split(X, y, random_state=0)
    X_val = np.full_like(X_val, 255)  # a validation part nothing like the training part
    s = Standardizer().fit(X_tr)
    assert s.mean_ == pytest.approx(X_tr.mean() / 255)
    assert s.std_ == pytest.approx((X_tr / 255).std())
    Z_tr, Z_val = s.transform(X_tr), s.transform(X_val)
    assert Z_tr.dtype == np.float32
    assert abs(float(Z_tr.mean())) < 1e-4 and float(Z_tr.std()) == pytest.approx(1, abs=1e-4)
    assert float(Z_val.mean()) > 1  # not re-centred on its own statistics
    restored = Standardizer.from_dict(s.to_dict())
    np.testing.assert_array_equal(restored.transform(X_val), Z_val)


def test_one_hot():
    Y = one_hot(np.array([0, 3, 9, 3]))
    assert Y.shape == (4, 10) and Y.dtype == np.float32
    np.testing.assert_array_equal(Y.argmax(axis=1), [0, 3, 9, 3])
    np.testing.assert_array_equal(Y.sum(axis=1), np.ones(4))


# ---------------------------------------------------------------- damaged caches (issue 12)


def _only_cache(directory):
    (cache,) = (directory / ".cache").iterdir()
    return cache


def test_a_zero_byte_cache_is_parsed_again_not_an_EOFError(small_train):
    path, X, y = small_train
    load_train(path)
    _only_cache(path.parent).write_bytes(b"")
    X_got, y_got = load_train(path)
    np.testing.assert_array_equal(X_got, X)
    np.testing.assert_array_equal(y_got, y)
    assert _only_cache(path.parent).stat().st_size > 0  # replaced by a good one


def test_a_flipped_byte_in_the_cache_is_noticed(small_train):
    """A label turned into 200 by a damaged cache must not be 'validated' (201 class counts)."""
    path, X, y = small_train
    load_train(path)
    cache = _only_cache(path.parent)
    raw = bytearray(cache.read_bytes())
    first_label = len(raw) - X.size - len(y)  # the matrix is the end of the .npy file
    raw[first_label] = 200
    cache.write_bytes(bytes(raw))
    X_got, y_got = load_train(path)
    np.testing.assert_array_equal(y_got, y)
    assert np.bincount(y_got).size == 10


def test_a_flipped_pixel_in_the_cache_is_noticed(small_train):
    path, X, _ = small_train
    load_train(path)
    cache = _only_cache(path.parent)
    raw = bytearray(cache.read_bytes())
    raw[-1] ^= 0xFF
    cache.write_bytes(bytes(raw))
    np.testing.assert_array_equal(load_train(path)[0], X)


# ---------------------------------------------------------------- what is not a CSV (issue 12)
# `make data` (tools/csvcheck.py) names each of these; fmnist.data still refuses them in one line.


def check_train(path):
    return csvcheck.check_csv(path, "train")


def check_test(path):
    return csvcheck.check_csv(path, "test")

# (id, the text put into pixel column 10 of line 3, words of the message)
ODD_CHARACTERS = [
    ("no-break space", "1\u00a02", ["U+00A0", "NO-BREAK SPACE"]),
    ("full-width digit", "\uff15", ["U+FF15", "FULLWIDTH DIGIT FIVE"]),
    ("arabic-indic digits", "\u0663\u0664", ["U+0663", "ARABIC-INDIC DIGIT THREE"]),
    ("vertical tab", "\v7", ["U+000B"]),
    ("form feed", "7\f", ["U+000C"]),
]


@pytest.mark.parametrize("cell, words", [c[1:] for c in ODD_CHARACTERS],
                         ids=[c[0] for c in ODD_CHARACTERS])
def test_characters_python_reads_as_digits_are_named_with_line_and_column(tmp_path, cell, words):
    _assert_bad_file(tmp_path / "train.csv", check_train, _set(_train_lines(), 3, 10, cell), 3,
                     ["column 10 (pixel 9)", *words])
    with pytest.raises(DataError, match=r"line 3: column 10 \(pixel 9\) is '"):
        load_train(tmp_path / "train.csv")


def test_a_latin1_byte_is_named_with_line_and_column(tmp_path):
    path = tmp_path / "test.csv"
    lines = [ln.encode() for ln in _test_lines()]
    lines[4] = lines[4].replace(b",", b",\xa0", 3)
    path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(DataError, match=r"line 5: column 2 \(pixel 2\) contains the byte 0xa0"):
        check_test(path)
    with pytest.raises(DataError, match=r"line 5: column 2 \(pixel 2\) is '"):
        load_test(path)


def _utf16(path):
    path.write_text("\n".join(_train_lines()) + "\n", encoding="utf-16")


def _gzip(path):
    import gzip
    path.write_bytes(gzip.compress(("\n".join(_train_lines()) + "\n").encode()))


def _folder(path):
    path.mkdir()
    (path / "train.csv").write_text("x\n")


def _loop(path):
    os.symlink(path.name + ".b", path.with_name(path.name + ".a"))
    os.symlink(path.name + ".a", path.with_name(path.name + ".b"))
    os.symlink(path.name + ".a", path)


def _dangling(path):
    os.symlink("/mnt/course-drive/train.csv", path)


def _huge(path):
    with open(path, "wb") as f:
        f.truncate(20 * 1024**3)  # sparse: costs no disk


NOT_CSV = [
    ("utf-16", _utf16, ["UTF-16", "CSV UTF-8"]),
    ("gzip named .csv", _gzip, ["gzip-compressed", "gunzip"]),
    ("a folder", _folder, ["is a folder, not a CSV file"]),
    ("symlink loop", _loop, ["symbolic link loop"]),
    ("dangling symlink", _dangling, ["symbolic link to /mnt/course-drive/train.csv",
                                     "does not exist"]),
    ("20 GB", _huge, ["21.5 GB", "right file"]),
]


@pytest.mark.parametrize("make, words", [c[1:] for c in NOT_CSV], ids=[c[0] for c in NOT_CSV])
def test_what_is_not_a_csv_file_is_named(tmp_path, make, words):
    path = tmp_path / "train.csv"
    make(path)
    with pytest.raises(DataError) as info:
        check_train(path)
    for word in [str(path), *words]:
        assert word in str(info.value), str(info.value)
    with pytest.raises(DataError) as info:  # fmnist alone: one line naming the file
        load_train(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    assert cache_files(tmp_path) == []


@pytest.mark.parametrize("make, words", [c[1:] for c in NOT_CSV], ids=[c[0] for c in NOT_CSV])
def test_cli_data_says_what_is_not_a_csv_file_in_one_line(tmp_path, make, words):
    make(tmp_path / "train.csv")
    write_test_csv(tmp_path / "test.csv", make_images(1)[0])
    before = sorted(p.name for p in tmp_path.iterdir())
    proc = run_data("--data-dir", str(tmp_path), "--idx-dir", str(tmp_path / "none"))
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert str(tmp_path / "train.csv") in proc.stderr and words[0] in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".cache") == before


def test_an_unreadable_file_says_permission_denied(small_train, monkeypatch):
    """Tests run as root, who can read anything: simulate the non-root user's PermissionError."""
    path, _, _ = small_train

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(csvcheck, "open", denied, raising=False)
    with pytest.raises(DataError, match=r"train.csv: permission denied.*chmod u\+r"):
        check_train(path)


def test_a_read_error_names_the_file(small_train, monkeypatch):
    path, _, _ = small_train

    def io_error(*args, **kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(csvcheck, "open", io_error, raising=False)
    with pytest.raises(DataError, match=r"train.csv: could not be read \(Input/output error\)"):
        check_train(path)
    monkeypatch.setattr(type(path), "read_bytes", io_error)
    with pytest.raises(DataError, match=r"train.csv: could not be read \(Input/output error\)"):
        load_train(path)


def test_a_20_GB_file_is_refused_before_reading_it(tmp_path, monkeypatch):
    path = tmp_path / "test.csv"
    _huge(path)
    monkeypatch.setattr(csvcheck, "read_input", lambda p: pytest.fail("read a 20 GB file"))
    with pytest.raises(DataError, match="GB, far more than any Fashion-MNIST CSV"):
        check_test(path)
    monkeypatch.setattr(type(path), "read_bytes", lambda p: pytest.fail("read a 20 GB file"))
    with pytest.raises(DataError, match="over 1 GB"):
        load_test(path)


# ---------------------------------------------------------------- splits that cannot be made


def test_a_train_file_too_small_to_split_says_which_class_and_what_to_do():
    X, y = make_images(2)  # valid, but 2 rows per class: 10% of 2 rounds to none
    with pytest.raises(DataError) as info:
        train_val_split(X, y, val_fraction=0.1)
    msg = str(info.value)
    assert "class 0 (T-shirt/top) has only 2 rows" in msg and "full train.csv" in msg, msg


def test_a_class_that_would_go_entirely_to_validation_is_refused():
    X, y = make_images(2)
    with pytest.raises(DataError, match="class 0 .* has only 2 rows"):
        train_val_split(X, y, val_fraction=0.9)


@pytest.mark.parametrize("fraction", [0, 1, 1.5, -0.1, float("nan")])
def test_val_fraction_outside_0_1_is_a_data_error(fraction):
    X, y = _labelled(per_class=20)
    with pytest.raises(DataError, match=r"val_fraction must be between 0 and 1.*0\.1"):
        train_val_split(X, y, val_fraction=fraction)


def test_a_line_of_millions_of_values_is_refused_in_moments(tmp_path):
    """A hostile file: one 6 MB line. It used to take minutes (pandas and the header check
    went through every value); counting the commas first names it at once."""
    import time

    path = tmp_path / "train.csv"
    path.write_bytes(b"1," * 3_000_000 + b"1\n" + "\n".join(_train_lines()).encode() + b"\n")
    t0 = time.perf_counter()
    with pytest.raises(DataError, match=r"line 1: 3000001 values, expected 785"):
        load_train(path)
    assert time.perf_counter() - t0 < 30
    lines = _train_lines()
    lines[4] = "1," * 3_000_000 + "1"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"line 5: 3000001 values"):
        load_train(path)


def test_old_mac_line_endings_are_read_like_any_others(tmp_path):
    """Excel's "CSV (Macintosh)" ends lines with CR alone; a bad line is still named."""
    X, y = make_images(2)
    path = tmp_path / "train.csv"
    path.write_bytes(csv_text(np.column_stack([y, X])).replace("\n", "\r").encode())
    np.testing.assert_array_equal(load_train(path)[0], X)
    path.write_bytes("\r".join(_set(_train_lines(), 6, 3, "x")).encode())
    with pytest.raises(DataError, match=r"line 6: column 3 \(pixel 2\) is 'x'"):
        load_train(path)
