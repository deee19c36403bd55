"""Quick mode (`FMNIST_QUICK=1`): every long computation made small, its outputs marked.

The environment variable is read here and only here. Beside every output F that quick mode
writes lies a marker `F.quick`; a full run removes it, and `make submission` refuses while one
exists.
"""

from __future__ import annotations

import os
from pathlib import Path

from fmnist.data import atomic_write

ENV = "FMNIST_QUICK"
NOTE = ("made in quick mode (FMNIST_QUICK=1: small subsets, few epochs); not a real result. "
        "A full run (`make report` without FMNIST_QUICK) replaces it.\n")
_FALSE = ("", "0", "false", "no", "off")


def enabled(quick: bool | None = None) -> bool:
    """`quick` if given, else whether FMNIST_QUICK is set to a true value (1, true, yes...)."""
    if quick is not None:
        return bool(quick)
    return os.environ.get(ENV, "").strip().lower() not in _FALSE


def marker(path: str | os.PathLike) -> Path:
    """The quick-mode marker of an output file: `F.quick` beside `F`."""
    path = Path(path)
    return path.with_name(path.name + ".quick")


def mark(path: str | os.PathLike, quick: bool) -> None:
    """Make `F.quick` exist exactly when the output F was made in quick mode."""
    m = marker(path)
    if quick:
        with atomic_write(m, "w") as f:
            f.write(NOTE)
    else:
        m.unlink(missing_ok=True)


def is_marked(path: str | os.PathLike) -> bool:
    return marker(path).exists()
