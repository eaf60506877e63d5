"""`python -m benchmarks --videos N`: time DuckDB and our stages on the same corpus, in one run.

Measures, in this order and on the same Parquet shards (generated once, reused when present):
- duckdb_unnest: DuckDB unnesting the raw rows into zstd Parquet (videos, nodes, transcripts);
- duckdb_sql: that plus the parent/sibling tree checks and the duration buckets in SQL;
- explode, validate, stats: our stages in one warm local SparkSession (a tiny warm-up run first,
  so JVM start and JIT are not charged to the first stage);
and prints rows, seconds, the ratio to DuckDB, and the driver JVM's peak resident memory, then
writes the table as JSON. Budgets (DESIGN.md section 9) are printed beside the ratios.
"""

from __future__ import annotations

import argparse
import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

UNNEST_SQL = """
COPY (SELECT video_uid, metadata.title, metadata.description, metadata.view_count,
             metadata.like_count, metadata.duration, metadata.upload_date,
             len(metadata.transcript) AS transcript_count, len(nodes) AS node_count
      FROM read_parquet('{raw}/shard-*.parquet'))
  TO '{out}/videos.parquet' (FORMAT parquet, COMPRESSION zstd);
COPY (SELECT video_uid, n.node_id, n.parent_id, n.level, n."start", n."end",
             n."end"::DOUBLE - n."start"::DOUBLE AS duration, n.plm_action, n.plm_caption,
             n.llama3_caption, n.gpt IS NOT NULL AS has_gpt,
             n.gpt.summary.brief AS summary_brief, n.gpt.summary.detailed AS summary_detailed,
             n.gpt.action.brief AS action_brief, n.gpt.action.detailed AS action_detailed,
             n.gpt.action.actor AS action_actor
      FROM (SELECT video_uid, unnest(nodes) AS n FROM read_parquet('{raw}/shard-*.parquet')))
  TO '{out}/nodes.parquet' (FORMAT parquet, COMPRESSION zstd);
COPY (SELECT video_uid, t.time::DOUBLE AS time, t.text
      FROM (SELECT video_uid, unnest(metadata.transcript) AS t FROM read_parquet('{raw}/shard-*.parquet')))
  TO '{out}/transcripts.parquet' (FORMAT parquet, COMPRESSION zstd);
"""

CHECKS_SQL = """
CREATE OR REPLACE TEMP VIEW nodes AS SELECT * FROM read_parquet('{out}/nodes.parquet');
CREATE OR REPLACE TEMP TABLE tree_checks AS
SELECT count(*) FILTER (WHERE c.parent_id IS NOT NULL AND p.node_id IS NULL) AS orphans,
       count(*) FILTER (WHERE p.node_id IS NOT NULL AND c.level <> p.level + 1) AS level_jumps,
       count(*) FILTER (WHERE p.node_id IS NOT NULL AND (c."start" < p."start" - 0.001 OR c."end" > p."end" + 0.001)) AS outside,
       count(*) FILTER (WHERE c."end" <= c."start") AS empty
FROM nodes c LEFT JOIN nodes p ON c.video_uid = p.video_uid AND c.parent_id = p.node_id;
CREATE OR REPLACE TEMP TABLE tiling AS
SELECT count(*) FILTER (WHERE prev_end IS NOT NULL AND abs("start" - prev_end) > 0.001) AS gaps
FROM (SELECT "start", lag("end") OVER (PARTITION BY video_uid, parent_id ORDER BY "start") AS prev_end FROM nodes);
CREATE OR REPLACE TEMP TABLE buckets AS
SELECT count(*) FILTER (WHERE duration < 3) b0, count(*) FILTER (WHERE duration >= 3 AND duration < 10) b1,
       count(*) FILTER (WHERE duration >= 10 AND duration < 60) b2, count(*) FILTER (WHERE duration >= 60) b3
FROM nodes;
CREATE OR REPLACE TEMP TABLE verbs AS
SELECT lower(split_part(action_brief, ' ', 1)) AS verb, count(*) AS n FROM nodes
WHERE has_gpt AND action_brief <> 'N/A' GROUP BY 1 ORDER BY 2 DESC LIMIT 50;
"""

BUDGETS = {"explode": ("duckdb_unnest", 1.25), "validate": ("explode", 0.5)}


