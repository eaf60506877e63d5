"""A real standalone cluster (master + worker from the pyspark install) runs the pipeline through
spark-submit, and its tables equal those of local mode."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pyspark.testing import assertDataFrameEqual

from pipelines.core.lake import read_table
from pipelines.core.package import build_files
from pipelines.core.session import delta_coordinates
from pipelines.ingest.stage import explode
from pipelines.synth import generate
from tests.cluster import SPARK_HOME, standalone_cluster

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def standalone_master(tmp_path_factory):
    """spark://127.0.0.1:PORT with one worker; both processes are stopped whatever happens."""
    logs = tmp_path_factory.mktemp("cluster")
    with standalone_cluster(logs) as url:
        yield url, logs


def test_spark_submit_on_a_standalone_cluster_gives_the_local_tables(
    spark, standalone_master, tmp_path
):
    url, logs = standalone_master
    generate(tmp_path / "raw", videos=12, seed=11, shards=2)
    # the project's JVM functions ship with --jars; without a compiler there is no JAR, and the
    # cluster uses the built-in forms (and says so)
    zip_path, jar = build_files(tmp_path / "dist")
    cluster_lake, local_lake = tmp_path / "cluster-lake", tmp_path / "local-lake"
    command = [
        str(SPARK_HOME / "bin" / "spark-submit"),
        "--master",
        url,
        "--packages",
        delta_coordinates(),
        "--py-files",
        str(zip_path),
        *(["--jars", str(jar)] if jar else []),
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
    # stdout is the summary: Spark's PythonRunner merges the driver's stderr into it, so no log
    # line (ours or log4j's) and no progress line is written there; the log file has them
    noise = [
        line
        for line in done.stdout.splitlines()
        if re.match(r"(\d{4}-\d\d-\d\d |\d\d/\d\d/\d\d )\d\d:\d\d:\d\d", line)
        or re.match(r"(explode|validate|stats)\s*: ", line)
    ]
    assert noise == [], noise[:10]
    assert done.stdout.startswith("explode run "), done.stdout[:2000]

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
    # the driver registered the functions from --jars (no fallback said), the executors ran them
    logged = "".join(p.read_text() for p in (tmp_path / "report" / "logs").glob("*.log"))
    if jar is not None:
        assert "registered the project's JVM functions" in logged
        assert "JVM functions are not available" not in logged + done.stdout + done.stderr
    else:
        assert "JVM functions are not available" in logged
