"""The stats stage: corpus statistics as Delta tables, the `actions` table, stats.json and a report.

`compute_stats(spark, lake, out)` reads `nodes` and `videos` once each, at one pinned version
(recorded on every row it writes), and publishes:

- `stats_*` tables, appended (never rewritten) so that their history can be queried and two runs
  compared; every row carries run_id, computed_at, videos_version and nodes_version. They are all
  appended through one `LakeWrite`, together with the `actions` overwrite: they land together
  or not at all. Their schemas are `STATS_SCHEMAS` below.
- `actions` (DESIGN.md section 4), one row per node with a real action. It is OVERWRITTEN on
  every run (a new Delta version), not merged: it is derived wholesale from `nodes`, so a full
  rewrite gives exactly what a MERGE with delete-when-not-matched-by-source would give, at the cost
  of one write instead of a join against the old table, and never duplicates a row. Each run's
  table stays readable with `versionAsOf`, and `run_id` / `nodes_version` on its rows say which
  run and which `nodes` version produced it.
- `stats.json` (every figure, machine-readable) and `report.html` (self-contained) into `out`.

Only aggregates reach the driver, plus the distinct leading words of brief actions (bounded by
the vocabulary) which are lemmatised there (see pipelines/verbs.py for the verb and object rules).

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
import math
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pipelines.lake import (
    LakeWrite,
    lake_write,
    read_table,
    table_path,
    table_version,
)
from pipelines.schema import struct_schema
from pipelines.verbs import (
    distinct_leading_words,
    lemma_map,
    verb_lemmas,
    with_verb_and_object,
    word_count,
)

NA = "N/A"
QUANTILES = (0.1, 0.5, 0.9)
ACCURACY = 10000

# (name, lower bound in seconds, upper bound or None): [lower, upper)
BUCKETS: tuple[tuple[str, float, float | None], ...] = (
    ("0_3", 0.0, 3.0),
    ("3_10", 3.0, 10.0),
    ("10_60", 10.0, 60.0),
    ("60_plus", 60.0, None),
)
BUCKET_LABELS = {"0_3": "0-3 s", "3_10": "3-10 s", "10_60": "10-60 s", "60_plus": "over 60 s"}

# Text fields of `nodes`, and the nodes each one is expected on (DESIGN.md section 3).
TEXT_FIELDS: tuple[tuple[str, str], ...] = (
    ("plm_action", "all"),
    ("plm_caption", "all"),
    ("llama3_caption", "is_leaf"),
    ("summary_brief", "has_gpt"),
    ("summary_detailed", "has_gpt"),
    ("action_brief", "has_gpt"),
    ("action_detailed", "has_gpt"),
    ("action_actor", "has_gpt"),
)

# The paper's figures (Action100M, arXiv 2601.10592; DESIGN.md section 6).
PAPER_BUCKET_SHARES = {"0_3": 0.64, "3_10": 0.238, "10_60": 0.102, "60_plus": 0.02}
PAPER_MEAN_WORDS = {
    "action_brief": 3.2,
    "summary_brief": 19.2,
    "action_detailed": 27.8,
    "summary_detailed": 95.3,
}
PAPER_NA_RATE = 0.0323
PAPER_TOP_DUPLICATES = (
    "speak to camera",
    "speak",
    "speak and gesture",
    "stir mixture",
    "talk to camera",
)

# Caps on what a table keeps of a distribution (all bounded by vocabulary, not by the corpus).
TOP_VERBS_WITH_OBJECTS = 200
TOP_OBJECTS_PER_VERB = 20
TOP_ACTORS = 200
TOP_DUPLICATES = 200

PARALLEL_WRITES = 4  # tables written side by side

# ---------------------------------------------------------------------------------------------
# Table contracts
# ---------------------------------------------------------------------------------------------


PROVENANCE = (
    ("run_id", T.StringType(), False),
    ("computed_at", T.TimestampType(), False),
    ("videos_version", T.LongType(), True),  # null when the lake has no videos table
    ("nodes_version", T.LongType(), False),
)
_QUANTILE_FIELDS = tuple(
    (name, T.DoubleType(), True) for name in ("mean", "min", "p10", "p50", "p90", "max")
)

STATS_SUMMARY_SCHEMA = struct_schema(
    ("section", T.StringType(), False),
    ("name", T.StringType(), False),
    ("value", T.DoubleType(), True),
    ("unit", T.StringType(), False),
    ("paper_value", T.DoubleType(), True),
    *PROVENANCE,
)
STATS_LEVELS_SCHEMA = struct_schema(
    ("level", T.ShortType(), True),
    ("nodes", T.LongType(), False),
    ("leaves", T.LongType(), False),
    ("gpt_nodes", T.LongType(), False),
    ("actions", T.LongType(), False),
    ("videos", T.LongType(), False),  # videos with at least one node at this level
    *PROVENANCE,
)
STATS_DURATIONS_SCHEMA = struct_schema(
    ("scope", T.StringType(), False),  # "all" (level null) or "level"
    ("level", T.ShortType(), True),
    ("nodes", T.LongType(), False),  # nodes with a duration
    *_QUANTILE_FIELDS,
    ("hours", T.DoubleType(), True),
    *((f"bucket_{name}", T.LongType(), False) for name, _, _ in BUCKETS),
    *PROVENANCE,
)
STATS_FIELDS_SCHEMA = struct_schema(
    ("field", T.StringType(), False),
    ("applies_to", T.StringType(), False),  # all, is_leaf or has_gpt
    ("nodes", T.LongType(), False),
    ("non_null", T.LongType(), False),
    ("coverage", T.DoubleType(), True),  # non_null / nodes
    ("applicable_nodes", T.LongType(), False),
    ("applicable_non_null", T.LongType(), False),
    ("applicable_coverage", T.DoubleType(), True),
    ("mean_words", T.DoubleType(), True),
    ("paper_mean_words", T.DoubleType(), True),
    *PROVENANCE,
)
STATS_VERBS_SCHEMA = struct_schema(
    ("rank", T.IntegerType(), False),
    ("verb", T.StringType(), False),
    ("actions", T.LongType(), False),
    ("share", T.DoubleType(), False),  # of all actions (an action without a verb counts too)
    *PROVENANCE,
)
STATS_VERB_OBJECTS_SCHEMA = struct_schema(
    ("verb_rank", T.IntegerType(), False),
    ("verb", T.StringType(), False),
    ("object_rank", T.IntegerType(), False),
    ("object", T.StringType(), False),
    ("actions", T.LongType(), False),
    ("share_of_verb", T.DoubleType(), False),  # of the verb's actions, with or without object
    *PROVENANCE,
)
STATS_ACTORS_SCHEMA = struct_schema(
    ("rank", T.IntegerType(), False),
    ("actor", T.StringType(), False),  # lowercased, white space collapsed
    ("actions", T.LongType(), False),
    ("share", T.DoubleType(), False),
    *PROVENANCE,
)
STATS_DUPLICATES_SCHEMA = struct_schema(
    ("rank", T.IntegerType(), False),
    ("action", T.StringType(), False),  # lowercased, white space collapsed
    ("members", T.LongType(), False),
    ("videos", T.LongType(), False),
    *PROVENANCE,
)

ACTIONS_SCHEMA = struct_schema(
    ("video_uid", T.StringType(), False),
    ("node_id", T.StringType(), True),
    ("action_brief", T.StringType(), False),
    ("verb", T.StringType(), True),
    ("object", T.StringType(), True),
    ("actor", T.StringType(), True),
    ("start", T.FloatType(), True),
    ("end", T.FloatType(), True),
    ("level", T.ShortType(), True),
    ("run_id", T.StringType(), False),
    ("nodes_version", T.LongType(), False),
    ("computed_at", T.TimestampType(), False),
)

STATS_SCHEMAS: dict[str, T.StructType] = {
    "stats_summary": STATS_SUMMARY_SCHEMA,
    "stats_levels": STATS_LEVELS_SCHEMA,
    "stats_durations": STATS_DURATIONS_SCHEMA,
    "stats_fields": STATS_FIELDS_SCHEMA,
    "stats_verbs": STATS_VERBS_SCHEMA,
    "stats_verb_objects": STATS_VERB_OBJECTS_SCHEMA,
    "stats_actors": STATS_ACTORS_SCHEMA,
    "stats_duplicates": STATS_DUPLICATES_SCHEMA,
}
STATS_TABLES = (*STATS_SCHEMAS, "actions")


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
    from pipelines.ingest import new_run_id
    from pipelines.report_html import render_report

    started = time.monotonic()
    run_id = run_id or new_run_id()
    nodes_version = table_version(spark, table_path(lake, "nodes"))
    if nodes_version is None:
        raise ValueError(f"no nodes table under {lake}: run the explode stage first")
    videos_version = table_version(spark, table_path(lake, "videos"))
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
            node_figures = pool.submit(_node_figures, facts, videos)
            real = real_actions(facts)
            mapping = verb_lemmas(distinct_leading_words(real))
            actions = with_verb_and_object(real, lemma_map(spark, mapping)).cache()
            figures = {**_action_figures(actions), **node_figures.result()}
        figures["summary"] = _summary_rows(figures)
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
                spark.createDataFrame(_table_rows(table, figures, provenance), schema),
            )
            for table, schema in STATS_SCHEMAS.items()
        ]
        writes.append(
            ("overwrite", "actions", to_actions(actions, run_id, nodes_version, computed_at))
        )
        with lake_write(spark, lake, run_id) as write:
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
    _write_text(result.stats_json, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    _write_text(result.report_html, html)
    phase("files")
    result.phases = phases
    result.seconds = time.monotonic() - started
    return result


def paper_figures() -> dict[str, Any]:
    return {
        "bucket_shares": PAPER_BUCKET_SHARES,
        "mean_words": PAPER_MEAN_WORDS,
        "na_rate": PAPER_NA_RATE,
        "top_duplicates": list(PAPER_TOP_DUPLICATES),
        "source": "Action100M, arXiv 2601.10592",
    }


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


def _write_text(path: str, text: str) -> None:
    """Write a file whole: a reader never sees half of it."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------------------------------------
