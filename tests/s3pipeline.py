"""The pipeline end to end on an S3 lake and on a local one, in one Spark driver that has S3A's
JARs (tests/test_s3.py runs it: the shared test session has none). Prints one JSON line: each
table's rows and the differences found between the two lakes (none expected).

Argument: one JSON object with the server (tests/s3.S3Server's fields), the inputs (s3a:// and
local, the same file), the two lakes and a work folder.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, Row


def plain(value: Any, places: tuple[str, ...]) -> Any:
    """A value as the comparison sees it: each place's URI replaced by its name, a float to nine
    significant digits (a sum's last digits follow the order rows arrive in), bytes dropped (a
    KLL sketch's bytes follow that order too), nested values alike."""
    if isinstance(value, Row):
        value = value.asDict(recursive=False)
    if isinstance(value, dict):
        return {str(k): plain(v, places) for k, v in value.items() if not _skipped(str(k), v)}
    if isinstance(value, list | tuple):
        return [plain(v, places) for v in value]
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, str):
        for uri in places:
            value = value.replace(uri, "<place>")
        return value
    return value


def _skipped(name: str, value: Any) -> bool:
    """What differs by run by design: run ids (run_id, ingest_run_id, ingest_runs), times."""
    return (
        "run" in name
        or isinstance(value, bytes | bytearray | datetime | date)
        or name.endswith("_at")
    )


def rows_of(frame: DataFrame, places: tuple[str, ...]) -> Counter[str]:
    return Counter(
        json.dumps(plain(row, places), sort_keys=True, default=str) for row in frame.collect()
    )


def main() -> None:
    args = json.loads(sys.argv[1])
    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root))
    from pipelines.api import Lake
    from pipelines.core.lake import read_table
    from pipelines.core.objectstore import CONDITIONAL_PUT
    from pipelines.core.runs import lake_tables
    from pipelines.core.session import build_session
    from pipelines.core.settings import load_settings
    from tests.processes import TEST_SPARK_CONF
    from tests.s3 import S3Server

    server = S3Server(**{**args["server"], "log": Path(args["server"]["log"])})
    work = Path(args["work"])
    settings = load_settings("local").with_overrides(
        lake=args["s3_lake"],
        master="local[2]",
        spark_conf={**TEST_SPARK_CONF, **server.spark_conf(), "spark.driver.memory": "2g"},
    )
    settings = replace(settings, object_store_commits=CONDITIONAL_PUT, class_archive=False)
    spark = build_session(settings, jvm_output=work / "jvm.log")

    found: dict[str, dict] = {}
    for kind, lake_root, source in (
        ("s3", args["s3_lake"], args["s3_input"]),
        ("local", args["local_lake"], args["local_input"]),
    ):
        lake = Lake(lake_root, settings=settings, spark=spark)
        run = lake.run([source])
        report = lake.report(out=work / f"report-{kind}")
        selected = lake.select(work / f"selection-{kind}")
        exported = lake.export("jsonl", out=work / f"export-{kind}")
        lake.optimize(vacuum=True)
        found[kind] = {
            "lake": lake_root,
            "run": run.summary() if hasattr(run, "summary") else str(run),
            "report_failed": bool(getattr(report, "failed", False)),
            "snapshot": lake.snapshot(note=lambda line: None),
            "selected": selected.manifest["counts"],
            "exported": exported.manifest["counts"],
        }

    s3_lake, local_lake = args["s3_lake"], args["local_lake"]
    tables = [t for t in lake_tables(spark, local_lake) if not t.startswith("_")]
    # every place's URI, the longest first, so that a folder's is replaced before its parent's
    places = tuple(
        sorted(
            {
                args["s3_input"],
                args["s3_lake"],
                "file:" + str(Path(args["local_input"]).resolve()),
                str(Path(args["local_input"]).resolve()),
                "file:" + str(Path(local_lake).resolve()),
                str(Path(local_lake).resolve()),
            },
            key=len,
            reverse=True,
        )
    )
    rows: dict[str, int] = {}
    differences: dict[str, str] = {}
    assert sorted(t for t in lake_tables(spark, s3_lake) if not t.startswith("_")) == tables
    for table in tables:
        remote = rows_of(read_table(spark, s3_lake, table), places)
        local = rows_of(read_table(spark, local_lake, table), places)
        rows[table] = sum(local.values())
        if remote != local:
            only_s3, only_local = remote - local, local - remote
            differences[table] = (
                f"{sum(only_s3.values())} rows only on S3, {sum(only_local.values())} only on "
                f"the local lake; first on S3: {next(iter(only_s3), '')[:1500]}; first on the "
                f"local lake: {next(iter(only_local), '')[:1500]}"
            )
    summary = {
        "rows": rows,
        "differences": differences,
        "snapshot": found["s3"]["snapshot"],
        "local_snapshot": found["local"]["snapshot"],
        "selected": found["s3"]["selected"],
        "local_selected": found["local"]["selected"],
        "exported": found["s3"]["exported"],
        "local_exported": found["local"]["exported"],
        "report_failed": [found["s3"]["report_failed"], found["local"]["report_failed"]],
    }
    spark.stop()
    print(json.dumps(summary, default=str))


if __name__ == "__main__":
    main()
