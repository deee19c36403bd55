"""`python -m tools.qmdrender FILE.qmd [-o OUT.pdf] [--build-dir D]` renders a PDF;
`--to ipynb FILE.qmd` / `--to qmd FILE.ipynb` convert as `quarto convert` does."""

from __future__ import annotations

import argparse
import errno
import signal
import sys
import threading
from pathlib import Path

from tools import oneline

from .convert import check_overwrite, ipynb_to_qmd, qmd_to_ipynb, record_sync
from .errors import RenderError
from .fileio import atomic_write
from .render import render


def convert(source: str, to: str, output: str | None) -> Path:
    """Write `source` converted to `to` (ipynb or qmd), beside it unless `output`."""
    src = Path(source)
    want = ".qmd" if to == "ipynb" else ".ipynb"
    if src.suffix != want:
        raise RenderError(f"{src}: --to {to} converts a {want} file")
    try:
        text = src.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RenderError(f"{src}: no such file") from None
    try:
        out_text = qmd_to_ipynb(text) if to == "ipynb" else ipynb_to_qmd(text)
    except RenderError as err:
        raise RenderError(f"{src}:{str(err).removeprefix('line ')}") from None
    dest = Path(output) if output else src.with_suffix(f".{to}")
    check_overwrite(src, text, dest)
    with atomic_write(dest, "w") as f:
        f.write(out_text)
    if to == "qmd":
        record_sync(src, out_text)
    return dest


def os_error_line(err: OSError) -> str:
    """A failed write (read-only folder, full disk, ...) as one line naming the file."""
    where = err.filename or "a file"
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"{where}: no space left on the disk; free some space and render again"
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return (f"{where}: cannot write here ({err.strerror}); the project folder must be "
                "writable: render in a writable copy of it")
    return f"{where}: {err.strerror or err}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.qmdrender",
                                     description="Render a Quarto document to PDF without Quarto, "
                                     "or convert it to/from a Jupyter notebook.")
    parser.add_argument("qmd", help="the .qmd file (the .ipynb file with --to qmd)")
    parser.add_argument("-o", "--output", help="the file to write (default: beside the input)")
    parser.add_argument("--to", choices=["pdf", "ipynb", "qmd"], default="pdf",
                        help="pdf (render, the default), ipynb or qmd (convert)")
    parser.add_argument("--build-dir", help="folder for intermediates "
                        "(default: _build/<name>/ in the project root)")
    args = parser.parse_args(argv)
    if threading.current_thread() is threading.main_thread():  # `kill`, `timeout`: as Ctrl-C
        signal.signal(signal.SIGTERM, signal.default_int_handler)

    def act() -> int:
        if args.to == "pdf":
            render(args.qmd, args.output, args.build_dir)
        else:
            print(f"wrote {convert(args.qmd, args.to, args.output)}", file=sys.stderr)
        return 0

    return oneline.run(act, RenderError, args.qmd, code=1, os_line=os_error_line)


if __name__ == "__main__":
    sys.exit(main())
