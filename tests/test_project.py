"""Project-level rules that are easy to break without noticing."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_fmnist_imports_nothing_from_tools():
    """The hand-in packs fmnist/ without tools/: the solution must run without it."""
    offenders = [f"{path.relative_to(ROOT)}:{lineno}" for path in sorted((ROOT / "fmnist")
                 .rglob("*.py")) for lineno, name in imported_top_level_names(path)
                 if name == "tools"]
    assert not offenders, offenders


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
    try:
        out = subprocess.run(["git", "ls-files", "data"], cwd=ROOT, capture_output=True,
                             text=True)
    except FileNotFoundError:
        pytest.skip("git is not installed")
    if out.returncode != 0:
        pytest.skip("not a git checkout (e.g. an unpacked submission)")
    assert not [f for f in out.stdout.split() if f.endswith(".csv")]


# ------------------------------------------------------------------------------- layering

PACKAGE = ROOT / "fmnist"
MAX_LINES = 300
MAX_MODULES = 12


def fmnist_imports(path: Path, package_modules: set[str]) -> set[str]:
    """The fmnist modules that `path` imports, at the top or inside a function:
    `import fmnist.x`, `from fmnist.x import y`, `from fmnist import x` (x a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative: from . import x, from .x import y
                module = f"fmnist.{module}".rstrip(".")
            names = ([f"fmnist.{a.name}" for a in node.names] if module == "fmnist"
                     else [module])
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "fmnist" and len(parts) > 1 and parts[1] in package_modules:
                found.add(parts[1])
    return found


def import_graph(folder: Path = PACKAGE) -> dict[str, set[str]]:
    """module -> the package modules it imports (the package's __init__ aside: it only
    re-exports the public names; __main__ is the command line, on top)."""
    paths = {p.stem: p for p in folder.glob("*.py") if p.stem != "__init__"}
    return {name: fmnist_imports(path, set(paths)) - {name} for name, path in paths.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node):
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": set(), "b": {"c"}, "c": {"b"}}) == ["b", "c", "b"]


def test_the_import_graph_finds_lazy_and_package_imports(tmp_path):
    (tmp_path / "a.py").write_text("from fmnist import b as B\nimport fmnist.c\n")
    (tmp_path / "b.py").write_text("def f():\n    from fmnist.a import x\n")
    (tmp_path / "c.py").write_text("import numpy\nfrom fmnist import NAME\n")
    (tmp_path / "d.py").write_text("from . import a\nfrom .b import f\n")
    assert import_graph(tmp_path) == {"a": {"b", "c"}, "b": {"a"}, "c": set(), "d": {"a", "b"}}


def test_fmnist_modules_import_each_other_without_a_cycle():
    """One-way layers, counting the imports inside functions too."""
    graph = import_graph()
    assert {"models", "training", "__main__", "plans", "runner", "experiments"} <= set(graph)
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_training_loop_knows_no_model_class():
    """training.py trains models through the interface of its docstring only."""
    assert "models" not in import_graph()["training"]
    tree = ast.parse((PACKAGE / "training.py").read_text())
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    names |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert not names & {"LogisticRegression", "MLP", "MODELS", "load_model"}


def test_fmnist_is_small_at_most_12_modules_none_over_300_lines():
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) <= MAX_MODULES, [p.name for p in modules]
    long = {p.name: n for p in modules if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"split these modules (over {MAX_LINES} lines): {long}"


def test_tools_use_no_private_fmnist_module():
    offenders = []
    for path in sorted((ROOT / "tools").rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            if isinstance(node, ast.ImportFrom) and node.module == "fmnist":
                names += [f"fmnist.{a.name}" for a in node.names]
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno}: {name}" for name in names
                          if any(part.startswith("_") for part in name.split(".")[1:2])
                          and name.startswith("fmnist.")]
    assert not offenders, "\n".join(offenders)


def test_no_line_of_the_report_starts_with_an_inline_result():
    """A line that starts with `{python} ...` can become '16) ...' or '2048.', which Markdown
    reads as a list marker: a number torn out of its sentence."""
    in_chunk, bad = False, []
    for i, line in enumerate((ROOT / "report.qmd").read_text().splitlines(), start=1):
        if line.startswith("```"):
            in_chunk = not in_chunk
        elif not in_chunk and line.lstrip().startswith("`{python}"):
            bad.append(i)
    assert not bad, f"report.qmd lines starting with an inline result: {bad}"