# Node facts and the actions
# ---------------------------------------------------------------------------------------------


def node_facts(nodes: DataFrame) -> DataFrame:
    """The columns the statistics need: numbers and flags, word counts instead of long texts."""
    return nodes.select(
        "video_uid",
        "node_id",
        "level",
        "start",
        "end",
        "duration",
        "is_leaf",
        "child_count",
        "has_gpt",
        F.col("parent_id").isNull().alias("is_root"),
        "action_brief",
        "action_actor",
        *[word_count(F.col(name)).alias(f"{name}_words") for name, _ in TEXT_FIELDS],
    )


def is_na(column: Column) -> Column:
    return F.coalesce(F.trim(column) == NA, F.lit(False))


def real_actions(facts: DataFrame) -> DataFrame:
    """Nodes with a real action: has_gpt, action_brief not null and not "N/A"."""
    return facts.where(
        F.col("has_gpt") & F.col("action_brief").isNotNull() & ~is_na(F.col("action_brief"))
    ).select("video_uid", "node_id", "action_brief", "action_actor", "start", "end", "level")


def to_actions(actions: DataFrame, run_id: str, nodes_version: int, computed_at) -> DataFrame:
    """The `actions` table's rows (DESIGN.md section 4)."""
    from pipelines.explode import conform

    return conform(
        actions.select(
            "video_uid",
            "node_id",
            "action_brief",
            "verb",
            "object",
            F.col("action_actor").alias("actor"),
            "start",
            "end",
            "level",
            F.lit(run_id).alias("run_id"),
            F.lit(nodes_version).alias("nodes_version"),
            F.lit(computed_at).alias("computed_at"),
        ),
        ACTIONS_SCHEMA,
    )


