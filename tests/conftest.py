"""Shared fixtures: small synthetic CSV files, the real Debian IDX directory, the CLI in a
subprocess. The synthetic-data helpers live in `tests/synth.py` (import them from there); the
names below are re-exported for the test files that still import them from conftest."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.synth import (  # noqa: F401  (re-exported: import them from tests.synth)
    csv_text,
    header_line,
    make_images,
    write_idx,
    write_idx_dir,
    write_test_csv,
    write_train_csv,
)

ROOT = Path(__file__).resolve().parents[1]
REAL_IDX_DIR = Path("/usr/share/datasets/fashion-mnist")
HAVE_REAL_IDX = all(
    (REAL_IDX_DIR / f"{stem}.gz").is_file() or (REAL_IDX_DIR / stem).is_file()
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
)
requires_real_idx = pytest.mark.skipif(
    not HAVE_REAL_IDX, reason=f"Debian's dataset-fashion-mnist is not installed ({REAL_IDX_DIR})")


def run_module(module: str, *args: str, env: dict | None = None, cwd: Path | None = None):
    """`python -m MODULE ARGS` in a subprocess; returns the CompletedProcess (text)."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True,
                          text=True, env=full_env, cwd=cwd or ROOT, timeout=300)


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None):
    """`python -m fmnist ARGS` in a subprocess."""
    return run_module("fmnist", *args, env=env, cwd=cwd)


def run_data(*args: str, env: dict | None = None, cwd: Path | None = None):
    """`python -m tools.data ARGS` (`make data`) in a subprocess."""
    return run_module("tools.data", *args, env=env, cwd=cwd)


@pytest.fixture
def small_train(tmp_path):
    """A valid headerless train.csv with 3 examples per class: (path, X, y)."""
    X, y = make_images(3)
    return write_train_csv(tmp_path / "train.csv", X, y), X, y


@pytest.fixture
def small_test(tmp_path):
    """A valid headerless test.csv with 12 rows: (path, X)."""
    X, _ = make_images(1, seed=5)
    X = np.concatenate([X, X[:2]])
    return write_test_csv(tmp_path / "test.csv", X), X


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Every test that uses the real build (about 14 s, once per session) is `slow`, so
    `pytest -m "not slow"` skips the build, wherever its users are."""
    for item in items:
        if "real_build" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def real_build(tmp_path_factory):
    """The one full build from the real IDX files, through the CLI: (data_dir, CompletedProcess)."""
    if not HAVE_REAL_IDX:
        pytest.skip(f"Debian's dataset-fashion-mnist is not installed ({REAL_IDX_DIR})")
    data_dir = tmp_path_factory.mktemp("real_data")
    proc = run_data("--data-dir", str(data_dir), "--idx-dir", str(REAL_IDX_DIR))
    return data_dir, proc
