"""fmnist.data's writers: atomic writes and the prediction file format."""

import os
import stat

import numpy as np
import pytest

from fmnist.data import atomic_write, write_predictions


def test_atomic_write_leaves_no_file_when_the_block_fails(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError), atomic_write(target) as f:
        f.write("partial")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_keeps_the_old_file_when_the_block_fails(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target) as f:
        f.write("new")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_write_gives_the_usual_permissions(tmp_path):
    """mkstemp makes 0600 files; outputs should be readable like any file the user writes."""
    umask = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "out.txt") as f:
            f.write("x")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "out.txt").stat().st_mode) == 0o644


def test_predictions_round_trip_in_the_exercise_format(tmp_path):
    y = np.array([0, 9, 3, 3, 7])
    path = write_predictions(tmp_path / "pred.csv", y)
    assert path.read_text() == "0\n9\n3\n3\n7\n"
    np.testing.assert_array_equal(np.loadtxt(path, dtype=np.int64), y)


@pytest.mark.parametrize("bad", [np.array([[1, 2]]), np.array([0, 10]), np.array([-1])])
def test_write_predictions_rejects_non_class_indices(tmp_path, bad):
    with pytest.raises(ValueError):
        write_predictions(tmp_path / "pred.csv", bad)
    assert not (tmp_path / "pred.csv").exists()