def normalized(column: Column) -> Column:
    """Lowercased, trimmed, inner white space collapsed to one space: the grouping key."""
    return F.lower(
        F.regexp_replace(F.regexp_replace(column, r"(?U)^\s+|\s+$", ""), r"(?U)\s+", " ")
    )


# ---------------------------------------------------------------------------------------------
# Aggregates
# ---------------------------------------------------------------------------------------------


def _count_if(condition: Column) -> Column:
    return F.count(F.when(condition, F.lit(1)))


def _distribution(column: Column, prefix: str) -> list[Column]:
    """mean, min, p10, p50, p90, max of column (nulls ignored)."""
    quantiles = F.percentile_approx(column, list(QUANTILES), ACCURACY)
    return [
        F.avg(column).alias(f"{prefix}mean"),
        F.min(column).cast("double").alias(f"{prefix}min"),
        *[
            quantiles[i].cast("double").alias(f"{prefix}p{round(q * 100)}")
            for i, q in enumerate(QUANTILES)
        ],
        F.max(column).cast("double").alias(f"{prefix}max"),
    ]


def _duration_aggs(prefix: str = "") -> list[Column]:
    duration = F.col("duration")
    buckets = []
    for name, lower, upper in BUCKETS:
        inside = duration >= lower if upper is None else (duration >= lower) & (duration < upper)
        buckets.append(_count_if(inside).alias(f"{prefix}bucket_{name}"))
    return [
        F.count(duration).alias(f"{prefix}nodes"),
        *_distribution(duration, prefix),
        (F.sum(duration) / 3600).alias(f"{prefix}hours"),
        *buckets,
    ]


