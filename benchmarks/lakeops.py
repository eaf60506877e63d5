"""`python -m benchmarks.lakeops --videos N --appends K`: what `a100m optimize` buys a reader.

Builds a lake the way nightly ingestion does (K explode runs, one per shard of a generated corpus
of N videos), copies it once per layout, and on each copy measures, before and after
`optimize_lake`: the files Spark opens to read one video's nodes (after data skipping) and the
time to read them (median of several videos, each read warm), the files and bytes of nodes, and
what optimize cost. Then it checks that time travel to the pre-optimize version and the nest-back
round trip give exactly the same rows as before. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

READS_PER_VIDEO = 3
VIDEOS_SAMPLED = 5


def _fingerprint(frame) -> tuple[int, int]:
    """Row count and an order-free hash of every value of every row."""
    from pyspark.sql import functions as F

    row = frame.select(
        F.count(F.lit(1)).alias("n"),
        F.sum(F.xxhash64(F.to_json(F.struct(*frame.columns))).cast("decimal(38,0)")).alias("h"),
    ).first()
    return int(row["n"]), int(row["h"] or 0)


def _read_one_video(spark, lake: str, uids: list[str]) -> dict[str, float]:
    from pipelines.core.lake import read_table
    from pipelines.lakeops.layout import files_read_for_video

    files, seconds = [], []
    for uid in uids:
        files.append(files_read_for_video(spark, lake, "nodes", uid))
        times = []
        for _ in range(READS_PER_VIDEO):
            started = time.perf_counter()
            read_table(spark, lake, "nodes").where(f"video_uid = '{uid}'").collect()
            times.append(time.perf_counter() - started)
        seconds.append(min(times))
    return {
        "files_opened": statistics.median(files),
        "files_opened_max": max(files),
        "read_seconds": round(statistics.median(seconds), 3),
    }


def _nested(spark, lake: str, versions: dict[str, int | None]):
    from pipelines.core.lake import read_table
    from pipelines.core.records import nest

    return nest(
        *(read_table(spark, lake, t, versions.get(t)) for t in ("videos", "nodes", "transcripts"))
    )


def measure(videos: int, appends: int, seed: int, work: Path) -> dict[str, Any]:
    from benchmarks.harness import benchmark_session
    from pipelines.core.runs import committed_snapshot, new_run_id
    from pipelines.ingest.stage import explode
    from pipelines.lakeops.layout import table_layout
    from pipelines.lakeops.optimize import LAYOUTS, optimize_lake
    from pipelines.synth import generate

    raw = work / f"raw-{videos}-{appends}-{seed}"
    if not (raw / "manifest.json").exists():
        generate(raw, videos=videos, seed=seed, shards=appends)
    spark = benchmark_session()
    base = work / f"lake-{videos}-{appends}-{seed}"
    shards = sorted(str(p) for p in raw.glob("*.parquet"))
    result: dict[str, Any] = {"videos": videos, "appends": appends, "layouts": {}}
    if not (base / "_ready").exists():
        shutil.rmtree(base, ignore_errors=True)
        started = time.perf_counter()
        for shard in shards:
            explode(spark, [shard], str(base))
        result["explode_seconds"] = round(time.perf_counter() - started, 1)
        (base / "_ready").write_text("")
    lake0 = str(base)
    layout0 = table_layout(spark, lake0, "nodes")
    uids = [
        r[0]
        for r in spark.read.format("delta")
        .load(f"{lake0}/videos")
        .select("video_uid")
        .orderBy("video_uid")
        .collect()
    ]
    sample = uids[:: max(1, len(uids) // VIDEOS_SAMPLED)][:VIDEOS_SAMPLED]
    result["nodes_rows"] = spark.read.format("delta").load(f"{lake0}/nodes").count()
    _read_one_video(spark, lake0, sample[:1])  # warm-up: JIT, Delta log cache
    result["before"] = {
        "nodes_files": layout0.files,
        "nodes_bytes": layout0.bytes,
        **_read_one_video(spark, lake0, sample),
    }
    tables = ("videos", "nodes", "transcripts")
    for layout in LAYOUTS:
        lake = str(work / f"lake-{layout}")
        shutil.rmtree(lake, ignore_errors=True)
        shutil.copytree(lake0, lake)
        old = committed_snapshot(spark, lake, tables)
        before = {t: _fingerprint(spark.read.format("delta").load(f"{lake}/{t}")) for t in tables}
        nested_before = _fingerprint(_nested(spark, lake, old))
        started = time.perf_counter()
        done = optimize_lake(spark, lake, new_run_id(), layout=layout)
        cost = time.perf_counter() - started
        started = time.perf_counter()
        again = optimize_lake(spark, lake, new_run_id(), layout=layout)
        cost_again = time.perf_counter() - started
        after_layout = table_layout(spark, lake, "nodes")
        now = committed_snapshot(spark, lake, tables)
        exact = all(
            _fingerprint(spark.read.format("delta").load(f"{lake}/{t}")) == before[t]
            and _fingerprint(
                spark.read.format("delta").option("versionAsOf", old[t]).load(f"{lake}/{t}")
            )
            == before[t]
            for t in tables
        )
        result["layouts"][layout] = {
            "optimize_seconds": round(cost, 1),
            "optimize_again_seconds": round(cost_again, 1),
            "again_rewrote": [t.table for t in again.tables if t.version is not None],
            "nodes_files": after_layout.files,
            "nodes_bytes": after_layout.bytes,
            **_read_one_video(spark, lake, sample),
            "rows_and_time_travel_exact": exact,
            "nest_round_trip_exact": _fingerprint(_nested(spark, lake, now)) == nested_before,
            "tables": {
                t.table: [t.before.files, t.after.files]
                for t in done.tables
                if t.version is not None
            },
        }
    return result


def report(result: dict[str, Any]) -> str:
    lines = [
        f"lake after {result['appends']} appends of {result['videos']} videos in all "
        f"({result['nodes_rows']:,} nodes); reading one video's nodes (median of "
        f"{VIDEOS_SAMPLED} videos, best of {READS_PER_VIDEO} warm reads):",
        f"  {'':<16}{'files of nodes':>15}{'MB':>8}{'files opened':>14}{'read s':>8}"
        f"{'optimize s':>12}{'again s':>9}  exact",
    ]
    b = result["before"]
    lines.append(
        f"  {'before':<16}{b['nodes_files']:>15}{b['nodes_bytes'] / 2**20:>8.1f}"
        f"{b['files_opened']:>14g}{b['read_seconds']:>8.3f}"
    )
    for name, m in result["layouts"].items():
        exact = m["rows_and_time_travel_exact"] and m["nest_round_trip_exact"]
        lines.append(
            f"  {'after ' + name:<16}{m['nodes_files']:>15}{m['nodes_bytes'] / 2**20:>8.1f}"
            f"{m['files_opened']:>14g}{m['read_seconds']:>8.3f}{m['optimize_seconds']:>12.1f}"
            f"{m['optimize_again_seconds']:>9.1f}  {exact}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.lakeops", description=__doc__)
    parser.add_argument("--videos", type=int, default=1000)
    parser.add_argument("--appends", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", default="benchmarks/out/lakeops", help="working folder")
    parser.add_argument("--out", help="JSON file (default: <work>/lakeops.json)")
    args = parser.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    result = measure(args.videos, args.appends, args.seed, work)
    print(report(result))
    out = Path(args.out or work / "lakeops.json")
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
