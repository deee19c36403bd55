"""Build `data/train.csv` and `data/test.csv` from Debian's Fashion-MNIST IDX files (what
`make data` runs when data/ holds neither; see tools/data.py).

The exercise ships 56,000 labelled training rows and 14,000 unlabelled test rows. We rebuild
files of exactly that format from the 70,000 images of the original dataset: all four IDX files
are pooled, 1,400 images per class are drawn (seeded, stratified) for `test.csv`, and the rest
form `train.csv`. Test labels are discarded, never written anywhere under `data/`.
"""

from __future__ import annotations

import gzip
import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np

from fmnist.data import CLASS_NAMES, IMAGE_SHAPE, N_CLASSES, N_PIXELS, DataError
from tools import datadir
from tools.datadir import format_rows  # noqa: F401 - part of this module's API

DEFAULT_IDX_DIR = Path("/usr/share/datasets/fashion-mnist")
DEBIAN_PACKAGE = "dataset-fashion-mnist"
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_MAGIC_NDIM = {0x0801: 1, 0x0803: 3}  # unsigned-byte labels (n,) and images (n, rows, cols)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (plain or gzipped): uint8 labels (n,) or images (n, rows, cols).

    The header is a big-endian magic number (0x0801 labels, 0x0803 images: unsigned bytes and
    the number of dimensions) followed by one uint32 per dimension; the data must then have
    exactly the product of the dimensions in bytes.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise DataError(f"{path}: damaged gzip file ({err}); reinstall "
                            f"{DEBIAN_PACKAGE} or download the file again") from None
    if len(raw) < 4:
        raise DataError(f"{path}: only {len(raw)} bytes, too short for an IDX header")
    (magic,) = struct.unpack(">I", raw[:4])
    if magic not in _MAGIC_NDIM:
        raise DataError(f"{path}: magic number 0x{magic:08x} is not an IDX file of unsigned "
                        "bytes (expected 0x00000801 for labels or 0x00000803 for images)")
    ndim = _MAGIC_NDIM[magic]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: header cut short ({len(raw)} bytes, need {header})")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(dims, dtype=np.int64))
    if len(raw) - header != expected:
        raise DataError(f"{path}: header says {' x '.join(map(str, dims))} = {expected} bytes "
                        f"of data but the file holds {len(raw) - header}; the file is damaged")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims).copy()


