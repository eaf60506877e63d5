"""The public Python API: `Lake`, one lake with its settings, whose methods run the stages as the
`a100m` commands do, for a notebook, a scheduler task or a test (docs/api.md).

    from pipelines import Lake
    lake = Lake("example/lake")
    print(lake.explode("example/raw").summary())

A thin facade: each method is the body of its command in cli.py without the flags and the
printing. A writing method takes a new run id and holds the lake's lease around its stage, with
recovery of what a killed run left, exactly as `a100m explode`, `validate` and `stats` do; the
readers (`snapshot`, `table`, `select`, `export`) read the committed snapshot and take no lease.
Methods return the stages' own result objects (each with `.summary()`, the lines the command
prints) and raise the errors of pipelines/core/errors.py where the command would exit non-zero;
`validate` returns its result either way (`.passed` is what exits 1). The Spark session is built
from the settings on first use, as the CLI builds it, unless one is given.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TextIO

from pyspark.sql import DataFrame, SparkSession

from pipelines.core.contracts import STATS_TABLES
from pipelines.core.errors import MissingTableError, OptionText, UsageError, python_option
from pipelines.core.journal import outside_commit_note, outside_commits, snapshot_without_spark
from pipelines.core.lake import read_table
from pipelines.core.results import ValidationResult
from pipelines.core.runs import committed_snapshot, lake_run, lake_tables, new_run_id
from pipelines.core.session import build_session
from pipelines.core.settings import Settings, load_settings
from pipelines.ingest import stage as ingest_stage
from pipelines.ingest.stage import ExplodeResult
from pipelines.lakeops import optimize as optimize_stage
from pipelines.lakeops import query as query_stage
from pipelines.lakeops import serve as serve_stage
from pipelines.lakeops.catalog import Registration, catalog_conf, register_catalog
from pipelines.lakeops.optimize import DEFAULT_LAYOUT, OptimizeResult
from pipelines.lakeops.query import QueryResult
from pipelines.pipeline import PipelineResult, ReportResult, run_pipeline, run_report, stats_folder
from pipelines.quality import validate as quality_stage
from pipelines.quality.inspect import row_offences
from pipelines.show import stage as show_stage
from pipelines.show.stage import ShowResult
from pipelines.stats import stage as stats_stage
from pipelines.stats.stage import StatsResult
from pipelines.trainset import evaluate as evaluate_stage
from pipelines.trainset import resample as resample_stage
from pipelines.trainset import stage as trainset_stage
from pipelines.trainset.options import Query, check_thresholds, check_top_k
from pipelines.trainset.stage import TrainsetResult

__all__ = [
    "ExplodeResult",
    "Lake",
    "OptimizeResult",
    "PipelineResult",
    "Query",
    "QueryResult",
    "Registration",
    "ReportResult",
    "ResampleResult",
    "ShowResult",
    "StatsResult",
    "TrainsetResult",
    "ValidationResult",
    "evaluate",
]

log = logging.getLogger(__name__)

# A path as a notebook holds it: text, or a pathlib.Path.
StrPath = str | os.PathLike[str]

# The command that first writes a table, for the one line that says a table is missing; the
# tables of `a100m explode` are the rest.
MADE_BY = {
    "dq_results": "a100m validate",
    **{table: "a100m stats" for table in STATS_TABLES},
}


def _warn(line: str) -> None:
    log.warning("%s", line)


def _from_here(path: StrPath) -> str:
    """A local relative path made absolute against Python's current folder. The JVM resolves a
    relative path against the folder it started in, which a notebook may have left since (`%cd`);
    in the CLI the two are the same folder, so nothing changes there."""
    text = os.fspath(path)
    if "://" in text or text.startswith("file:"):
        return text
    return os.path.abspath(text)


class Lake:
    """A Delta lake of the corpus at `root` (a folder or a URI) with its settings.

    env picks conf/<env>.yaml (None: $A100M_ENV, else local, as the CLI); settings replaces that
    file; root always wins over the settings' lake. spark: a session to run on (else one is built
    from the settings on first use).
    """

    def __init__(
        self,
        root: StrPath,
        *,
        env: str | None = None,
        settings: Settings | None = None,
        spark: SparkSession | None = None,
    ) -> None:
        base = settings if settings is not None else load_settings(env)
        self.settings = base.with_overrides(lake=os.fspath(root))
        self._spark = spark

    def __repr__(self) -> str:
        return f"Lake({self.root!r}, env={self.settings.env!r})"

    @property
    def root(self) -> str:
        """The lake's folder or URI, as given (a relative folder is read from the current one)."""
        return self.settings.lake

    @property
    def spark(self) -> SparkSession:
        """The session the stages run on: the one given, else one built on first use."""
        if self._spark is None:
            settings = self.settings
            if settings.catalog_db:  # as the CLI: the metastore's properties precede the session
                settings = settings.with_overrides(spark_conf=catalog_conf(settings))
            self._spark = build_session(settings)
        return self._spark

    @contextmanager
    def _run(self, command: str, wait_seconds: float) -> Iterator[str]:
        """A new run id, with the lake's lease held for the block (as the CLI's commands)."""
        run_id = new_run_id()
        with lake_run(self.spark, self.root, run_id, command, wait_seconds):
            yield run_id

    def explode(
        self,
        inputs: StrPath | Sequence[StrPath],
        *,
        limit_shards: int | None = None,
        staging: StrPath | None = None,
        wait_seconds: float = 0.0,
    ) -> ExplodeResult:
        """Ingest raw Parquet or JSON files, folders, globs or hf:// inputs (`a100m explode`)."""
        with self._run("explode", wait_seconds) as run_id:
            return ingest_stage.explode(
                self.spark,
                _paths(inputs),
                self.root,
                run_id=run_id,
                staging=_from_here(staging if staging is not None else self.settings.staging),
                limit_shards=limit_shards,
            )

    def validate(
        self,
        *,
        report: StrPath | None = None,
        quarantine: bool = True,
        full: bool = False,
        wait_seconds: float = 0.0,
    ) -> ValidationResult:
        """Run the checks, and quarantine the videos that break a hard rule (`a100m validate`)."""
        with self._run("validate", wait_seconds) as run_id:
            return quality_stage.validate(
                self.spark,
                self.root,
                os.fspath(report) if report is not None else self.settings.report,
                run_id,
                quarantine=quarantine,
                full=full,
                data_docs=self.settings.data_docs,
            )

    def stats(
        self, *, out: StrPath | None = None, full: bool = False, wait_seconds: float = 0.0
    ) -> StatsResult:
        """Corpus statistics: the stats_* tables, stats.json and report.html (`a100m stats`)."""
        folder = os.fspath(out) if out is not None else stats_folder(self.settings)
        with self._run("stats", wait_seconds) as run_id:
            return stats_stage.compute_stats(self.spark, self.root, folder, run_id, full=full)

    def snapshot(self, *, note: Callable[[str], None] | None = None) -> dict[str, int | None]:
        """Each table's last committed version, as `a100m snapshot` prints it (local: no Spark).
        note: called with each line about commits outside the run journal (default: a log
        warning)."""
        found = snapshot_without_spark(self.root)
        if found is None:  # a remote lake: Spark reads it
            tables = lake_tables(self.spark, self.root)
            found = (
                committed_snapshot(self.spark, self.root, tables),
                outside_commits(self.spark, self.root, tables),
            )
        versions, outside = found
        for table, (committed, latest) in sorted(outside.items()):
            (note or _warn)(outside_commit_note(table, committed, latest))
        return versions

    def table(self, name: str) -> DataFrame:
        """The table at the version the last committed stages left (a half-landed run unseen)."""
        version = committed_snapshot(self.spark, self.root, [name])[name]
        if version is None:
            raise MissingTableError(self.root, [name], MADE_BY.get(name, "a100m explode"))
        return read_table(self.spark, self.root, name, version)

    def select(
        self,
        out: StrPath,
        *,
        query: Query | None = None,
        table_format: str = "parquet",
        overwrite: bool = False,
    ) -> TrainsetResult:
        """The segments that pass the query, split by video, with a manifest (`a100m select`)."""
        return trainset_stage.select(
            self.spark, self.root, query or Query(), os.fspath(out), table_format, overwrite
        )

    def export(
        self,
        fmt: str,
        *,
        out: StrPath,
        query: Query | None = None,
        selection: StrPath | None = None,
        label: str | None = None,
        fields: str | Sequence[str] | None = None,
        precision: int = 3,
        overwrite: bool = False,
        fps: float | None = None,
        id_prefix: str = "",
    ) -> TrainsetResult:
        """A selection, or the lake's segments that pass the query, in a format (`a100m export`)."""
        return trainset_stage.export(
            self.spark,
            fmt,
            os.fspath(out),
            lake=self.root,
            query=query,
            selection=os.fspath(selection) if selection is not None else None,
            label=label,
            fields=fields if fields is None or isinstance(fields, str) else ",".join(fields),
            precision=precision,
            overwrite=overwrite,
            fps=fps,
            id_prefix=id_prefix,
        )

    def run(
        self,
        inputs: StrPath | Sequence[StrPath],
        *,
        limit_shards: int | None = None,
        quarantine: bool = True,
        wait_seconds: float = 0.0,
    ) -> PipelineResult:
        """explode, validate and stats under one lease (`a100m run`); then, when the settings
        name a catalog database, the lake's tables registered there (`.registration`)."""
        result = run_pipeline(
            self.spark,
            self.settings,
            _paths(inputs),
            limit_shards=limit_shards,
            quarantine=quarantine,
            wait_seconds=wait_seconds,
        )
        result.registration = self._register_named()
        return result

    def report(self, *, out: StrPath | None = None, wait_seconds: float = 0.0) -> ReportResult:
        """The scheduled data-quality report: a dated folder under out, an index, the history
        and its anomalies, the alert (`a100m report`). `.failed` and `.anomalies` decide its
        exit code."""
        folder = os.fspath(out) if out is not None else self.settings.report
        return run_report(self.spark, self.settings, folder, wait_seconds)

    def recover(self, *, wait_seconds: float = 0.0) -> bool:
        """Roll back what a killed run left half-written, and nothing else (`a100m recover`);
        True when there was something to roll back."""
        with lake_run(self.spark, self.root, new_run_id(), "recover", wait_seconds) as lease:
            return bool(lease.recovered)

    def optimize(
        self,
        *,
        layout: str = DEFAULT_LAYOUT,
        vacuum: bool = False,
        retention_hours: float | None = None,
        wait_seconds: float = 0.0,
    ) -> OptimizeResult:
        """Compact the tables and cluster them on video_uid, then VACUUM if asked (`a100m
        optimize`); the catalog registered again when the settings name a database."""
        result = optimize_stage.optimize_lake(
            self.spark,
            self.root,
            new_run_id(),
            layout=layout,
            vacuum=vacuum,
            retention_hours=retention_hours,
            wait_seconds=wait_seconds,
        )
        result.registration = self._register_named()
        return result

    def register(self, *, database: str | None = None) -> Registration:
        """Register the lake's tables and views in a catalog database (default: the settings')."""
        name = database or self.settings.catalog_db
        if not name:
            raise UsageError.naming("no catalog database to register in: give {database}")
        return register_catalog(self.spark, self.root, name)

    def _register_named(self) -> Registration | None:
        return self.register() if self.settings.catalog_db else None

    def sql(
        self,
        query: str,
        *,
        fmt: str = "table",
        out: StrPath | None = None,
        max_rows: int = 100,
        stream: TextIO | None = None,
        option_text: OptionText = python_option,
    ) -> QueryResult:
        """One SQL query over the committed snapshot, its rows written as a table, CSV or JSON
        lines to out or the stream (default stdout) (`a100m sql`)."""
        return query_stage.run_sql(
            self.spark,
            self.root,
            query,
            fmt=fmt,
            out=os.fspath(out) if out is not None else None,
            catalog_db=self.settings.catalog_db,
            max_rows=max_rows,
            stream=stream,
            option_text=option_text,
        )

    def serve(
        self,
        *,
        port: int = 15002,
        database: str = "a100m",
        ready: Callable[[str, Registration], None] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        """A Spark Connect endpoint on 127.0.0.1 over the lake's catalog, until stop is set
        (or SIGINT / SIGTERM) (`a100m serve`)."""
        serve_stage.serve(
            self.spark, self.root, port, self.settings.catalog_db or database, ready, stop
        )

    def show(
        self,
        video_uid: str | None = None,
        *,
        out: StrPath | None = None,
        png: bool = False,
        where: str | None = None,
        random: bool = False,
        seed: int | None = None,
    ) -> ShowResult:
        """One video's tree as an offline HTML page (and PNG): the video given, else the first
        or a random one of those `where` keeps (`a100m show`)."""
        if video_uid and (random or where):
            raise UsageError.naming("give a {video_uid} or {random} / {where}, not both")
        folder = os.fspath(out) if out is not None else f"{self.settings.report.rstrip('/')}/show"
        return show_stage.show(
            self.spark,
            self.root,
            video_uid,
            folder,
            png=png,
            where=where,
            random=random,
            seed=seed,
            offences=row_offences,
        )

    def resample(
        self,
        out: StrPath,
        *,
        k: int,
        seed: int = 0,
        vector_size: int = 32,
        overwrite: bool = False,
    ) -> ResampleResult:
        """Cluster the distinct brief actions into k clusters; weights for sampling uniformly
        over them (`a100m resample`)."""
        folder = os.fspath(out)
        manifest, seconds = resample_stage.resample(
            self.spark, self.root, folder, k, seed, vector_size, overwrite
        )
        return ResampleResult(folder, manifest, seconds)


@dataclass(frozen=True)
class ResampleResult:
    """What `Lake.resample` wrote: OUT/weights and OUT/manifest.json."""

    out: str
    manifest: dict
    seconds: float

    def summary(self) -> str:
        return resample_stage.resample_summary(self.manifest, self.out, self.seconds)


def _paths(inputs: StrPath | Sequence[StrPath]) -> list[str]:
    """One input or several, each made absolute as the JVM needs (see `_from_here`)."""
    given = [inputs] if isinstance(inputs, str | os.PathLike) else list(inputs)
    return [_from_here(path) for path in given]


def evaluate(
    export: StrPath,
    *,
    predictions: StrPath,
    split: str | None = None,
    out: StrPath | None = None,
    thresholds: Sequence[float] = (0.3, 0.5, 0.7),
    top_k: Sequence[int] = (1, 5),
) -> dict:
    """tIoU mAP and Recall@k of predictions on one split of an `activitynet` or `moment-detr`
    export, per tree level (`a100m evaluate`; no Spark). With out: metrics.json and .html."""
    return evaluate_stage.evaluate(
        os.fspath(export),
        os.fspath(predictions),
        split,
        os.fspath(out) if out is not None else None,
        check_thresholds(tuple(thresholds)),
        check_top_k(tuple(top_k)),
    )
