"""`python -m benchmarks --videos N[,M]`: time DuckDB and our stages on the same corpus, in one run.

Measures, in this order and on the same Parquet shards (generated once, reused when present):
- duckdb_unnest: DuckDB unnesting the raw rows into zstd Parquet with our tables' columns
  (videos with max_level, nodes with child_count and is_leaf, transcripts);
- duckdb_sql: that plus the tree, tiling and temporal checks, the duration buckets, the mean
  words of every text field, first-word verbs, actor and duplicate-action groups in SQL;
- explode, validate, stats: our stages in one warm local SparkSession (a tiny warm-up run of
  every stage first, so JVM start, JIT and imports are not charged to the measured stages);
- run: the whole `a100m run` in its own process on a fresh lake, JVM start included;
and prints rows, seconds, the ratio to DuckDB, and the driver's peak resident memory, then writes
the table as JSON. With several sizes (`--videos 1000,10000`) each size runs in its own process
and the scaling (time and memory of the largest against the smallest) is printed and saved.
Budgets (docs/environment.md) are printed beside the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

UNNEST_SQL = """
COPY (SELECT video_uid, metadata.title, metadata.description, metadata.view_count,
             metadata.like_count, metadata.duration, metadata.upload_date,
             len(metadata.transcript) AS transcript_count, len(nodes) AS node_count,
             list_max(list_transform(nodes, lambda x: x.level)) AS max_level
      FROM read_parquet('{raw}/shard-*.parquet'))
  TO '{out}/videos.parquet' (FORMAT parquet, COMPRESSION zstd);
COPY (WITH flat AS (
        SELECT video_uid, n.node_id, n.parent_id, n.level, n."start", n."end",
               n."end"::DOUBLE - n."start"::DOUBLE AS duration, n.plm_action, n.plm_caption,
               n.llama3_caption, n.gpt IS NOT NULL AS has_gpt,
               n.gpt.summary.brief AS summary_brief, n.gpt.summary.detailed AS summary_detailed,
               n.gpt.action.brief AS action_brief, n.gpt.action.detailed AS action_detailed,
               n.gpt.action.actor AS action_actor
        FROM (SELECT video_uid, unnest(nodes) AS n FROM read_parquet('{raw}/shard-*.parquet'))),
      kids AS (SELECT video_uid, parent_id AS node_id, count(*)::INT AS child_count
               FROM flat WHERE parent_id IS NOT NULL GROUP BY ALL)
      SELECT flat.*, coalesce(kids.child_count, 0) AS child_count,
             coalesce(kids.child_count, 0) = 0 AS is_leaf
      FROM flat LEFT JOIN kids USING (video_uid, node_id))
  TO '{out}/nodes.parquet' (FORMAT parquet, COMPRESSION zstd);
COPY (SELECT video_uid, TRY_CAST(t.time AS DOUBLE) AS time, t.time AS time_text, t.text
      FROM (SELECT video_uid, unnest(metadata.transcript) AS t FROM read_parquet('{raw}/shard-*.parquet')))
  TO '{out}/transcripts.parquet' (FORMAT parquet, COMPRESSION zstd);
"""

WORDS = "coalesce(len(regexp_extract_all({col}, '\\S+')), 0)"
TEXT_COLUMNS = (
    "plm_action",
    "plm_caption",
    "llama3_caption",
    "summary_brief",
    "summary_detailed",
    "action_brief",
    "action_detailed",
    "action_actor",
)

CHECKS_SQL = """
CREATE OR REPLACE TEMP VIEW nodes AS SELECT * FROM read_parquet('{out}/nodes.parquet');
CREATE OR REPLACE TEMP VIEW videos AS SELECT * FROM read_parquet('{out}/videos.parquet');
CREATE OR REPLACE TEMP TABLE tree_checks AS
SELECT count(*) FILTER (WHERE c.parent_id IS NOT NULL AND p.node_id IS NULL) AS orphans,
       count(*) FILTER (WHERE p.node_id IS NOT NULL AND c.level <> p.level + 1) AS level_jumps,
       count(*) FILTER (WHERE p.node_id IS NOT NULL AND (c."start" < p."start" - 0.001 OR c."end" > p."end" + 0.001)) AS outside,
       count(*) FILTER (WHERE c."end" <= c."start") AS empty,
       count(*) FILTER (WHERE NOT c.is_leaf AND c.child_count <> 2) AS not_binary,
       count(*) FILTER (WHERE c."end" > v.duration + 1) AS past_video_end