def _node_figures(facts: DataFrame, videos: DataFrame | None) -> dict[str, Any]:
    """Everything that comes from nodes (and videos): three small aggregations."""
    gpt = F.col("has_gpt")
    applicable = {"all": F.lit(True), "is_leaf": F.col("is_leaf"), "has_gpt": gpt}
    text_aggs = []
    for name, applies_to in TEXT_FIELDS:
        words = F.col(f"{name}_words")
        text_aggs += [
            F.count(words).alias(f"{name}__non_null"),
            _count_if(applicable[applies_to]).alias(f"{name}__applicable_nodes"),
            _count_if(applicable[applies_to] & words.isNotNull()).alias(
                f"{name}__applicable_non_null"
            ),
            F.avg(words).alias(f"{name}__mean_words"),
        ]
    internal = F.col("child_count") > 0
    brief = F.col("action_brief")
    totals = facts.agg(
        F.count(F.lit(1)).alias("nodes"),
        _count_if(F.col("is_leaf")).alias("leaves"),
        _count_if(internal).alias("internal_nodes"),
        _count_if(gpt).alias("gpt_nodes"),
        _count_if(F.col("is_root")).alias("roots"),
        (F.sum(F.when(F.col("is_root"), F.col("duration"))) / 3600).alias("root_hours"),
        _count_if(gpt & is_na(brief)).alias("na_actions"),
        _count_if(gpt & brief.isNull()).alias("gpt_without_brief"),
        _count_if(gpt & is_na(F.col("action_actor"))).alias("actor_na_nodes"),
        *_distribution(F.when(internal, F.col("child_count")), "branching_"),
        *_duration_aggs("all_"),
        *text_aggs,
    ).first()
    # Two small shuffles of the nodes: to per-level rows, and to per-video rows.
    per_level = (
        facts.groupBy("level")
        .agg(
            F.count(F.lit(1)).alias("level_nodes"),
            _count_if(F.col("is_leaf")).alias("leaves"),
            _count_if(gpt).alias("gpt_nodes"),
            _count_if(gpt & brief.isNotNull() & ~is_na(brief)).alias("actions"),
            F.countDistinct("video_uid").alias("videos"),
            *_duration_aggs(),
        )
        .orderBy("level")
        .collect()
    )

    per_video = facts.groupBy("video_uid").agg(
        F.count(F.lit(1)).alias("nodes"), F.max("level").alias("depth")
    )
    if videos is not None:
        listed = videos.select("video_uid", "duration", F.lit(True).alias("listed"))
        per_video = listed.join(per_video, "video_uid", "full")
    else:
        per_video = per_video.select(
            "*", F.lit(None).cast("long").alias("duration"), F.lit(True).alias("listed")
        )
    # Videos without nodes count as 0 nodes; nodes of a video missing from `videos` still count.
    node_count = F.coalesce(F.col("nodes"), F.lit(0))
    video_totals = per_video.agg(
        F.count("listed").alias("videos"),
        (F.sum("duration") / 3600).alias("video_hours"),
        *_distribution(node_count, "nodes_per_video_"),
        *_distribution(F.col("depth"), "depth_"),
    ).first()

    figures: dict[str, Any] = {"_totals": totals.asDict(), "_videos": video_totals.asDict()}
    if videos is None:
        figures["_videos"]["video_hours"] = None
    figures["levels"] = [
        {
            "level": row["level"],
            "nodes": row["level_nodes"],
            "leaves": row["leaves"],
            "gpt_nodes": row["gpt_nodes"],
            "actions": row["actions"],
            "videos": row["videos"],
        }
        for row in per_level
    ]
    duration_keys = _names(STATS_DURATIONS_SCHEMA)[2:]  # after scope and level
    everything = {key: totals[f"all_{key}"] for key in duration_keys}
    figures["durations"] = [{"scope": "all", "level": None, **everything}]
    figures["durations"] += [
        {"scope": "level", "level": row["level"], **_pick(row, duration_keys)} for row in per_level
    ]
    figures["fields"] = [
        {
            "field": name,
            "applies_to": applies_to,
            "nodes": totals["nodes"],
            "non_null": totals[f"{name}__non_null"],
            "coverage": _share(totals[f"{name}__non_null"], totals["nodes"]),
            "applicable_nodes": totals[f"{name}__applicable_nodes"],
            "applicable_non_null": totals[f"{name}__applicable_non_null"],
            "applicable_coverage": _share(
                totals[f"{name}__applicable_non_null"], totals[f"{name}__applicable_nodes"]
            ),
            "mean_words": totals[f"{name}__mean_words"],
            "paper_mean_words": PAPER_MEAN_WORDS.get(name),
        }
        for name, applies_to in TEXT_FIELDS
    ]
    return figures


