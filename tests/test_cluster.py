"""A real standalone cluster (master + worker from the pyspark install) runs the pipeline through
spark-submit, and its tables equal those of local mode."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pyspark
import pytest
from pyspark.testing import assertDataFrameEqual

from pipelines.core.lake import read_table
from pipelines.core.package import build_zip
from pipelines.core.session import delta_coordinates
from pipelines.ingest.stage import explode
from pipelines.synth import generate

ROOT = Path(__file__).resolve().parents[1]
SPARK_HOME = Path(pyspark.__file__).resolve().parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise TimeoutError(f"{what} not ready after {seconds} s")


def _alive_workers(ui_port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=2) as reply:
            state = json.load(reply)
    except OSError:
        return 0
    return sum(1 for w in state.get("workers", []) if w.get("state") == "ALIVE")


@pytest.fixture(scope="module")
def standalone_master(tmp_path_factory):
    """spark://127.0.0.1:PORT with one worker; both processes are stopped whatever happens."""
    logs = tmp_path_factory.mktemp("cluster")
    env = {**os.environ, "SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": "127.0.0.1"}
    spark_class = str(SPARK_HOME / "bin" / "spark-class")
    port, ui = _free_port(), _free_port()
    url = f"spark://127.0.0.1:{port}"
    processes: list[subprocess.Popen] = []
    try:
        processes.append(
            subprocess.Popen(
                [
                    spark_class,
                    "org.apache.spark.deploy.master.Master",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--webui-port",
                    str(ui),
                ],
                env=env,
                stdout=open(logs / "master.log", "w"),
                stderr=subprocess.STDOUT,
            )
        )
        _wait(lambda: _alive_workers(ui) == 0 and _port_open(port), 90, "master")
        processes.append(
            subprocess.Popen(
                [
                    spark_class,
                    "org.apache.spark.deploy.worker.Worker",
                    url,
                    "--host",
                    "127.0.0.1",
                    "--cores",
                    "2",
                    "--memory",
                    "3g",
                    "--webui-port",
                    str(_free_port()),
                    "--work-dir",
                    str(logs / "work"),
                ],
                env=env,
                stdout=open(logs / "worker.log", "w"),
                stderr=subprocess.STDOUT,
            )
        )
        _wait(lambda: _alive_workers(ui) == 1, 90, "worker")
        yield url, logs
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_spark_submit_on_a_standalone_cluster_gives_the_local_tables(
    spark, standalone_master, tmp_path
):
    url, logs = standalone_master
    generate(tmp_path / "raw", videos=12, seed=11, shards=2)
    zip_path = build_zip(tmp_path / "dist")
    cluster_lake, local_lake = tmp_path / "cluster-lake", tmp_path / "local-lake"
    command = [
        str(SPARK_HOME / "bin" / "spark-submit"),
        "--master",
        url,
        "--packages",
        delta_coordinates(),
        "--py-files",
        str(zip_path),
        "--conf",
        "spark.sql.shuffle.partitions=4",
        "--conf",
        "spark.ui.enabled=false",
        str(ROOT / "jobs" / "run.py"),
        "--input",
        str(tmp_path / "raw"),
        "--lake",
        str(cluster_lake),
        "--report",
        str(tmp_path / "report"),
    ]
    env = {
        **os.environ,
        "SPARK_HOME": str(SPARK_HOME),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
    }
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    (logs / "submit.log").write_text(done.stdout + done.stderr)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"master {url}" in done.stdout or "stage explode" in done.stdout

    explode(spark, [str(tmp_path / "raw")], str(local_lake))
    for table, drop in (
        ("videos", ["ingest_run_id", "ingested_at"]),
        ("nodes", ["ingest_run_id"]),
        ("transcripts", ["ingest_run_id"]),
    ):
        assertDataFrameEqual(
            read_table(spark, str(cluster_lake), table).drop(*drop),
            read_table(spark, str(local_lake), table).drop(*drop),
            rtol=0,
            atol=0,
        )
    # the cluster really ran it: the master registered the application, the driver saw executors
    assert "Registering app run.py" in (logs / "master.log").read_text()
    assert "StandaloneAppClient" in done.stderr
