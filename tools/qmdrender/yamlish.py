"""Deprecated alias of `yamlio` (PyYAML): kept only until tools/submission.py stops importing
it (another branch switches it to PyYAML); delete this file at that merge."""

from .yamlio import YamlError, loads

__all__ = ["YamlError", "loads"]