def _pick(row, keys: list[str]) -> dict[str, Any]:
    return {key: row[key] for key in keys}


def _share(part: float | None, whole: float | None) -> float | None:
    if part is None or not whole:
        return None
    return part / whole


def _action_figures(actions: DataFrame) -> dict[str, Any]:
    """Verbs, verb -> object pairs, actors and duplicate groups: small aggregates of actions."""
    verb_counts = actions.groupBy("verb").agg(
        F.count(F.lit(1)).alias("actions"), F.count("object").alias("with_object")
    )
    counted = verb_counts.collect()  # one row per verb: bounded by the vocabulary
    total = sum(row["actions"] for row in counted)
    without_verb = sum(row["actions"] for row in counted if row["verb"] is None)
    with_object = sum(row["with_object"] for row in counted)
    ranked = sorted(
        (r for r in counted if r["verb"] is not None), key=lambda r: (-r["actions"], r["verb"])
    )
    verbs = [
        {"rank": i, "verb": r["verb"], "actions": r["actions"], "share": r["actions"] / total}
        for i, r in enumerate(ranked, 1)
    ]
    verb_rank = {v["verb"]: v["rank"] for v in verbs}
    verb_total = {v["verb"]: v["actions"] for v in verbs}

    by_verb = Window.partitionBy("verb").orderBy(F.desc("actions"), F.asc("object"))
    pairs = (
        actions.where(F.col("verb").isNotNull() & F.col("object").isNotNull())
        .groupBy("verb", "object")
        .agg(F.count(F.lit(1)).alias("actions"))
        .withColumn("object_rank", F.row_number().over(by_verb))
        .where(F.col("object_rank") <= TOP_OBJECTS_PER_VERB)
        .collect()
    )
    verb_objects = sorted(
        (
            {
                "verb_rank": verb_rank[r["verb"]],
                "verb": r["verb"],
                "object_rank": r["object_rank"],
                "object": r["object"],
                "actions": r["actions"],
                "share_of_verb": r["actions"] / verb_total[r["verb"]],
            }
            for r in pairs
            if verb_rank[r["verb"]] <= TOP_VERBS_WITH_OBJECTS
        ),
        key=lambda r: (r["verb_rank"], r["object_rank"]),
    )

    actor = normalized(F.col("action_actor"))
    actor_groups = (
        actions.where(F.col("action_actor").isNotNull() & ~is_na(F.col("action_actor")))
        .groupBy(actor.alias("actor"))
        .agg(F.count(F.lit(1)).alias("actions"))
        .cache()
    )
    try:
        actor_totals = actor_groups.agg(
            F.count(F.lit(1)).alias("distinct_actors"), F.sum("actions").alias("with_actor")
        ).first()
        top_actors = actor_groups.orderBy(F.desc("actions"), "actor").limit(TOP_ACTORS).collect()
    finally:
        actor_groups.unpersist()
    actors = [
        {"rank": i, "actor": r["actor"], "actions": r["actions"], "share": r["actions"] / total}
        for i, r in enumerate(top_actors, 1)
    ]

    groups = (
        actions.groupBy(normalized(F.col("action_brief")).alias("action"))
        .agg(F.count(F.lit(1)).alias("members"), F.countDistinct("video_uid").alias("videos"))
        .cache()
    )
    try:
        dup_totals = groups.agg(
            F.count(F.lit(1)).alias("distinct_actions"),
            _count_if(F.col("members") > 1).alias("groups"),
            F.sum(F.when(F.col("members") > 1, F.col("members"))).alias("members"),
            F.max("members").alias("largest"),
        ).first()
        top_groups = (
            groups.where(F.col("members") > 1)
            .orderBy(F.desc("members"), "action")
            .limit(TOP_DUPLICATES)
            .collect()
        )
    finally:
        groups.unpersist()
    duplicates = [
        {"rank": i, "action": r["action"], "members": r["members"], "videos": r["videos"]}
        for i, r in enumerate(top_groups, 1)
    ]
    return {
        "verbs": verbs,
        "verb_objects": verb_objects,
        "actors": actors,
        "duplicates": duplicates,
        "_actions": {
            "actions": total,
            "actions_without_verb": without_verb,
            "actions_with_object": with_object,
            "distinct_verbs": len(verbs),
            "distinct_actors": actor_totals["distinct_actors"] or 0,
            "actions_without_actor": total - (actor_totals["with_actor"] or 0),
            "distinct_brief_actions": dup_totals["distinct_actions"] or 0,
            "duplicate_groups": dup_totals["groups"] or 0,
            "actions_in_duplicate_groups": dup_totals["members"] or 0,
            "largest_duplicate_group": dup_totals["largest"] or 0,
        },
    }