FROM nodes c LEFT JOIN nodes p ON c.video_uid = p.video_uid AND c.parent_id = p.node_id
             LEFT JOIN videos v ON c.video_uid = v.video_uid;
CREATE OR REPLACE TEMP TABLE duplicate_ids AS
SELECT count(*) AS n FROM (SELECT video_uid, node_id FROM nodes GROUP BY ALL HAVING count(*) > 1);
CREATE OR REPLACE TEMP TABLE tiling AS
SELECT count(*) FILTER (WHERE prev_end IS NOT NULL AND abs("start" - prev_end) > 0.001) AS gaps
FROM (SELECT "start", lag("end") OVER (PARTITION BY video_uid, parent_id ORDER BY "start") AS prev_end FROM nodes);
CREATE OR REPLACE TEMP TABLE buckets AS
SELECT count(*) FILTER (WHERE duration < 3) b0, count(*) FILTER (WHERE duration >= 3 AND duration < 10) b1,
       count(*) FILTER (WHERE duration >= 10 AND duration < 60) b2, count(*) FILTER (WHERE duration >= 60) b3,
       {word_means}
FROM nodes;
CREATE OR REPLACE TEMP TABLE verbs AS
SELECT lower(split_part(action_brief, ' ', 1)) AS verb, count(*) AS n FROM nodes
WHERE has_gpt AND action_brief <> 'N/A' GROUP BY 1 ORDER BY 2 DESC LIMIT 50;
CREATE OR REPLACE TEMP TABLE actors AS
SELECT lower(trim(action_actor)) AS actor, count(*) AS n FROM nodes
WHERE has_gpt AND action_brief <> 'N/A' AND action_actor <> 'N/A' GROUP BY 1 ORDER BY 2 DESC LIMIT 20;
CREATE OR REPLACE TEMP TABLE duplicates AS
SELECT lower(trim(action_brief)) AS action, count(*) AS members, count(DISTINCT video_uid) AS videos
FROM nodes WHERE has_gpt AND action_brief <> 'N/A' GROUP BY 1 HAVING count(*) > 1
ORDER BY 2 DESC LIMIT 20;
""".replace(
    "{word_means}",
    ", ".join(f"avg({WORDS.format(col=c)}) AS {c}_words" for c in TEXT_COLUMNS),
)


class PeakMemory:
    """Peak resident memory of the driver JVM (this process's java child), and separately of the
    Python workers Spark forks (local mode runs them on the driver's machine).

    The JVM's peak is the kernel's own high-water mark (VmHWM) where there is one (Linux), so no
    short peak is missed; otherwise, and for the workers, resident memory sampled every 0.2 s.
    Forked workers share pages, so their sum over-counts: it is an upper bound.
    """

    def __init__(self) -> None:
        import psutil

        self._me = psutil.Process()
        self.driver = 0
        self.workers = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def peak(self) -> int:
        return self.driver

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            time.sleep(0.2)

    def _sample(self) -> None:
        try:
            children = self._me.children(recursive=True)
            jvms = [c for c in children if c.name() == "java"]
            driver = sum(high_water_mark(c.pid) or c.memory_info().rss for c in jvms)
            workers = sum(c.memory_info().rss for c in children if c not in jvms)
        except Exception:  # a worker ended while being read
            return
        self.driver = max(self.driver, driver)
        self.workers = max(self.workers, workers)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def high_water_mark(pid: int) -> int | None:
    """The kernel's peak resident memory (VmHWM) of a process, in bytes, or None off Linux."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def corpus_path(work: Path, videos: int, seed: int) -> Path:
    """Where the harness keeps the generated corpus of N videos and a seed."""
    return work / f"raw-{videos}-{seed}"


def ensure_corpus(work: Path, videos: int, seed: int, shards: int) -> Path:
    """The generated corpus of N videos in work: reused when complete, else generated."""
    from pipelines.synth import generate

    raw = corpus_path(work, videos, seed)
    if not (raw / "manifest.json").exists():
        generate(raw, videos=videos, seed=seed, shards=shards)
    return raw


def benchmark_session(driver_memory: str | None = None, extra_conf: dict[str, str] | None = None):
    """The local SparkSession the benchmarks measure in (conf/local.yaml, no progress bars),
    with extra Spark settings where a tool needs them (the profiler's event log)."""
    from pipelines.core.session import build_session
    from pipelines.core.settings import load_settings

    return build_session(
        load_settings("local").with_overrides(
            spark_conf={
                "spark.ui.showConsoleProgress": "false",
                **({"spark.driver.memory": driver_memory} if driver_memory else {}),
                **(extra_conf or {}),
            }
        )
    )


def _timed(results: dict[str, dict[str, Any]], name: str, action, rows=None) -> Any:
    from pipelines.core.lease import PROTOCOL_CLOCK

    protocol_before = PROTOCOL_CLOCK.seconds
    background_before = PROTOCOL_CLOCK.background_seconds
    started = time.monotonic()
    value = action()
    results[name] = {
        "seconds": round(time.monotonic() - started, 2),
        "rows": rows(value) if rows else None,
        # of which the lease and the run journal (taking, giving back, stage rows, reads)
        "journal_seconds": round(PROTOCOL_CLOCK.seconds - protocol_before, 2),
        # and beside it, not waited for: renewing the lease on its own thread
        "renewal_seconds": round(PROTOCOL_CLOCK.background_seconds - background_before, 2),
    }
    print(
        f"  {name:<14} {results[name]['seconds']:8.1f} s"
        f"  (journal and lease {results[name]['journal_seconds']:.1f} s)",
        flush=True,
    )
    return value


def run(
    videos: int,
    seed: int,
    work: Path,
    shards: int,
    whole_run: bool = True,
    driver_memory: str | None = None,
) -> dict[str, Any]:
    import duckdb

    from pipelines.core.runs import new_run_id
    from pipelines.ingest.stage import explode
    from pipelines.quality.validate import validate
    from pipelines.stats.stage import compute_stats
    from pipelines.synth import generate

    raw = corpus_path(work, videos, seed)
    results: dict[str, dict[str, Any]] = {}
    if not (raw / "manifest.json").exists():
        _timed(results, "generate", lambda: ensure_corpus(work, videos, seed, shards))
    for stale in ("duck", "lake", "report", "warm", "run"):
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

    from pyspark import SparkContext

    owns_session = SparkContext._active_spark_context is None
    with PeakMemory() as memory:
        spark = benchmark_session(driver_memory)
        warm = work / "warm"
        generate(warm / "raw", videos=3, seed=1)
        explode(spark, [str(warm / "raw")], str(warm / "lake"))
        validate(spark, str(warm / "lake"), str(warm / "report"), new_run_id())
        compute_stats(spark, str(warm / "lake"), str(warm / "report" / "stats"))
        lake, report = str(work / "lake"), str(work / "report")
        _timed(
            results,
            "explode",
            lambda: explode(spark, [str(raw)], lake),
            lambda r: r.rows_written.get("nodes"),
        )
        _timed(results, "validate", lambda: validate(spark, lake, report, new_run_id()))
        _timed(results, "stats", lambda: compute_stats(spark, lake, f"{report}/stats"))
        _night(spark, results, work, videos, seed, lake, raw)
    ours = sum(results[s]["seconds"] for s in ("explode", "validate", "stats"))
    results["pipeline"] = {"seconds": round(ours, 2), "rows": None}
    if owns_session:  # an idle driver JVM still takes CPU: not while the whole run is timed
        spark.stop()
    if whole_run:
        _timed(results, "run", lambda: _whole_run(raw, work / "run"))
    ratios = {
        "explode / duckdb_unnest": results["explode"]["seconds"]
        / results["duckdb_unnest"]["seconds"],
        "pipeline / duckdb_sql": ours / results["duckdb_sql"]["seconds"],
        "validate / explode": results["validate"]["seconds"] / results["explode"]["seconds"],
    }
    ratios["night on the lake / on an empty lake"] = (
        results["night_on_lake"]["seconds"] / results["night_on_empty"]["seconds"]
    )

    if whole_run:
        ratios["run / duckdb_sql"] = results["run"]["seconds"] / results["duckdb_sql"]["seconds"]
    return {
        "videos": videos,
        "nodes": nodes,
        "seed": seed,
        "machine": machine(),
        "stages": results,
        "driver_peak_rss_mb": round(memory.driver / 2**20),
        "python_workers_peak_rss_mb": round(memory.workers / 2**20),
        "ratios": ratios,
        "budgets": {name: BUDGETS[name] for name in ratios},
    }


BUDGETS = {
    "explode / duckdb_unnest": 1.5,
    "night on the lake / on an empty lake": 1.25,
    "pipeline / duckdb_sql": 2.0,
    "validate / explode": 0.5,
    "run / duckdb_sql": 2.0,
    "time, largest / smallest": 10.5,
}


def _night(
    spark,
    results: dict[str, dict[str, Any]],
    work: Path,
    videos: int,
    seed: int,
    lake: str,
    raw: Path,
) -> None:
    """The incremental case: a night of a tenth as many new videos, explode + validate + stats
    on the lake just built, beside the same night on an empty lake, and beside the whole
    corpus (lake and night, 11/10 of it) from scratch on an empty lake."""
    from pipelines.core.runs import new_run_id
    from pipelines.ingest.stage import explode
    from pipelines.quality.validate import validate
    from pipelines.stats.stage import compute_stats
    from pipelines.synth import generate

    night = work / f"night-{videos // 10}-{seed + 1}"
    if not (night / "manifest.json").exists():
        generate(night, videos=max(1, videos // 10), seed=seed + 1)
    arms = (
        ("night_on_lake", lake, [str(night)]),
        ("night_on_empty", str(work / "night-lake"), [str(night)]),
        ("all_from_scratch", str(work / "night-lake"), [str(raw), str(night)]),
    )
    for name, target, inputs in arms:
        shutil.rmtree(work / "night-lake", ignore_errors=True)
        report = str(work / f"{name}-report")

        def one_night(
            target: str = target, report: str = report, name: str = name, inputs=inputs
        ) -> None:
            for stage, action in (
                ("explode", lambda: explode(spark, inputs, target)),
                ("validate", lambda: validate(spark, target, report, new_run_id())),
                ("stats", lambda: compute_stats(spark, target, f"{report}/stats")),
            ):
                _timed(results, f"{name}_{stage}", action)

        _timed(results, name, one_night)


def _whole_run(raw: Path, out: Path) -> None:
    """`a100m run` in its own process, as a user runs it (JVM start and imports included)."""
    command = [
        sys.executable, "-m", "pipelines", "run", "--input", str(raw),
        "--lake", str(out / "lake"), "--report", str(out / "report"),
        "--spark-conf", "spark.ui.showConsoleProgress=false",
    ]  # fmt: skip
    finished = subprocess.run(command, capture_output=True, text=True)
    if finished.returncode != 0:
        raise RuntimeError(f"a100m run exited {finished.returncode}:\n{finished.stderr[-3000:]}")


def machine() -> dict[str, Any]:
    """Cores, memory, Python and OS of this machine, for the results."""
    import platform

    import psutil

    return {
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "system": platform.platform(),
    }


def print_result(result: dict[str, Any]) -> None:
    print(f"{result['videos']:,} videos, {result['nodes']:,} nodes; driver JVM peak RSS "
          f"{result['driver_peak_rss_mb']} MB, Python workers "
          f"{result.get('python_workers_peak_rss_mb', '-')} MB")  # fmt: skip
    for name, ratio in result["ratios"].items():
        budget = result["budgets"][name]
        verdict = "met" if ratio <= budget else "NOT met"
        print(f"  {name:<26} {ratio:6.2f}  (budget {budget}: {verdict})")


def scaling(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Time and memory of the largest size against the smallest, per stage."""
    small, large = min(results, key=lambda r: r["videos"]), max(results, key=lambda r: r["videos"])
    stages = [
        s for s in ("explode", "validate", "stats", "pipeline", "run") if s in large["stages"]
    ]
    return {
        "videos": [small["videos"], large["videos"]],
        "data_ratio": large["nodes"] / small["nodes"],
        "time_ratio": {
            s: large["stages"][s]["seconds"] / small["stages"][s]["seconds"] for s in stages
        },
        "duckdb_time_ratio": large["stages"]["duckdb_sql"]["seconds"]
        / small["stages"]["duckdb_sql"]["seconds"],
        "driver_peak_rss_mb": [small["driver_peak_rss_mb"], large["driver_peak_rss_mb"]],
        "budget": BUDGETS["time, largest / smallest"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--videos",
        default="1000",
        help="corpus size, or sizes separated by commas (e.g. 1000,10000)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--work", default="benchmarks/out", help="working folder (corpus reused)")
    parser.add_argument(
        "--no-run", action="store_true", help="skip the whole `a100m run` in its own process"
    )
    parser.add_argument(
        "--driver-memory", help="spark.driver.memory for the measured session (default: conf)"
    )
    parser.add_argument(
        "--fixed",
        action="store_true",
        help="the fixed-cost arm instead: each command from process start to exit, with its "
        "parts (benchmarks/fixed.py)",
    )
    parser.add_argument(
        "--lake-videos", type=int, default=2000, help="--fixed: videos in the lake (default 2000)"
    )
    parser.add_argument(
        "--night-videos", type=int, default=200, help="--fixed: videos of the night (default 200)"
    )
    parser.add_argument(
        "--baseline", metavar="REV", help="--fixed: also run every case on this earlier commit"
    )
    args = parser.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    if args.fixed:
        from benchmarks.fixed import print_fixed, run_fixed

        result = run_fixed(work, args.lake_videos, args.night_videos, args.baseline, args.seed)
        print_fixed(result)
        out = work / f"fixed-{args.lake_videos}-{args.night_videos}.json"
        out.write_text(json.dumps(result, indent=2))
        print(f"wrote {out}")
        return 0
    sizes = [int(v) for v in args.videos.split(",")]
    if len(sizes) > 1:
        return _several(sizes, args, work)
    videos = sizes[0]
    print(f"benchmark: {videos} videos, seed {args.seed}, in {work}", flush=True)
    result = run(
        videos,
        args.seed,
        work,
        args.shards,
        whole_run=not args.no_run,
        driver_memory=args.driver_memory,
    )
    result["driver_memory"] = args.driver_memory or "from conf/local.yaml"
    print_result(result)
    out = work / f"result-{videos}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")
    return 0


def _several(sizes: list[int], args: argparse.Namespace, work: Path) -> int:
    """Each size in its own process (a fresh driver, so its peak memory is its own)."""
    results = []
    for videos in sizes:
        command = [sys.executable, "-m", "benchmarks", "--videos", str(videos),
                   "--seed", str(args.seed), "--shards", str(args.shards), "--work", str(work)]  # fmt: skip
        if args.no_run:
            command.append("--no-run")
        if args.driver_memory:
            command += ["--driver-memory", args.driver_memory]
        if subprocess.run(command).returncode != 0:
            return 1
        results.append(json.loads((work / f"result-{videos}.json").read_text()))
    scale = scaling(results)
    print(f"scaling {scale['videos'][0]:,} -> {scale['videos'][1]:,} videos "
          f"({scale['data_ratio']:.2f}x the nodes; DuckDB SQL {scale['duckdb_time_ratio']:.2f}x):")  # fmt: skip
    for stage, ratio in scale["time_ratio"].items():
        verdict = "met" if ratio <= scale["budget"] else "NOT met"
        print(f"  {stage:<10} {ratio:6.2f}x time  (budget {scale['budget']}: {verdict})")
    print(
        f"  driver peak RSS {scale['driver_peak_rss_mb'][0]} MB -> {scale['driver_peak_rss_mb'][1]} MB"
    )
    out = work / f"scaling-{'-'.join(map(str, sizes))}.json"
    out.write_text(json.dumps({"scaling": scale, "results": results}, indent=2))
    print(f"wrote {out}")
    return 0
