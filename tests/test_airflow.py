"""The Airflow DAG example runs for real: `airflow dags test` of dags/a100m_nightly.py, two nights,
against a standalone Spark master and worker started from the pyspark install.

Airflow pins clash with ours, so it lives in its own virtual environment, installed by this test
from PyPI with the exact versions of tests/airflow-constraints.txt and kept for the next run in
.venv-airflow/ (or the folder named by A100M_AIRFLOW_VENV); it is reinstalled when that file
changes. Airflow's side is what a deployment has: AIRFLOW_HOME with a SQLite metadata database
made by `airflow db migrate`, the `spark_default` connection and the A100M_* Variables given as
AIRFLOW_CONN_* / AIRFLOW_VAR_* environment variables, and spark-submit on the PATH. The
SparkSubmitOperator runs our pyspark's spark-submit against the standalone master; Spark's own
spark-defaults.conf (SPARK_CONF_DIR) keeps the executors small, as a cluster's would.

Night one ingests 20 videos; night two adds 20 new ones under new file names. Afterwards the lake
holds 40 videos from both nights' files, and the reports folder two dated reports and an index
listing both. Cost on the 2-core machine: see docs/operations.md ("Scheduling with Airflow").
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from deltalake import DeltaTable

from pipelines.core.package import build_zip
from pipelines.report.stage import REPORT_JSON
from pipelines.synth import generate
from tests.cluster import SPARK_HOME, standalone_cluster

pytestmark = pytest.mark.airflow

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = ROOT / "tests" / "airflow-constraints.txt"
AIRFLOW_VENV = Path(os.environ.get("A100M_AIRFLOW_VENV", ROOT / ".venv-airflow")).resolve()
REQUIREMENTS = ("apache-airflow", "apache-airflow-providers-apache-spark")
DAG_ID = "a100m_nightly"
NIGHTS = (("2026-11-01", 101), ("2026-11-02", 202))  # logical date, generator seed
VIDEOS_PER_NIGHT = 20
NIGHT_TIMEOUT = 600  # seconds for one `airflow dags test`
# Small Spark for small data on 2 cores, as conf/local.yaml has it: the cluster settings
# (conf/cluster.yaml) ask for 8g executors, which this worker could never host, and 200 shuffle
# partitions. spark-submit's own defaults file (SPARK_CONF_DIR) wins over them.
SPARK_DEFAULTS = {
    "spark.driver.memory": "1g",
    "spark.executor.memory": "1g",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.databricks.delta.snapshotPartitions": "2",
    "spark.databricks.delta.optimizeWrite.enabled": "false",
    "spark.locality.wait": "0s",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}


def _pinned(name: str) -> str:
    for line in CONSTRAINTS.read_text(encoding="utf-8").splitlines():
        if line.lower().startswith(f"{name}=="):
            return line.strip()
    raise AssertionError(f"{name} is not pinned in {CONSTRAINTS}")


@pytest.fixture(scope="session")
def airflow_bin(tmp_path_factory) -> Path:
    """bin/ of a virtual environment with Airflow and the Spark provider, installed once."""
    stamp = AIRFLOW_VENV / "a100m-constraints.txt"
    wanted = CONSTRAINTS.read_text(encoding="utf-8")
    with open(tmp_path_factory.getbasetemp().parent / "a100m-airflow-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test runs never install into it at once
        if (
            not (AIRFLOW_VENV / "bin" / "airflow").is_file()
            or not stamp.is_file()
            or stamp.read_text(encoding="utf-8") != wanted
        ):
            started = time.monotonic()
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(AIRFLOW_VENV)], check=True)
            done = subprocess.run(
                [
                    str(AIRFLOW_VENV / "bin" / "python"),
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--constraint",
                    str(CONSTRAINTS),
                    *(_pinned(name) for name in REQUIREMENTS),
                ],
                capture_output=True,
                text=True,
                timeout=900,
            )
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
            stamp.write_text(wanted, encoding="utf-8")
            print(f"Airflow installed in {time.monotonic() - started:.0f} s into {AIRFLOW_VENV}")
    return AIRFLOW_VENV / "bin"


def _add_night(raw: Path, staging: Path, night: int, seed: int) -> list[str]:
    """New raw shards for one night, under names no other night uses (as a real feed's)."""
    generate(staging, videos=VIDEOS_PER_NIGHT, seed=seed, shards=2)
    names = []
    for shard in sorted(staging.glob("shard-*.parquet")):
        target = raw / f"night{night}-{shard.name}"
        shutil.move(shard, target)
        names.append(target.name)
    return names


def _states(database: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(logical date -> run state, run id/task id -> task state) from Airflow's metadata DB."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as db:
        runs = {
            str(date)[:10]: state
            for date, state in db.execute(
                "SELECT logical_date, state FROM dag_run WHERE dag_id = ?", (DAG_ID,)
            )
        }
        tasks = {
            f"{run}/{task}": state
            for run, task, state in db.execute(
                "SELECT run_id, task_id, state FROM task_instance WHERE dag_id = ?", (DAG_ID,)
            )
        }
    return runs, tasks


def _dags_test(airflow: Path, env: dict, date: str, log: Path, database: Path) -> float:
    """`airflow dags test` of one night; fails fast (no 15-minute retry wait) if a task fails."""
    started = time.monotonic()
    with open(log, "w") as out:
        process = subprocess.Popen(
            [str(airflow / "airflow"), "dags", "test", DAG_ID, date],
            env=env,
            cwd=log.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            while process.poll() is None:
                time.sleep(2)
                if time.monotonic() - started > NIGHT_TIMEOUT:
                    pytest.fail(f"night {date} still running after {NIGHT_TIMEOUT} s: {log}")
                try:
                    _, tasks = _states(database)
                except sqlite3.Error:
                    continue  # the run is being created, or the database is busy
                broken = {k: v for k, v in tasks.items() if v in ("up_for_retry", "failed")}
                if broken:
                    pytest.fail(f"night {date}: {broken}\n{log.read_text()[-6000:]}")
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
    assert process.returncode == 0, log.read_text()[-6000:]
    return time.monotonic() - started


def test_the_nightly_dag_runs_two_nights_on_a_standalone_cluster(airflow_bin, tmp_path):
    raw, lake, reports = tmp_path / "raw", tmp_path / "lake", tmp_path / "reports"
    raw.mkdir()
    # What the DAG needs of a checkout on the submitting machine: jobs/ and the --py-files zip.
    home = tmp_path / "a100m"
    shutil.copytree(ROOT / "jobs", home / "jobs")
    build_zip(home / "dist")
    conf_dir = tmp_path / "spark-conf"
    conf_dir.mkdir()
    (conf_dir / "spark-defaults.conf").write_text(
        "".join(f"{key} {value}\n" for key, value in SPARK_DEFAULTS.items())
    )
    airflow_home = tmp_path / "airflow"
    airflow_home.mkdir()
    database = airflow_home / "airflow.db"
    logs = tmp_path / "cluster"
    logs.mkdir()

    with standalone_cluster(logs) as url:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("AIRFLOW", "VIRTUAL_ENV", "PYTHONPATH", "SPARK_", "PYSPARK_"))
        }
        env.update(
            AIRFLOW_HOME=str(airflow_home),
            AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{database}",
            AIRFLOW_CONN_SPARK_DEFAULT=url,  # spark://127.0.0.1:PORT: the master of that cluster
            AIRFLOW_VAR_A100M_HOME=str(home),
            AIRFLOW_VAR_A100M_RAW=str(raw),
            AIRFLOW_VAR_A100M_LAKE=str(lake),
            AIRFLOW_VAR_A100M_REPORT=str(tmp_path / "report"),
            AIRFLOW_VAR_A100M_REPORTS=str(reports),
            # spark-submit is the one of our pyspark, which runs the driver with our Python
            PATH=os.pathsep.join([str(SPARK_HOME / "bin"), str(airflow_bin), os.environ["PATH"]]),
            SPARK_HOME=str(SPARK_HOME),
            SPARK_CONF_DIR=str(conf_dir),
            SPARK_LOCAL_IP="127.0.0.1",
            PYSPARK_PYTHON=sys.executable,
            PYSPARK_DRIVER_PYTHON=sys.executable,
            GX_ANALYTICS_ENABLED="false",
        )
        migrate = subprocess.run(
            [str(airflow_bin / "airflow"), "db", "migrate"],
            env=env,
            cwd=airflow_home,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert migrate.returncode == 0, migrate.stdout[-3000:] + migrate.stderr[-3000:]

        files: list[str] = []
        for night, (date, seed) in enumerate(NIGHTS, start=1):
            files += _add_night(raw, tmp_path / f"staging{night}", night, seed)
            seconds = _dags_test(airflow_bin, env, date, tmp_path / f"night{night}.log", database)
            print(f"night {night} ({date}): airflow dags test took {seconds:.0f} s")

            runs, tasks = _states(database)
            assert runs.get(date) == "success", runs
            assert len(tasks) == 2 * night, tasks
            assert set(tasks.values()) == {"success"}, tasks

    # the runs really went through the standalone master: one application per task and night,
    # named by the DAG after the night's logical date
    master_log = (logs / "master.log").read_text()
    for date, _ in NIGHTS:
        for task in ("run", "report"):
            assert f"Registering app a100m-{task}-{date}" in master_log, master_log[-3000:]

    # the lake holds both nights: every video, and every file in the ingest log
    videos = DeltaTable(str(lake / "videos")).to_pyarrow_table(columns=["video_uid"])
    assert videos.num_rows == 2 * VIDEOS_PER_NIGHT
    assert len(set(videos.column("video_uid").to_pylist())) == 2 * VIDEOS_PER_NIGHT
    log = DeltaTable(str(lake / "ingest_log")).to_pyarrow_table().to_pylist()
    assert sorted(Path(row["source_file"]).name for row in log) == sorted(files)
    assert len({row["run_id"] for row in log}) == 2  # one ingest per night
    assert sum(row["videos_written"] for row in log) == 2 * VIDEOS_PER_NIGHT

    # the reports folder holds both nights' reports, the second compared with the first
    # ...beside logs/, which holds each report command's full log (pipelines/core/console.py)
    folders = sorted(p for p in reports.iterdir() if p.is_dir() and p.name != "logs")
    assert len(folders) == 2, folders
    assert len(list((reports / "logs").glob("*-report.log"))) == 2
    first, second = (json.loads((f / REPORT_JSON).read_text()) for f in folders)
    assert first["row_counts"]["videos"] == VIDEOS_PER_NIGHT
    assert second["row_counts"]["videos"] == 2 * VIDEOS_PER_NIGHT
    assert second["previous_run_id"] == first["run_id"]
    assert second.get("anomalies", []) == []  # a night like the first is no anomaly
    index = (reports / "index.html").read_text()
    for folder in folders:
        assert (folder / "index.html").is_file()
        assert f"{folder.name}/index.html" in index
