"""The rules of the house, read from the imports (ast, no code run).

- pipelines/ has one subpackage per stage and a `core`; core imports no stage;
- a stage imports `core` and its own modules, never another stage; only cli.py, pipeline.py and
  api.py (and __main__.py) know every stage, and the package itself re-exports api.py's names;
- synth and the HTML renderers never import pyspark, not even through another module;
- no `pipelines` import inside a function (cli.py defers its stage imports on purpose: --help,
  generate and package need no Spark; the package defers api.py's, so `import pipelines` loads no
  Spark);
- no module over 500 lines unless its docstring says why.
"""

from __future__ import annotations

import ast
import subprocess
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOP_LEVEL = {"cli", "pipeline", "api", "__main__", ""}
DEFERRED_IMPORTS_ALLOWED = {"pipelines.cli", "pipelines"}
NO_PYSPARK = (
    "pipelines.synth",
    "pipelines.stats.html",
    "pipelines.report.html",
    "pipelines.core.html",
    "pipelines.core.treeview",  # the notebook draws trees without Spark
    "pipelines.core.treefigure",
)
MAX_LINES = 500


def _modules(root: Path) -> dict[str, Path]:
    found = {}
    for path in sorted((root / "pipelines").rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path) -> list[tuple[str, bool]]:
    """(imported module, inside a function) for every import of the module."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    result = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                result.extend((alias.name, in_function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                result.append((base, in_function))
                # `from pipelines.x import y` may name a module y
                result.extend((f"{base}.{alias.name}", in_function) for alias in child.names)
            visit(child, nested)

    visit(tree, False)
    return result


def _stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] not in TOP_LEVEL else ""


def house_problems(root: Path) -> list[str]:
    """Every broken rule, one line each, naming the modules involved."""
    modules = _modules(root)
    problems: list[str] = []
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        imported = [(m, f) for m, f in _imports(name, path) if m in modules]
        graph[name] = {m for m, _ in imported}
        stage = _stage(name)
        for target, in_function in imported:
            other = _stage(target)
            if in_function and name not in DEFERRED_IMPORTS_ALLOWED:
                problems.append(f"{name} imports {target} inside a function")
            if not stage and name.split(".")[-1] in TOP_LEVEL - {""}:
                continue  # cli, pipeline, api, __main__ may import every stage
            if name == "pipelines" and target == "pipelines.api":
                continue  # the package re-exports the API (pipelines/__init__.py)
            if stage == "core" and other not in ("core", ""):
                problems.append(f"{name} (core) imports {target} (stage {other})")
            elif stage not in ("core", "") and other not in ("core", stage, ""):
                problems.append(f"{name} (stage {stage}) imports {target} (stage {other})")
            elif other == "" and target.split(".")[-1] in TOP_LEVEL - {""}:
                problems.append(f"{name} imports {target}, which only __main__ and jobs/ may")
        lines = len(path.read_text().splitlines())
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        if lines > MAX_LINES and f"over {MAX_LINES} lines" not in doc.lower():
            problems.append(f"{name} has {lines} lines and no reason in its docstring")

    def reaches_pyspark(name: str, seen: set[str]) -> str | None:
        if name in seen:
            return None
        seen.add(name)
        for imported, _ in _imports(name, modules[name]):
            if imported == "pyspark" or imported.startswith("pyspark."):
                return name
            if imported in modules and (hit := reaches_pyspark(imported, seen)):
                return hit
        return None

    for name in modules:
        if name.startswith(NO_PYSPARK) and (via := reaches_pyspark(name, set())):
            problems.append(f"{name} imports pyspark through {via}")
    return problems


def test_the_house_rules_hold():
    assert house_problems(ROOT) == []


def test_the_rule_checker_names_both_modules_of_a_broken_rule(tmp_path):
    def write(rel: str, text: str) -> None:
        path = tmp_path / "pipelines" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))

    for package in ("", "core/", "ingest/", "stats/", "synth/"):
        write(f"{package}__init__.py", "")
    write("core/lake.py", "from pipelines.ingest import stage\n")
    write("ingest/stage.py", "from pipelines.stats.figures import x\n")
    write("stats/figures.py", "def f():\n    from pipelines.core import lake\n")
    write("stats/html.py", "from pipelines.stats import figures\n")
    write("stats/figures.py", "import pyspark\ndef f():\n    from pipelines.core import lake\n")
    write("synth/big.py", '"""Short."""\n' + "x = 1\n" * 600)
    problems = house_problems(tmp_path)
    assert "pipelines.core.lake (core) imports pipelines.ingest.stage (stage ingest)" in problems
    assert (
        "pipelines.ingest.stage (stage ingest) imports pipelines.stats.figures (stage stats)"
        in problems
    )
    assert "pipelines.stats.figures imports pipelines.core.lake inside a function" in problems
    assert "pipelines.stats.html imports pyspark through pipelines.stats.figures" in problems
    assert "pipelines.synth.big has 601 lines and no reason in its docstring" in problems


def test_nothing_in_the_repository_cites_a_document_outside_it():
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    outside = "DESIGN" + ".md"  # spelled apart so this file does not cite it either
    citing = [
        f
        for f in tracked
        if (ROOT / f).is_file()
        and f.endswith((".py", ".md", ".json", ".yaml", ".ipynb", ".toml"))
        and outside in (ROOT / f).read_text(errors="replace")
    ]
    assert citing == []
