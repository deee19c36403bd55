"""The tools' command lines end an error the user can fix in one line, never a traceback."""

from __future__ import annotations

import sys


def run(action, errors: type | tuple, where, code: int = 2, os_line=None) -> int:
    """`action()`'s exit status. One of `errors`, or an OSError (named by `os_line(err)`, else
    by its file or `where`), ends in one line `error: ...` and `code`; Ctrl-C (and SIGTERM where
    it raises KeyboardInterrupt) in `interrupted` and 130."""
    try:
        return action()
    except errors as err:
        print(f"error: {err}", file=sys.stderr)
    except OSError as err:
        line = os_line(err) if os_line else f"{err.filename or where}: {err.strerror or err}"
        print(f"error: {line}", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return code