class PeakMemory:
    """Samples the resident memory of this process's children (the driver JVM) every 0.2 s."""

    def __init__(self) -> None:
        import psutil

        self._me = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                rss = sum(c.memory_info().rss for c in self._me.children(recursive=True))
            except Exception:
                rss = 0
            self.peak = max(self.peak, rss)
            time.sleep(0.2)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


def _timed(results: dict[str, dict[str, Any]], name: str, action, rows=None) -> Any:
    started = time.monotonic()
    value = action()
    results[name] = {
        "seconds": round(time.monotonic() - started, 2),
        "rows": rows(value) if rows else None,
    }
    print(f"  {name:<14} {results[name]['seconds']:8.1f} s", flush=True)
    return value


def run(videos: int, seed: int, work: Path, shards: int) -> dict[str, Any]:
    import duckdb

    from pipelines.generate import generate
    from pipelines.ingest import explode, new_run_id
    from pipelines.session import build_session
    from pipelines.settings import load_settings
    from pipelines.stats import compute_stats
    from pipelines.validate import validate

    raw = work / f"raw-{videos}-{seed}"
    results: dict[str, dict[str, Any]] = {}
    if not (raw / "manifest.json").exists():
        _timed(results, "generate", lambda: generate(raw, videos=videos, seed=seed, shards=shards))
    for stale in ("duck", "lake", "report", "warm"):
        shutil.rmtree(work / stale, ignore_errors=True)
    (work / "duck").mkdir(parents=True)

    con = duckdb.connect()
    _timed(
        results, "duckdb_unnest", lambda: con.execute(UNNEST_SQL.format(raw=raw, out=work / "duck"))
    )
    _timed(results, "duckdb_checks", lambda: con.execute(CHECKS_SQL.format(out=work / "duck")))
    results["duckdb_sql"] = {
        "seconds": round(
            results["duckdb_unnest"]["seconds"] + results["duckdb_checks"]["seconds"], 2
        ),
        "rows": None,
    }
    nodes = con.execute(
        f"SELECT count(*) FROM read_parquet('{work / 'duck'}/nodes.parquet')"
    ).fetchone()[0]
    con.close()

    with PeakMemory() as memory:
        spark = build_session(
            load_settings("local").with_overrides(
                spark_conf={"spark.ui.showConsoleProgress": "false"}
            )
        )
        warm = work / "warm"
        generate(warm / "raw", videos=3, seed=1)
        explode(spark, [str(warm / "raw")], str(warm / "lake"))
        lake, report = str(work / "lake"), str(work / "report")
        _timed(
            results,
            "explode",
            lambda: explode(spark, [str(raw)], lake),
            lambda r: r.rows_written.get("nodes"),
        )
        _timed(results, "validate", lambda: validate(spark, lake, report, new_run_id()))
        _timed(results, "stats", lambda: compute_stats(spark, lake, f"{report}/stats"))
    ours = sum(results[s]["seconds"] for s in ("explode", "validate", "stats"))
    results["pipeline"] = {"seconds": round(ours, 2), "rows": None}
    return {
        "videos": videos,
        "nodes": nodes,
        "seed": seed,
        "stages": results,
        "driver_peak_rss_mb": round(memory.peak / 2**20),
        "ratios": {
            "explode / duckdb_unnest": results["explode"]["seconds"]
            / results["duckdb_unnest"]["seconds"],
            "pipeline / duckdb_sql": ours / results["duckdb_sql"]["seconds"],
            "validate / explode": results["validate"]["seconds"] / results["explode"]["seconds"],
        },
        "budgets": {
            "explode / duckdb_unnest": 1.25,
            "pipeline / duckdb_sql": 2.0,
            "validate / explode": 0.5,
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--videos", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--work", default="benchmarks/out", help="working folder (corpus reused)")
    args = parser.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    print(f"benchmark: {args.videos} videos, seed {args.seed}, in {work}", flush=True)
    result = run(args.videos, args.seed, work, args.shards)
    print(f"{result['nodes']:,} nodes; driver peak RSS {result['driver_peak_rss_mb']} MB")
    for name, ratio in result["ratios"].items():
        budget = result["budgets"][name]
        print(
            f"  {name:<26} {ratio:6.2f}  (budget {budget}: {'met' if ratio <= budget else 'NOT met'})"
        )
    out = work / f"result-{args.videos}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")
    return 0