def _idx_path(idx_dir: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (idx_dir / name).is_file():
            return idx_dir / name
    return None


def _missing_idx(idx_dir: Path) -> list[str]:
    return [stem for stem in IDX_FILES.values() if _idx_path(idx_dir, stem) is None]


def load_idx_pool(idx_dir: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """All 70,000 images of the four IDX files: X uint8 (n, 784), y int64 (n,)."""
    idx_dir = Path(idx_dir)
    missing = _missing_idx(idx_dir)
    if missing:
        raise DataError(f"{idx_dir}: missing IDX file(s) {', '.join(missing)} (or .gz)")
    parts_X, parts_y = [], []
    for split in ("train", "test"):
        images_path = _idx_path(idx_dir, IDX_FILES[f"{split}_images"])
        labels_path = _idx_path(idx_dir, IDX_FILES[f"{split}_labels"])
        images, labels = read_idx(images_path), read_idx(labels_path)
        if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
            raise DataError(f"{images_path}: expected images of shape (n, 28, 28), "
                            f"got {images.shape}")
        if labels.ndim != 1:
            raise DataError(f"{labels_path}: expected a label file (magic 0x00000801), "
                            f"got {labels.ndim} dimensions")
        if len(images) != len(labels):
            raise DataError(f"{images_path} has {len(images)} images but {labels_path} has "
                            f"{len(labels)} labels")
        if labels.size and labels.max() >= N_CLASSES:
            raise DataError(f"{labels_path}: label {labels.max()} is not a class 0..9")
        parts_X.append(images.reshape(len(images), N_PIXELS))
        parts_y.append(labels.astype(np.int64))
    return np.concatenate(parts_X), np.concatenate(parts_y)


def build_csvs(out_dir: str | os.PathLike, idx_dir: str | os.PathLike | None = None,
               seed: int = 0, test_per_class: int = 1400) -> tuple[Path, Path]:
    """Pool the IDX images and write `train.csv`, `test.csv` and `provenance.json` into `out_dir`.

    `test.csv` gets `test_per_class` images of every class (seeded, stratified), pixels only;
    `train.csv` gets the rest as `label,pixel...`. Both have no header, rows shuffled, and are
    byte-identical for the same seed. Returns `(train_path, test_path)`.

    The pair is replaced as one: both files are written to temporary files first, then a mark
    (`.build-in-progress`, holding their checksums) is written, both are renamed into place,
    the record is written and the mark removed. A build killed half-way leaves the mark, and
    the next `make data` (tools/data.py) removes the files it names and builds again. Disk
    errors (a full disk, a read-only folder) raise DataError and leave nothing behind.
    """
    idx_dir = Path(idx_dir) if idx_dir is not None else default_idx_dir()
    if test_per_class < 1:
        raise ValueError(f"test_per_class must be at least 1, got {test_per_class}")
    X, y = load_idx_pool(idx_dir)
    counts = np.bincount(y, minlength=N_CLASSES)
    if counts.min() <= test_per_class:
        c = int(counts.argmin())
        raise DataError(f"{idx_dir}: class {c} ({CLASS_NAMES[c]}) has only {counts[c]} images, "
                        f"not enough for {test_per_class} test images and some training ones")
    rng = np.random.default_rng(seed)
    test_idx = np.concatenate([rng.choice(np.flatnonzero(y == c), test_per_class, replace=False)
                               for c in range(N_CLASSES)])
    is_test = np.zeros(len(y), dtype=bool)
    is_test[test_idx] = True
    test_idx = rng.permutation(test_idx)
    train_idx = rng.permutation(np.flatnonzero(~is_test))
    train_rows = np.column_stack([y[train_idx].astype(np.uint8), X[train_idx]])

    out_dir = Path(out_dir)
    train_path, test_path = out_dir / "train.csv", out_dir / "test.csv"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with datadir.build_lock(out_dir):
            datadir.clear_leftovers(out_dir)
            datadir.write_pair(out_dir, train_rows, X[test_idx], {
                "source": "built", "seed": int(seed), "idx_dir": str(idx_dir.resolve()),
                "test_per_class": int(test_per_class),
                "train_rows": int(len(train_rows)), "test_rows": int(len(test_idx))})
    except OSError as err:
        raise datadir.write_error(out_dir, err) from None
    return train_path, test_path


def default_idx_dir() -> Path:
    """Where the IDX files are: env FMNIST_IDX_DIR, else Debian's package directory."""
    return Path(os.environ.get("FMNIST_IDX_DIR") or DEFAULT_IDX_DIR)


def _install_debian_package() -> bool:
    """As root on Debian: apt-get install the dataset package (apt-get update first if
    needed). Output goes to stderr. Returns whether the install succeeded."""
    for step in ([], ["update"]):
        if step:
            cmd = ["apt-get", *step]
            print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
            subprocess.run(cmd, stdout=sys.stderr, stderr=sys.stderr, check=False)
        cmd = ["apt-get", "install", "-y", DEBIAN_PACKAGE]
        print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if subprocess.run(cmd, stdout=sys.stderr, stderr=sys.stderr, env=env,
                          check=False).returncode == 0:
            return True
    return False


def _can_install() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get") is not None


def provision_idx(idx_dir: Path, data_dir: Path) -> None:
    """Make sure the IDX files are in `idx_dir`, installing the Debian package if we can."""
    if not _missing_idx(idx_dir):
        return
    advice = (f"or copy the course's train.csv and test.csv into {data_dir}/")
    if idx_dir != DEFAULT_IDX_DIR:
        raise DataError(f"{idx_dir}: no Fashion-MNIST IDX files ({', '.join(_missing_idx(idx_dir))}"
                        f"); point FMNIST_IDX_DIR/--idx-dir at the directory holding them, "
                        + advice)
    if _can_install():
        print(f"{idx_dir} is missing; installing the Debian package {DEBIAN_PACKAGE}",
              file=sys.stderr)
        if _install_debian_package() and not _missing_idx(idx_dir):
            return
        raise DataError(f"apt-get could not install {DEBIAN_PACKAGE} (see its output above); "
                        f"install it by hand, " + advice)
    raise DataError(f"{idx_dir}: the Fashion-MNIST IDX files are missing; run "
                    f"`sudo apt-get install {DEBIAN_PACKAGE}` and try again, " + advice)
