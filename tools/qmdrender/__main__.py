"""`python -m tools.qmdrender FILE.qmd [-o OUT.pdf] [--build-dir D]`."""

from __future__ import annotations

import argparse
import sys

from .errors import RenderError
from .render import render


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.qmdrender",
                                     description="Render a Quarto document to PDF without Quarto.")
    parser.add_argument("qmd", help="the .qmd file")
    parser.add_argument("-o", "--output", help="the PDF to write (default: beside the .qmd)")
    parser.add_argument("--build-dir", help="folder for intermediates "
                        "(default: _build/<name>/ in the project root)")
    args = parser.parse_args(argv)
    try:
        render(args.qmd, args.output, args.build_dir)
    except RenderError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
