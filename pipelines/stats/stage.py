"""The stats stage: corpus statistics as Delta tables, the `actions` table, stats.json and a report.

`compute_stats(spark, lake, out)` reads `nodes` and `videos` once each, at one pinned version
(recorded on every row it writes), and publishes:

- `stats_*` tables, appended (never rewritten) so that their history can be queried and two runs
  compared; every row carries run_id, computed_at, videos_version and nodes_version. They are all
  appended through one `LakeWrite`, together with the `actions` overwrite: they land together
  or not at all. Their schemas are `STATS_SCHEMAS` below.
- `actions` (docs/tables.md), one row per node with a real action. It is OVERWRITTEN on
  every run (a new Delta version), not merged: it is derived wholesale from `nodes`, so a full
  rewrite gives exactly what a MERGE with delete-when-not-matched-by-source would give, at the cost
  of one write instead of a join against the old table, and never duplicates a row. Each run's
  table stays readable with `versionAsOf`, and `run_id` / `nodes_version` on its rows say which
  run and which `nodes` version produced it.
- `stats.json` (every figure, machine-readable) and `report.html` (self-contained) into `out`.

Only aggregates reach the driver, plus the distinct leading words of brief actions (bounded by
the vocabulary) which are lemmatised there (see pipelines/stats/verbs.py for the verb and object rules).

Conventions: shares are fractions (0..1); durations are seconds, end - start of the stored
float32 values in double; duration buckets are [0, 3), [3, 10), [10, 60) and [60, inf) seconds
(so a 10.0 s node is in "10-60 s"); quantiles are Spark's percentile_approx (accuracy 10000: an
observed value whose rank is within n/10000 of the exact one); words are runs of non-space
characters (Unicode white space), averaged over the non-null values of a field; "N/A" is
`action_brief` equal to "N/A" after trimming, among `has_gpt` nodes, and the N/A rate is its share
of `has_gpt` nodes.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from pipelines.core.contracts import ACTIONS_SCHEMA, STATS_SCHEMAS, STATS_TABLES
from pipelines.core.errors import MissingTableError
from pipelines.core.lake import (
    LakeWrite,
    read_table,
    write_text_atomic,
)
from pipelines.core.runs import committed_snapshot, journaled_write, lake_run, new_run_id
from pipelines.stats.figures import (
    action_figures,
    node_facts,
    node_figures,
    real_actions,
    summary_rows,
    table_rows,
    to_actions,
)
from pipelines.stats.html import render_report
from pipelines.stats.spec import BUCKETS, paper_figures
from pipelines.stats.verbs import (
    distinct_leading_words,
    lemma_map,
    verb_lemmas,
    with_verb_and_object,
)

PARALLEL_WRITES = 4  # tables written side by side

# ---------------------------------------------------------------------------------------------
# Result
# ---------------------------------------------------------------------------------------------


@dataclass
class StatsResult:
    """What one stats run wrote: table versions and rows, the files, and every figure.

    `figures` is the stats.json document (without its "tables" and "seconds" keys until the
    run has finished).
    """

    run_id: str
    lake: str
    stats_json: str
    report_html: str
    videos_version: int | None
    nodes_version: int
    figures: dict[str, Any]
    rows_written: dict[str, int] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def value(self, name: str) -> float | None:
        """One figure of stats_summary by name."""
        for row in self.figures["summary"]:
            if row["name"] == name:
                return row["value"]
        raise KeyError(name)

    def summary(self) -> str:
        v = self.value
        lines = [
            f"stats run {self.run_id}: nodes version {self.nodes_version}, videos version "
            f"{self.videos_version}, in {self.seconds:.1f} s"
        ]
        for table in STATS_TABLES:
            if table in self.versions:
                lines.append(
                    f"  {table:<18} +{self.rows_written.get(table, 0):>7} rows  -> version "
                    f"{self.versions[table]}"
                )
        buckets = " / ".join(f"{_pct(v(f'bucket_{name}_share'))}" for name, _, _ in BUCKETS)
        lines.append(
            f"  {_int(v('videos'))} videos, {_int(v('nodes'))} nodes, {_int(v('leaves'))} leaves, "
            f"{_int(v('gpt_nodes'))} annotated, {_int(v('actions'))} actions, "
            f"N/A {_int(v('na_actions'))} ({_pct(v('na_rate'))}), {_num(v('video_hours'))} h of video"
        )
        lines.append(f"  durations 0-3 / 3-10 / 10-60 / 60+ s: {buckets}")
        top = ", ".join(f"{r['verb']} {r['actions']}" for r in self.figures["verbs"][:5])
        lines.append(f"  top verbs: {top or '-'}")
        timing = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.phases.items())
        lines.append(f"  wrote {self.stats_json} and {self.report_html}")
        lines.append(f"  time: {timing}")
        return "\n".join(lines)


def _int(value: float | None) -> str:
    return "-" if value is None else f"{int(value):,}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


# ---------------------------------------------------------------------------------------------
# The stage
# ---------------------------------------------------------------------------------------------


def compute_stats(
    spark: SparkSession, lake: str, out: str, run_id: str | None = None
) -> StatsResult:
    """Compute every statistic of the lake, publish the tables, write stats.json and report.html."""
    run_id = run_id or new_run_id()
    with lake_run(spark, lake, run_id, "stats"):
        return _compute_stats(spark, lake, out, run_id)


def _compute_stats(spark: SparkSession, lake: str, out: str, run_id: str) -> StatsResult:
    started = time.monotonic()
    run_id = run_id or new_run_id()
    snapshot = committed_snapshot(spark, lake, ("nodes", "videos"))
    nodes_version, videos_version = snapshot["nodes"], snapshot["videos"]
    if nodes_version is None:
        raise MissingTableError(lake, ["nodes"])
    computed_at = datetime.now(UTC).replace(microsecond=0)

    nodes = read_table(spark, lake, "nodes", nodes_version)
    videos = (
        read_table(spark, lake, "videos", videos_version) if videos_version is not None else None
    )
    facts = node_facts(nodes).cache()
    # Materialise once, here: two threads below would each compute an unmaterialised cache.
    facts.count()
    actions = None
    phases: dict[str, float] = {}
    mark = time.monotonic()

    def phase(name: str) -> None:
        nonlocal mark
        now = time.monotonic()
        phases[name] = round(now - mark, 3)
        mark = now

    try:
        # Two independent chains of small jobs, side by side to overlap their latencies.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(node_figures, facts, videos)
            real = real_actions(facts)
            mapping = verb_lemmas(distinct_leading_words(real))
            actions = with_verb_and_object(real, lemma_map(spark, mapping)).cache()
            figures = {**action_figures(actions), **pending.result()}
        figures["summary"] = summary_rows(figures)
        document = {
            "run_id": run_id,
            "computed_at": computed_at.isoformat(),
            "lake": lake,
            "videos_version": videos_version,
            "nodes_version": nodes_version,
            **{k: v for k, v in figures.items() if not k.startswith("_")},
            "paper": paper_figures(),
        }
        phase("figures")
        html = render_report(document)  # before writing: a rendering error leaves the lake alone
        phase("report")

        provenance = (run_id, computed_at, videos_version, nodes_version)
        writes = [
            (
                "append",
                table,
                spark.createDataFrame(table_rows(table, figures, provenance), schema),
            )
            for table, schema in STATS_SCHEMAS.items()
        ]
        writes.append(
            ("overwrite", "actions", to_actions(actions, run_id, nodes_version, computed_at))
        )
        with journaled_write(spark, lake, run_id, "stats", STATS_TABLES) as write:
            written = _publish(write, writes)
        phase("lake write")
    finally:
        if actions is not None:
            actions.unpersist()
        facts.unpersist()

    result = StatsResult(
        run_id=run_id,
        lake=lake,
        stats_json=str(Path(out) / "stats.json"),
        report_html=str(Path(out) / "report.html"),
        videos_version=videos_version,
        nodes_version=nodes_version,
        figures=document,
        rows_written={table: rows for table, (_, rows) in written.items()},
        versions={table: version for table, (version, _) in written.items()},
    )
    document["tables"] = {
        t: {"version": result.versions[t], "rows": result.rows_written[t]} for t in written
    }
    document["seconds"] = round(time.monotonic() - started, 3)
    write_text_atomic(result.stats_json, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    write_text_atomic(result.report_html, html)
    phase("files")
    result.phases = phases
    result.seconds = time.monotonic() - started
    return result


def _publish(write: LakeWrite, writes: list[tuple[str, str, DataFrame]]) -> dict:
    """Run the writes side by side (small tables: the cost is Delta's commit latency, not work).

    Returns table -> (version, rows written). Every write is waited for before an error is
    raised, so that the LakeWrite rolls back all the tables touched and none is still being
    written.
    """

    def one(mode: str, table: str, df: DataFrame) -> tuple[int, int]:
        schema = ACTIONS_SCHEMA if table == "actions" else STATS_SCHEMAS[table]
        if mode == "overwrite":
            return write.overwrite(table, df, schema)
        return write.append(table, df, schema)

    with ThreadPoolExecutor(max_workers=PARALLEL_WRITES) as pool:
        futures = {table: pool.submit(one, mode, table, df) for mode, table, df in writes}
        wait(futures.values())
    for future in futures.values():
        if future.exception() is not None:
            raise future.exception()
    return {table: future.result() for table, future in futures.items()}
