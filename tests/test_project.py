"""Project-level rules that are easy to break without noticing."""

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = set(sys.stdlib_module_names) | {"numpy", "pandas", "matplotlib", "fmnist"}


def imported_top_level_names(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


def test_fmnist_imports_only_stdlib_numpy_pandas_matplotlib():
    offenders = [
        f"{path.relative_to(ROOT)}:{lineno}: {name}"
        for path in sorted((ROOT / "fmnist").rglob("*.py"))
        for lineno, name in imported_top_level_names(path)
        if name not in ALLOWED
    ]
    rule = "fmnist/ may import only stdlib, numpy, pandas, matplotlib:"
    assert not offenders, "\n".join([rule, *offenders])


def test_readme_opens_with_the_two_commands():
    text = (ROOT / "README.md").read_text()
    first_block = re.search(r"```(?:sh|bash|console)?\n(.*?)```", text, re.S)
    assert first_block, "README.md has no code block"
    commands = [ln.split("#")[0].strip() for ln in first_block.group(1).splitlines()]
    assert [c for c in commands if c] == ["make report", "make test"]


def test_makefile_has_the_readme_targets():
    makefile = (ROOT / "Makefile").read_text()
    for target in ("report", "test", "data", "render", "submission"):
        assert re.search(rf"^{target}:", makefile, re.M), f"Makefile lacks target {target!r}"


def test_no_data_csv_is_tracked():
    import subprocess

    out = subprocess.run(["git", "ls-files", "data"], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:  # not a git checkout (e.g. an unpacked submission)
        return
    assert not [f for f in out.stdout.split() if f.endswith(".csv")]
