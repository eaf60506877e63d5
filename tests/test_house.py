"""The rules of the house, read from the imports (ast, no code run).

- pipelines/ has one subpackage per stage and a `core`; core imports no stage;
- a stage imports `core` and its own modules, never another stage; only cli.py, pipeline.py and
  api.py (and __main__.py) know every stage, and the package itself re-exports api.py's names;
- synth and the HTML renderers never import pyspark, not even through another module;
- no `pipelines` import inside a function (cli.py defers its stage imports on purpose: --help,
  generate and package need no Spark; the package defers api.py's, so `import pipelines` loads no
  Spark);
- no module over 500 lines unless its docstring says why;
- py4j (the JVM behind a classic Spark session) only in core/files.py, the one seam for files
  and engines, and in core/session.py, which launches the JVM: no other module reaches for
  `_jvm`, `_jsc`, `_jsparkSession`, a Hadoop configuration or `org.apache...` classes, or
  imports py4j;
- only cli.py imports argparse or names an `a100m` flag in its strings (docstrings aside): the
  library names options by their Python names and cli.py spells them as flags
  (core/errors.py, `A100mError.about`); the pages that show an operator a command line to run
  are the exceptions, listed below with their reason.
"""

from __future__ import annotations

import ast
import re
import subprocess
import textwrap
from pathlib import Path

from pipelines.cli import build_parser

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
# The modules that may speak py4j, and why (docs/reference.md, "One seam for files and engines").
PY4J_ALLOWED = {
    "pipelines.core.files": "the seam: the lake's Hadoop file system, the catalog, Spark Connect",
    "pipelines.core.session": "launches the JVM gateway with its output sent to the log file",
}
# The modules whose strings may hold a flag of `a100m`, and why.
FLAGS_ALLOWED = {
    "pipelines.cli": "the command line itself",
    "pipelines.report.html": "the report page shows the command an operator runs next",
    "pipelines.report.upkeep": "the report page's upkeep line gives the optimize command to run",
    "pipelines.core.treeview": "the tree page says which command draws another video",
}
_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def cli_flags() -> set[str]:
    """Every long option of every `a100m` command."""
    parser = build_parser()
    flags: set[str] = set()
    parsers = [parser]
    while parsers:
        current = parsers.pop()
        for action in current._actions:
            flags.update(o for o in action.option_strings if o.startswith("--"))
            if action.choices and isinstance(action.choices, dict):
                parsers.extend(action.choices.values())
    return flags - {"--help"}


# Attributes that hand out the JVM (or a JVM object) of a classic session.
JVM_HANDLES = {
    "_jvm",
    "_jsc",
    "_jsparkSession",
    "_jdf",
    "_jconf",
    "_gateway",
    "hadoopConfiguration",
}


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
    flags = cli_flags()
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
        if name not in PY4J_ALLOWED and (use := _py4j_use(modules[name])):
            problems.append(f"{name} uses py4j ({use}): go through pipelines.core.files")
        if name != "pipelines.cli" and any(
            m == "argparse" for m, _ in _imports(name, modules[name])
        ):
            problems.append(f"{name} imports argparse: only pipelines.cli parses flags")
        if name not in FLAGS_ALLOWED:
            for flag, line in _flags_named(modules[name], flags):
                problems.append(
                    f"{name} names the flag {flag} (line {line}): name the option, cli.py spells it"
                )
    return problems


def _flags_named(path: Path, flags: set[str]) -> list[tuple[str, int]]:
    """The `a100m` flags in the module's strings, docstrings aside."""
    tree = ast.parse(path.read_text())
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return [
        (flag, node.lineno)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        for flag in _FLAG.findall(node.value)
        if flag in flags
    ]


def _py4j_use(path: Path) -> str | None:
    """A py4j use in the module's code (not its strings: a logger named "py4j" or a
    help text that mentions it is no use), or None."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and node.attr in JVM_HANDLES:
            return f".{node.attr}, line {node.lineno}"
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "apache"
            and isinstance(node.value, ast.Attribute | ast.Name)
            and getattr(node.value, "attr", getattr(node.value, "id", None)) == "org"
        ):
            return f"org.apache..., line {node.lineno}"
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            if any(n == "py4j" or n.startswith(("py4j.", "pyspark.java_gateway")) for n in names):
                return f"import py4j, line {node.lineno}"
        if isinstance(node, ast.Name) and node.id in JVM_HANDLES:
            return f"{node.id}, line {node.lineno}"
    return None


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
    write("ingest/listing.py", "def ls(spark):\n    return spark.sparkContext._jsc\n")
    write("core/gateway.py", "from py4j.java_gateway import JavaObject\n")
    write("core/classes.py", "def p(jvm):\n    return jvm.org.apache.hadoop.fs.Path\n")
    write("core/files.py", "def ls(spark):\n    return spark.sparkContext._jvm\n")
    write("core/console.py", 'CHATTY = ("py4j",)\n')
    write("trainset/options.py", '"""Doc: --split is fine here."""\nimport argparse\n')
    write("trainset/__init__.py", "")
    write(
        "trainset/stage.py",
        'def f(x):\n    """--split here too."""\n    raise ValueError(f"--split {x}")\n',
    )
    write("core/native.py", 'JAVAC = ["javac", "--release", "17"]\n')
    problems = house_problems(tmp_path)
    assert "pipelines.core.lake (core) imports pipelines.ingest.stage (stage ingest)" in problems
    assert (
        "pipelines.ingest.stage (stage ingest) imports pipelines.stats.figures (stage stats)"
        in problems
    )
    assert "pipelines.stats.figures imports pipelines.core.lake inside a function" in problems
    assert "pipelines.stats.html imports pyspark through pipelines.stats.figures" in problems
    assert "pipelines.synth.big has 601 lines and no reason in its docstring" in problems
    seam = "go through pipelines.core.files"
    assert f"pipelines.ingest.listing uses py4j (._jsc, line 2): {seam}" in problems
    assert f"pipelines.core.gateway uses py4j (import py4j, line 1): {seam}" in problems
    assert f"pipelines.core.classes uses py4j (org.apache..., line 2): {seam}" in problems
    assert (
        "pipelines.trainset.options imports argparse: only pipelines.cli parses flags" in problems
    )
    flag_lines = [p for p in problems if " names the flag " in p]
    assert flag_lines == [
        "pipelines.trainset.stage names the flag --split (line 3): name the option, cli.py spells it"
    ]
    assert not [
        p for p in problems if p.startswith(("pipelines.core.files ", "pipelines.core.console "))
    ]


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
