"""The Airflow DAG example, read with `ast`: Airflow is not in the project's environment, and the
file is not imported here (tests/test_airflow.py installs Airflow in its own and runs the DAG).

It must stay valid Python, run on the nightly schedule, submit existing jobs/ entry points with
arguments the `a100m` command accepts, chain run >> report, retry the run only, and ship the
Delta coordinates the project pins (pipelines.session.delta_coordinates()).
"""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]
DAG_FILE = ROOT / "dags" / "a100m_nightly.py"
KNOWN_JOBS = {"run.py", "report.py", "explode.py", "validate.py", "stats.py"}
OPERATOR = "SparkSubmitOperator"


def _call_name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _text(node: ast.AST, constants: dict[str, object]) -> object:
    """The value of a literal, a module-level constant, or an f-string (placeholders kept as {})."""
    if isinstance(node, ast.Name):
        assert node.id in constants, f"{node.id} is not a module-level constant"
        return constants[node.id]
    if isinstance(node, ast.JoinedStr):
        return "".join(
            part.value if isinstance(part, ast.Constant) else "{}" for part in node.values
        )
    if isinstance(node, ast.List):
        return [_text(item, constants) for item in node.elts]
    try:
        return ast.literal_eval(node)
    except ValueError:
        return ast.unparse(node)  # a call such as timedelta(hours=6)


@pytest.fixture(scope="module")
def dag() -> SimpleNamespace:
    source = DAG_FILE.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(DAG_FILE))  # a SyntaxError fails here
    compile(tree, str(DAG_FILE), "exec")

    constants: dict[str, object] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
            if isinstance(target, ast.Name):
                try:
                    constants[target.id] = ast.literal_eval(statement.value)
                except ValueError:
                    constants[target.id] = "{}"  # computed (templated settings)

    dags = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and _call_name(n) == "DAG"]
    tasks: dict[str, dict[str, object]] = {}  # variable -> keyword -> value
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and _call_name(node.value) == OPERATOR
        ):
            (target,) = node.targets
            tasks[target.id] = {
                kw.arg: _text(kw.value, constants) for kw in node.value.keywords if kw.arg
            }
    chains = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.BinOp)
        and isinstance(node.value.op, ast.RShift)
    ]
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    names |= {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    return SimpleNamespace(dags=dags, tasks=tasks, chains=chains, names=names)


def _job(task: dict[str, object]) -> str:
    application = str(task["application"])
    assert "/jobs/" in application, application
    return application.rsplit("/jobs/", 1)[1]


def _task_by_job(dag, job: str) -> str:
    matches = [name for name, task in dag.tasks.items() if _job(task) == job]
    assert len(matches) == 1, f"expected one task running jobs/{job}, found {matches}"
    return matches[0]


def test_one_nightly_dag_without_catchup(dag):
    assert len(dag.dags) == 1
    keywords = {kw.arg: kw.value for kw in dag.dags[0].keywords}
    assert ast.literal_eval(keywords["schedule"]) == "0 2 * * *"
    assert ast.literal_eval(keywords["catchup"]) is False
    assert ast.literal_eval(keywords["dag_id"]) == "a100m_nightly"


def test_two_spark_submit_tasks_and_nothing_else(dag):
    assert len(dag.tasks) == 2, sorted(dag.tasks)
    assert "BashOperator" not in dag.names
    for task in dag.tasks.values():
        assert task["conn_id"] == "spark_default"


def test_applications_are_job_entry_points_that_exist(dag):
    jobs = sorted(_job(task) for task in dag.tasks.values())
    assert jobs == ["report.py", "run.py"]
    for job in jobs:
        assert job in KNOWN_JOBS, job
        assert (ROOT / "jobs" / job).is_file(), (
            f"the DAG submits jobs/{job}, which does not exist yet: add the spark-submit entry "
            f"point (like jobs/run.py, calling pipelines.cli.main with '{job[:-3]}')"
        )


def test_arguments_are_accepted_by_the_a100m_command(dag):
    from pipelines.cli import build_parser

    expected = {"run.py": {"--input", "--lake", "--report"}, "report.py": {"--lake", "--out"}}
    for task in dag.tasks.values():
        job = _job(task)
        args = [str(a) for a in task["application_args"]]
        assert expected[job] <= set(args), (job, args)
        parsed = build_parser().parse_args([job[:-3], *args])  # SystemExit if one is unknown
        assert parsed.command == job[:-3]
        assert parsed.lake == "{}"  # the templated A100M_LAKE setting, the same for both tasks


def test_run_then_report(dag):
    run, report = _task_by_job(dag, "run.py"), _task_by_job(dag, "report.py")
    chains = [
        (chain.left.id, chain.right.id)
        for chain in dag.chains
        if isinstance(chain.left, ast.Name) and isinstance(chain.right, ast.Name)
    ]
    assert chains == [(run, report)]


def test_ships_the_pinned_delta_and_the_package_zip(dag):
    from pipelines.core.package import ZIP_NAME
    from pipelines.core.session import DELTA_CATALOG, DELTA_SQL_EXTENSION, delta_coordinates

    for task in dag.tasks.values():
        assert task["packages"] == delta_coordinates()
        assert task["conf"] == {
            "spark.sql.extensions": DELTA_SQL_EXTENSION,
            "spark.sql.catalog.spark_catalog": DELTA_CATALOG,
        }
        assert task["py_files"] == f"{{}}/dist/{ZIP_NAME}"
        assert str(task["application"]).startswith("{}/jobs/")  # under A100M_HOME


def test_only_the_run_is_retried(dag):
    # the report's exit code is its verdict on the lake: a retry would judge it again, alert twice
    assert dag.tasks[_task_by_job(dag, "report.py")]["retries"] == 0
    assert "retries" not in dag.tasks[_task_by_job(dag, "run.py")]  # the DAG's default_args
