"""Project tooling that is not part of the solution code (may use any PyPI package)."""