# ---------------------------------------------------------------------------------------------
# Rows of the tables
# ---------------------------------------------------------------------------------------------


def _summary_rows(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """stats_summary: one row per figure, with the paper's value where there is one."""
    totals, videos, acts = figures["_totals"], figures["_videos"], figures["_actions"]
    everything = next(d for d in figures["durations"] if d["scope"] == "all")
    rows: list[dict[str, Any]] = []

    def add(section, name, value, unit, paper=None):
        if isinstance(value, float) and math.isnan(value):
            value = None
        rows.append(
            {
                "section": section,
                "name": name,
                "value": None if value is None else float(value),
                "unit": unit,
                "paper_value": paper,
            }
        )

    add("corpus", "videos", videos["videos"], "count")
    for name in ("nodes", "leaves", "internal_nodes", "gpt_nodes", "roots"):
        add("corpus", name, totals[name], "count")
    add("corpus", "video_hours", videos["video_hours"], "hours")
    add("corpus", "root_hours", totals["root_hours"], "hours")
    for prefix, unit in (
        ("nodes_per_video_", "nodes"),
        ("depth_", "levels"),
        ("branching_", "children"),
    ):
        source = totals if prefix == "branching_" else videos
        for stat in ("min", "p10", "p50", "p90", "max", "mean"):
            add("tree", f"{prefix}{stat}", source[f"{prefix}{stat}"], unit)
    for stat in ("min", "p10", "p50", "p90", "max", "mean"):
        add("durations", f"duration_{stat}", everything[stat], "seconds")
    for name, _, _ in BUCKETS:
        count = everything[f"bucket_{name}"]
        add("durations", f"bucket_{name}", count, "count")
        add(
            "durations",
            f"bucket_{name}_share",
            _share(count, everything["nodes"]),
            "share",
            PAPER_BUCKET_SHARES[name],
        )
    for row in figures["fields"]:
        add("text", f"coverage_{row['field']}", row["coverage"], "share")
    for row in figures["fields"]:
        add("text", f"words_{row['field']}", row["mean_words"], "words", row["paper_mean_words"])
    add("actions", "actions", acts["actions"], "count")
    add("actions", "na_actions", totals["na_actions"], "count")
    add(
        "actions",
        "na_rate",
        _share(totals["na_actions"], totals["gpt_nodes"]),
        "share",
        PAPER_NA_RATE,
    )
    add("actions", "gpt_without_brief", totals["gpt_without_brief"], "count")
    add("actions", "actor_na_nodes", totals["actor_na_nodes"], "count")
    add("actions", "actions_without_actor", acts["actions_without_actor"], "count")
    add("actions", "distinct_actors", acts["distinct_actors"], "count")
    add("verbs", "distinct_verbs", acts["distinct_verbs"], "count")
    add("verbs", "actions_without_verb", acts["actions_without_verb"], "count")
    add("verbs", "actions_with_object", acts["actions_with_object"], "count")
    top = figures["verbs"][0]["share"] if figures["verbs"] else None
    add("verbs", "top_verb_share", top, "share")
    for name in (
        "distinct_brief_actions",
        "duplicate_groups",
        "actions_in_duplicate_groups",
        "largest_duplicate_group",
    ):
        add("duplicates", name, acts[name], "count")
    return rows


def _names(schema: T.StructType) -> list[str]:
    """The columns of a stats table before its provenance columns."""
    return schema.names[: -len(PROVENANCE)]


def _table_rows(table: str, figures: dict[str, Any], provenance: tuple) -> list[tuple]:
    """The rows of one stats table, provenance columns last."""
    schema = STATS_SCHEMAS[table]
    fields = schema.fields[: -len(PROVENANCE)]
    source = {
        "stats_summary": figures["summary"],
        "stats_levels": figures["levels"],
        "stats_durations": figures["durations"],
        "stats_fields": figures["fields"],
        "stats_verbs": figures["verbs"],
        "stats_verb_objects": figures["verb_objects"],
        "stats_actors": figures["actors"],
        "stats_duplicates": figures["duplicates"],
    }[table]
    return [(*(_plain(row[f.name], f.dataType) for f in fields), *provenance) for row in source]


def _plain(value: Any, dtype: T.DataType | None = None) -> Any:
    """A value createDataFrame accepts for dtype: NaN as null, whole numbers as floats."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(dtype, T.DoubleType) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value
