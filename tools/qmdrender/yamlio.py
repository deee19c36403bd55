"""YAML through PyYAML (the library Quarto's Jupyter engine uses), with the error's line.

`loads(text, first_line)` numbers lines as in the file the text came from, so errors can
say `file.qmd:LINE`.
"""

from __future__ import annotations

import yaml


class YamlError(ValueError):
    """Unreadable YAML; `.line` is the 1-based line in the enclosing file."""

    def __init__(self, message: str, line: int):
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.reason = message


def loads(text: str, first_line: int = 1):
    """Parse `text` (safe loader: plain data only); `first_line` is the file line of its line 1.

    Dates stay strings (`date: 2025-01-01`), as Quarto reads them.
    """
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = first_line + (mark.line if mark else 0)
        reason = " ".join(str(p) for p in (err.context, err.problem) if p)
        raise YamlError(reason or str(err), line) from None
    except yaml.YAMLError as err:
        raise YamlError(str(err), first_line) from None


class _Loader(yaml.SafeLoader):
    """SafeLoader that leaves timestamps as text."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
