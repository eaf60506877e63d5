"""The stats stage: corpus statistics as Delta tables, the `actions` table, stats.json and a report.

Every run pays for its new data, not for the whole lake. `compute_stats(spark, lake, out)` pins
`nodes`, `videos` and `stats_partials` at their committed versions, then (pipelines/stats/plan.py)
computes the partial aggregates of the ingest runs that have none or whose rows changed since
(pipelines/stats/partials.py), and only those runs' rows are read in full. In one journaled write
it then publishes:

- `stats_partials`: the recomputed runs' rows replace their old ones (Delta `replaceWhere` on
  `ingest_run_id`, one commit); runs whose rows are all gone lose theirs;
- `actions`, one row per node with a real action, replaced the same way, per ingest run;
- `stats_*` tables, appended (never rewritten) so that their history can be queried and two runs
  compared: the merge of every run's partial (pipelines/stats/merge.py); every row carries run_id,
  computed_at, videos_version and nodes_version;
- `stats.json` (every figure, machine-readable) and `report.html` (self-contained) into `out`.

`full=True` (`a100m stats --full`) recomputes every run's partial and rewrites both tables.

Conventions: shares are fractions (0..1); durations are seconds, end - start of the stored
float32 values in double; duration buckets are [0, 3), [3, 10), [10, 60) and [60, inf) seconds
(so a 10.0 s node is in "10-60 s"); quantiles come from merged KLL sketches (k = 4096: an
observed value whose rank is within QUANTILE_RANK_ERROR, about 0.07%, of the exact one; exact
while fewer than k values); words are runs of non-space characters (Unicode white space),
averaged over the non-null values of a field; "N/A" is `action_brief` equal to "N/A" after
trimming, among `has_gpt` nodes, and the N/A rate is its share of `has_gpt` nodes.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from pipelines.core.contracts import (
    ACTIONS_SCHEMA,
    STATS_PARTIALS_SCHEMA,
    STATS_SCHEMAS,
    STATS_TABLES,
)
from pipelines.core.errors import MissingTableError
from pipelines.core.lake import (
    LakeWrite,
    read_table,
    write_text_atomic,
)
from pipelines.core.runs import committed_snapshot, journaled_write, lake_run, new_run_id
from pipelines.stats.examples import pick_examples, write_example_pages
from pipelines.stats.figures import (
    node_facts,
    real_actions,
    summary_rows,
    table_rows,
    to_actions,
)
from pipelines.stats.html import render_report
from pipelines.stats.merge import merged_figures
from pipelines.stats.partials import (
    QUANTILE_RANK_ERROR,
    action_partials,
    node_partials,
    partial_rows,
)
from pipelines.stats.plan import FULL, NothingToComputeError, plan_partials
from pipelines.stats.spec import BUCKETS, paper_figures
from pipelines.stats.verbs import parse_actions

PARALLEL_WRITES = 4  # tables written side by side
PARTIALS = "stats_partials"

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
        parts = self.figures.get("partials") or {}
        lines.append(
            f"  {self.figures.get('mode', 'full')}: partials of {len(parts.get('computed', []))} "
            f"ingest run(s) computed, {parts.get('kept', 0)} kept, "
            f"{len(parts.get('dropped', []))} dropped"
        )
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
    spark: SparkSession, lake: str, out: str, run_id: str | None = None, full: bool = False
) -> StatsResult:
    """Bring the per-run partials up to date (all of them with full=True), publish the merged
    figures as tables, and write stats.json and report.html."""
    run_id = run_id or new_run_id()
    with lake_run(spark, lake, run_id, "stats"):
        return _compute_stats(spark, lake, out, run_id, full)


def _compute_stats(
    spark: SparkSession, lake: str, out: str, run_id: str, full: bool = False
) -> StatsResult:
    started = time.monotonic()
    snapshot = committed_snapshot(spark, lake, ("nodes", "videos", "transcripts", PARTIALS))
    nodes_version, videos_version = snapshot["nodes"], snapshot["videos"]
    if nodes_version is None:
        if full:
            raise NothingToComputeError.about(
                "full", "lake {lake} holds no nodes, so there is nothing to recompute", lake=lake
            )
        raise MissingTableError(lake, ["nodes"])
    computed_at = datetime.now(UTC).replace(microsecond=0)

    nodes = read_table(spark, lake, "nodes", nodes_version)
    videos = (
        read_table(spark, lake, "videos", videos_version) if videos_version is not None else None
    )
    stored = (
        read_table(spark, lake, PARTIALS, snapshot[PARTIALS])
        if snapshot[PARTIALS] is not None
        else None
    )
    plan = plan_partials(spark, lake, nodes, videos, stored, full)
    phases: dict[str, float] = {}
    mark = time.monotonic()

    def phase(name: str) -> None:
        nonlocal mark
        now = time.monotonic()
        phases[name] = round(now - mark, 3)
        mark = now

    phase("plan")
    facts = node_facts(plan.restrict(nodes)).cache()
    actions = None
    replaced: dict[str, tuple[int, int]] = {}
    try:
        with journaled_write(spark, lake, run_id, "stats", STATS_TABLES) as write:
            if plan.mode == FULL or plan.to_compute or plan.to_drop:
                actions = parse_actions(spark, real_actions(facts)).cache()
                restricted_videos = plan.restrict(videos) if videos is not None else None
                parts = partial_rows(
                    node_partials(facts, restricted_videos),
                    action_partials(actions),
                    run_id,
                    computed_at,
                    nodes_version,
                )
                rows = to_actions(actions, run_id, nodes_version, computed_at)
                replace = plan.replace_where()
                replaced = {
                    PARTIALS: write.overwrite(PARTIALS, parts, STATS_PARTIALS_SCHEMA, replace),
                    "actions": write.overwrite("actions", rows, ACTIONS_SCHEMA, replace),
                }
            phase("partials")
            partials = read_table(
                spark, lake, PARTIALS, write.written.get(PARTIALS, snapshot[PARTIALS])
            )
            figures = merged_figures(partials, videos is not None)
            figures["summary"] = summary_rows(figures)
            document = {
                "run_id": run_id,
                "computed_at": computed_at.isoformat(),
                "lake": lake,
                "videos_version": videos_version,
                "nodes_version": nodes_version,
                "mode": plan.mode,
                "partials": plan.describe(),
                "quantile_rank_error": QUANTILE_RANK_ERROR,
                **{k: v for k, v in figures.items() if not k.startswith("_")},
                "paper": paper_figures(),
                "examples": pick_examples(videos),
            }
            phase("merge")
            html = render_report(document)
            phase("report")
            provenance = (run_id, computed_at, videos_version, nodes_version)
            history = [(table, table_rows(table, figures, provenance)) for table in STATS_SCHEMAS]
            written = _publish(write, history)
            phase("lake write")
            written = {**written, **replaced}
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
    # The example trees, from the versions the figures came from (quarantine: not looked in).
    write_example_pages(spark, lake, out, document["examples"], {**snapshot, "quarantine": None})
    phase("files")
    result.phases = phases
    result.seconds = time.monotonic() - started
    return result


def _publish(write: LakeWrite, writes: list[tuple[str, list[tuple]]]) -> dict:
    """Run the writes side by side (small tables: the cost is Delta's commit latency, not work).

    Returns table -> (version, rows written). Every write is waited for before an error is
    raised, so that the LakeWrite rolls back all the tables touched and none is still being
    written.
    """

    with ThreadPoolExecutor(max_workers=PARALLEL_WRITES) as pool:
        futures = {
            table: pool.submit(write.append_rows, table, rows, STATS_SCHEMAS[table])
            for table, rows in writes
        }
        wait(futures.values())
    for future in futures.values():
        if future.exception() is not None:
            raise future.exception()
    return {table: future.result() for table, future in futures.items()}
