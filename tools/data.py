"""`python -m tools.data [--data-dir DIR] [--idx-dir DIR] [--seed N]` (`make data`): build
data/train.csv and data/test.csv from Debian's Fashion-MNIST IDX files when neither exists,
otherwise diagnose and validate the files there (the course's, or an earlier build).

Prints what it built or validated, where the data came from, and any test image that also
appears in train.csv. Every problem ends in one line `error: ...` and exit status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import sys
import time
from pathlib import Path

import numpy as np

from fmnist.data import N_CLASSES, DataError, default_data_dir, load_test, load_train
from tools import datadir, oneline, provenance
from tools.build import DEFAULT_IDX_DIR, build_csvs, default_idx_dir, provision_idx
from tools.csvcheck import check_csv, inspect_input


def _check_data_dir(data_dir: Path) -> None:
    if data_dir.is_symlink() and not data_dir.exists():
        raise DataError(f"{data_dir} is a symbolic link to {os.readlink(data_dir)}, which does "
                        "not exist (a drive not mounted?); mount it, or delete the link")
    if data_dir.exists() and not data_dir.is_dir():
        raise DataError(f"{data_dir} is a file, not a folder; --data-dir/FMNIST_DATA_DIR must "
                        "name the folder that holds (or will hold) train.csv and test.csv")


def ensure(data_dir: Path, idx_dir: Path, seed: int = 0) -> tuple[Path, Path, bool]:
    """Validate train.csv/test.csv in `data_dir` if both exist, else build them; returns their
    paths and whether they were built. DataError on a bad file, on only one of the two being
    there (a user's file is never overwritten) or when the IDX files cannot be had."""
    _check_data_dir(data_dir)
    train_path, test_path = data_dir / "train.csv", data_dir / "test.csv"
    if (data_dir / datadir.BUILD_MARK).exists():
        try:
            with datadir.build_lock(data_dir):
                datadir.recover(data_dir)
                datadir.clear_leftovers(data_dir)
        except OSError as err:
            raise datadir.write_error(data_dir, err) from None
    have_train = inspect_input(train_path) is not None  # DataError for dangling links, folders..
    have_test = inspect_input(test_path) is not None
    if have_train and have_test:
        check_csv(train_path, "train")
        check_csv(test_path, "test")
        if os.access(data_dir, os.W_OK):
            with contextlib.suppress(OSError), datadir.build_lock(data_dir):
                datadir.clear_leftovers(data_dir)
                provenance.upgrade_record(data_dir)
        return train_path, test_path, False
    if have_train or have_test:
        present, absent = (train_path, test_path) if have_train else (test_path, train_path)
        raise DataError(f"{present} exists but {absent} does not: put the matching "
                        f"{absent.name} beside it, or delete {present} to build both from the "
                        "Fashion-MNIST IDX files (it is not overwritten)")
    existing = next(p for p in (data_dir, *data_dir.parents) if p.exists())
    if not os.access(existing, os.W_OK):  # before installing or loading anything
        raise datadir.write_error(data_dir, OSError(errno.EACCES, os.strerror(errno.EACCES),
                                                    str(existing)))
    provision_idx(idx_dir, data_dir)
    print(f"building {train_path} and {test_path} from {idx_dir} (seed {seed})",
          file=sys.stderr, flush=True)
    build_csvs(data_dir, idx_dir, seed=seed)
    check_csv(train_path, "train")  # checks the result and fills fmnist's parse cache
    check_csv(test_path, "test")
    return train_path, test_path, True


def ensure_data(data_dir: str | os.PathLike | None = None,
                idx_dir: str | os.PathLike | None = None, seed: int = 0) -> tuple[Path, Path]:
    """`ensure` with the default folders: returns (train_path, test_path)."""
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    idx_dir = Path(idx_dir) if idx_dir is not None else default_idx_dir()
    return ensure(data_dir, idx_dir, seed)[:2]


def report(data_dir: Path, idx_dir: Path, seed: int) -> int:
    t0 = time.perf_counter()
    train_path, test_path, built = ensure(data_dir, idx_dir, seed)
    origin = provenance.data_provenance(data_dir)
    pairs = provenance.find_overlap(train_path, test_path)
    X, y = load_train(train_path)  # cached by now: milliseconds
    X_test = load_test(test_path)
    verb = "built" if built else "validated"
    print(f"{verb} {train_path}: {X.shape[0]} x {X.shape[1] + 1} "
          f"(label + {X.shape[1]} pixels), classes {np.bincount(y, minlength=N_CLASSES).tolist()}")
    print(f"{verb} {test_path}: {X_test.shape[0]} x {X_test.shape[1]} (pixels only)")
    print(f"source: {origin['description']}")
    if origin["source"] == "mixed":
        print(f"warning: {origin['description']}", file=sys.stderr)
    if pairs:
        print("warning: " + provenance.overlap_message(pairs, train_path, test_path),
              file=sys.stderr)
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None,
                        help="where train.csv and test.csv live (default: $FMNIST_DATA_DIR "
                             "or ./data)")
    parser.add_argument("--idx-dir", default=None,
                        help=f"where the IDX files are (default: $FMNIST_IDX_DIR or "
                             f"{DEFAULT_IDX_DIR})")
    parser.add_argument("--seed", type=int, default=0, help="seed of the train/test split")
    args = parser.parse_args(argv)
    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    idx_dir = Path(args.idx_dir) if args.idx_dir else default_idx_dir()
    return oneline.run(lambda: report(data_dir, idx_dir, args.seed), DataError, data_dir)


if __name__ == "__main__":
    sys.exit(main())
