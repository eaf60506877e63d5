"""The `a100m` command (also `python -m pipelines` and the thin scripts in jobs/).

Exit codes (the table in docs/reference.md, "Exit codes"): 0 done; 1 the data or the lake was
refused (input, a fail-severity check, a lake state that needs an operator); 2 a usage mistake
(flags, settings, a table the commands' order has not made yet); 3 (`report` only) checks passed
but the metrics history has anomalies; 70 an internal failure (Spark, the JVM, the file system
or a bug; the trace is in the log file); 75 the lake is busy (another run holds it, or committed
first): the same command can succeed later. Every error kind of core/errors.py maps to its code
in `exit_code_for` below, the one place that decides for errors; `report_exit_code` decides a
report's.

The stages are imported lazily by the commands: `--help`, `generate` and `package` start fast and
need no Spark.

Over 500 lines because every command's flags and its handler live here, one block each: one
place to read what a command accepts and what it returns.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pipelines.core.errors import (
    A100mError,
    InputError,
    LakeBusyError,
    SettingsError,
    UsageError,
    is_commit_conflict,
    lake_state_problem,
)
from pipelines.core.settings import Settings, load_settings

if TYPE_CHECKING:  # imported by the commands that need them: --help stays fast
    from pipelines.api import Lake
    from pipelines.trainset.options import Query

EXIT_OK = 0
EXIT_DATA = 1
EXIT_USAGE = 2
EXIT_ANOMALIES = 3  # a100m report: checks passed, but a metric left its usual range
EXIT_INTERNAL = 70  # sysexits' EX_SOFTWARE: not the user's mistake; the log file has the trace
EXIT_BUSY = 75  # sysexits' EX_TEMPFAIL: a scheduler retries the same command later

# The commands that change the lake under the run journal: a failure rolls back the failed
# stage's writes. The others only read it (or write files outside it).
LAKE_WRITERS = frozenset({"explode", "validate", "stats", "report", "run", "recover", "optimize"})

log = logging.getLogger("a100m")

# The flags whose names are not the Python option's with dashes (`min_duration`: --min-duration).
FLAGS = {
    "database": "--catalog-db",
    "fmt": "--format",
    "label": "--field",
    "levels": "--level",
    "table_format": "--as",
    "thresholds": "--tiou",
    "verbs": "--verb",
    "video_uid": "VIDEO_UID",
    "videos_file": "--videos",
    "wait_seconds": "--wait",
}


def flag_text(option: str, value: str | None) -> str:
    """An option named in a library message, as this command line spells it (`--wait SECONDS`)."""
    flag = FLAGS.get(option, "--" + option.replace("_", "-"))
    return flag if value is None else f"{flag} {value}"


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("settings")
    group.add_argument("--lake", help="lake root folder or URI (default: from settings)")
    group.add_argument(
        "--env", help="settings environment: conf/<env>.yaml (default: local, or $A100M_ENV)"
    )
    group.add_argument(
        "--settings", metavar="FILE", help="a settings YAML file instead of conf/<env>.yaml"
    )
    group.add_argument("--master", help="Spark master URL (overrides the settings)")
    group.add_argument(
        "--spark-conf",
        action="append",
        metavar="KEY=VALUE",
        help="extra Spark property (repeatable)",
    )
    output = common.add_argument_group("output")
    output.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show every library's INFO lines (Spark, Great Expectations, py4j) on the terminal too",
    )
    output.add_argument(
        "--log-file",
        metavar="FILE",
        help="the run's full log (default: <report>/logs/<time>-<command>.log, named at the end)",
    )
    return common


def _layout(value: str) -> str:
    """--layout: one of optimize.py's LAYOUTS, checked only when given (no pyspark for --help)."""
    from pipelines.lakeops.optimize import LAYOUTS

    if value not in LAYOUTS:
        raise argparse.ArgumentTypeError(f"{value!r} is not one of {', '.join(LAYOUTS)}")
    return value


def build_parser() -> argparse.ArgumentParser:
    common = _common_options()
    parser = argparse.ArgumentParser(prog="a100m", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    explode = commands.add_parser(
        "explode", parents=[common], help="ingest raw Parquet/JSON rows into the flat Delta tables"
    )
    _add_inputs(explode)

    run = commands.add_parser(
        "run", parents=[common], help="run every stage: explode, then the rest"
    )
    _add_inputs(run)
    run.add_argument("--report", help="report folder (default: from settings)")

    validate = commands.add_parser(
        "validate",
        parents=[common],
        help="run the Great Expectations suites; quarantine bad records",
    )
    validate.add_argument(
        "--report", help="folder for Data Docs and JSON results (default: from settings)"
    )
    validate.add_argument(
        "--no-quarantine",
        action="store_true",
        help="report only; leave failing records in the tables",
    )
    validate.add_argument(
        "--full",
        action="store_true",
        help="re-validate every video, not only those no validation has seen",
    )

    stats = commands.add_parser(
        "stats", parents=[common], help="corpus statistics: stats_* tables, JSON, HTML"
    )
    stats.add_argument(
        "--out", help="folder for stats.json and report.html (default: <report>/stats)"
    )
    stats.add_argument(
        "--full",
        action="store_true",
        help="recompute every ingest run's partial aggregates, not only new or changed runs'",
    )

    report = commands.add_parser(
        "report",
        parents=[common],
        help="scheduled data-quality report: a dated folder and an index",
    )
    report.add_argument("--out", help="folder holding the dated reports (default: from settings)")
    report.add_argument(
        "--alert-webhook",
        metavar="URL",
        help="POST one JSON message per report (Slack or Teams incoming webhook; "
        "default: the alert_webhook setting)",
    )

    recover = commands.add_parser(
        "recover",
        parents=[common],
        help="roll back what a killed run left half-written, and nothing else",
    )

    commands.add_parser(
        "snapshot",
        parents=[common],
        help="print each table's last committed version as JSON, for external readers",
    )

    optimize = commands.add_parser(
        "optimize",
        parents=[common],
        help="compact the tables, cluster them on video_uid, optionally VACUUM (docs/lakeops.md)",
    )
    optimize.add_argument(
        "--layout",
        type=_layout,
        metavar="zorder|liquid",
        help="how nodes, transcripts and actions are clustered on video_uid (default: zorder)",
    )
    optimize.add_argument(
        "--vacuum", action="store_true", help="then remove files no needed version reads"
    )
    optimize.add_argument(
        "--retention-hours",
        type=float,
        metavar="H",
        help="VACUUM retention (default 168, never below Delta's safety check)",
    )
    sql = commands.add_parser(
        "sql", parents=[common], help="run one SQL query against the lake's committed snapshot"
    )
    sql.add_argument("query", help='the query, in quotes: "SELECT count(*) FROM segments"')
    sql.add_argument("--format", choices=("table", "csv", "json"), default="table")
    sql.add_argument("--out", metavar="FILE", help="write the result there instead of stdout")
    sql.add_argument(
        "--max-rows", type=int, default=100, help="rows the table format shows (default 100)"
    )
    serve = commands.add_parser(
        "serve", parents=[common], help="a Spark Connect endpoint on 127.0.0.1 over the catalog"
    )
    serve.add_argument("--port", type=int, default=15002, help="port (default: 15002)")
    for with_catalog in (run, optimize, sql, serve):
        with_catalog.add_argument(
            "--catalog-db",
            metavar="NAME",
            help="register the lake's tables and views in this catalog database "
            "(default: from settings; serve: a100m)",
        )

    select = commands.add_parser(
        "select",
        parents=[common],
        help="a subset of segments, split by video, with a manifest (docs/trainset.md)",
    )
    _add_select_options(select)
    export = commands.add_parser(
        "export",
        parents=[common],
        help="a selection or the lake as ActivityNet, dense captions, Charades-STA, ...",
    )
    _add_export_options(export)
    resample = commands.add_parser(
        "resample",
        parents=[common],
        help="cluster the distinct brief actions; weights for sampling uniformly over clusters",
    )
    _add_resample_options(resample)
    evaluate = commands.add_parser(
        "evaluate", help="tIoU mAP and Recall@k of predictions on an exported split (no Spark)"
    )
    _add_evaluate_options(evaluate)

    for writer in (explode, run, validate, stats, report, recover, optimize):
        writer.add_argument(
            "--wait",
            type=float,
            default=0.0,
            metavar="SECONDS",
            help="when another run holds the lake, wait up to SECONDS for it (default: exit 75)",
        )

    show = commands.add_parser(
        "show", parents=[common], help="one video's tree as an offline HTML page (and PNG)"
    )
    show.add_argument("video_uid", nargs="?", help="the video (or pick one: --random, --where)")
    show.add_argument("--random", action="store_true", help="a random video (of --where's)")
    show.add_argument("--seed", type=int, help="with --random: the same seed, the same video")
    show.add_argument("--where", metavar="SQL", help='a videos predicate: "node_count > 1000"')
    show.add_argument("--png", action="store_true", help="also write the PNG beside the page")
    show.add_argument("--out", help="an .html file or a folder (default: <report>/show/)")

    package = commands.add_parser("package", help="build the --py-files zip for spark-submit")
    package.add_argument("--out", default="dist", help="output folder (default: dist)")

    generate = commands.add_parser(
        "generate", help="write a synthetic corpus with the release schema"
    )
    generate.add_argument("--videos", type=int, required=True, help="number of videos")
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--out", required=True, help="output folder for the Parquet shards")
    generate.add_argument("--shards", type=int, default=1)
    generate.add_argument(
        "--faults", action="store_true", help="inject known damage, with a manifest"
    )
    return parser


def _add_inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--input",
        nargs="+",
        required=True,
        metavar="PATH",
        help="Parquet files, folders or globs of raw rows (local, s3a://, gs://, abfss://, "
        "hdfs://), to_pydict JSON files, or hf://datasets/<owner>/<name>[@revision]/<glob>",
    )
    parser.add_argument(
        "--limit-shards",
        type=int,
        metavar="N",
        help="take only the first N shards (by path) of each hf:// input",
    )
    parser.add_argument(
        "--staging",
        help="folder the hf:// shards are fetched into (default: from settings); on a cluster, "
        "a folder every executor sees",
    )


def _add_selection_options(parser: argparse.ArgumentParser) -> None:
    """The filter flags shared by `select` and `export` (docs/trainset.md)."""
    group = parser.add_argument_group("filters (they compose: a segment must pass them all)")
    group.add_argument("--level", metavar="N[,N]", help="only nodes at these tree levels")
    kind = group.add_mutually_exclusive_group()
    kind.add_argument("--leaves", action="store_true", help="only leaves")
    kind.add_argument("--internal", action="store_true", help="only internal nodes")
    group.add_argument("--min-duration", type=float, metavar="S", help="segments >= S seconds")
    group.add_argument("--max-duration", type=float, metavar="S", help="segments <= S seconds")
    group.add_argument(
        "--verb",
        metavar="LEMMA[,LEMMA]",
        help="brief action's verb lemma (the actions table, from `a100m stats`)",
    )
    group.add_argument("--actor", metavar="TEXT", help="actor contains TEXT (any case)")
    group.add_argument("--actor-regex", metavar="RE", help="actor matches the Java regex RE")
    group.add_argument(
        "--exclude-na", action="store_true", help='drop segments whose brief action is "N/A"'
    )
    group.add_argument(
        "--dedup",
        metavar="video|corpus",
        help="one segment per normalised brief action per video, or per corpus",
    )
    group.add_argument("--videos", metavar="FILE", help="only these video ids (one per line)")
    group.add_argument(
        "--with-transcript", action="store_true", help="only videos with a transcript"
    )
    group.add_argument("--sample", type=int, metavar="N", help="N segments drawn at random")
    group.add_argument("--seed", type=int, default=0, help="seed of --sample (default 0)")
    group.add_argument(
        "--resampled",
        metavar="DIR",
        help="with --sample: draw by the weights of this `a100m resample` output",
    )
    group.add_argument(
        "--split",
        metavar="NAME=F,...",
        help="split by a hash of video_uid, e.g. train=0.8,val=0.1,test=0.1",
    )


def _add_select_options(parser: argparse.ArgumentParser) -> None:
    """`a100m select`'s own flags, besides the filters."""
    parser.add_argument("--out", required=True, help="output folder (outside the lake)")
    parser.add_argument(
        "--as",
        dest="table_format",
        default="parquet",
        metavar="parquet|delta",
        help="write the segments as Parquet (default) or as a Delta table",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
    _add_selection_options(parser)


def _add_export_options(parser: argparse.ArgumentParser) -> None:
    """`a100m export`'s own flags, besides the filters."""
    from pipelines.trainset.options import FORMATS

    parser.add_argument("--format", required=True, metavar="FORMAT", help=", ".join(FORMATS))
    parser.add_argument("--out", required=True, help="output folder (outside the lake)")
    parser.add_argument(
        "--selection", metavar="DIR", help="export this `a100m select` output (else the lake)"
    )
    parser.add_argument(
        "--field",
        metavar="NAME",
        help="the label / sentence field (default: action_brief; summary_brief for dense-captions)",
    )
    parser.add_argument(
        "--fields", metavar="A,B,...", help="columns of jsonl / parquet (default: all)"
    )
    parser.add_argument(
        "--precision",
        type=int,
        default=3,
        metavar="D",
        help="decimals of the times in JSON and text formats (default 3)",
    )
    parser.add_argument(
        "--id-prefix",
        default="",
        metavar="TEXT",
        help="written before every video id in the JSON and text formats, e.g. v_ (default none)",
    )
    parser.add_argument(
        "--fps",
        type=float,
        metavar="F",
        help="activitynet: the fps written for every video (default 30; the corpus has none)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
    _add_selection_options(parser)


def _add_resample_options(parser: argparse.ArgumentParser) -> None:
    """`a100m resample`'s flags."""
    parser.add_argument("--out", required=True, help="output folder (outside the lake)")
    parser.add_argument("--k", type=int, required=True, help="number of k-means clusters")
    parser.add_argument("--seed", type=int, default=0, help="seed of Word2Vec and k-means")
    parser.add_argument(
        "--vector-size", type=int, default=32, help="Word2Vec vector size (default 32)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")


def _add_evaluate_options(parser: argparse.ArgumentParser) -> None:
    """`a100m evaluate`'s flags (docs/readers.md)."""
    parser.add_argument("export", help="an `a100m export` folder (activitynet or moment-detr)")
    parser.add_argument(
        "--predictions",
        required=True,
        metavar="FILE",
        help="ActivityNet results JSON (activitynet) or QVHighlights JSON Lines (moment-detr)",
    )
    parser.add_argument("--split", help="the export's split to score (default: its only one)")
    parser.add_argument("--out", help="write metrics.json and metrics.html into this folder")
    parser.add_argument(
        "--tiou", default="0.3,0.5,0.7", metavar="T,...", help="tIoU thresholds (0.3,0.5,0.7)"
    )
    parser.add_argument("--top-k", default="1,5", metavar="K,...", help="Recall@k (1,5)")


def parse_spark_conf(pairs: list[str] | None) -> dict[str, str]:
    """Repeated --spark-conf KEY=VALUE flags as a dict."""
    result: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SettingsError(f"--spark-conf expects KEY=VALUE, got {pair!r}")
        result[key.strip()] = value.strip()
    return result


def settings_from(args: argparse.Namespace) -> Settings:
    settings = load_settings(args.env, args.settings)
    return settings.with_overrides(
        lake=getattr(args, "lake", None),
        report=getattr(args, "report", None),
        staging=getattr(args, "staging", None),
        master=args.master,
        spark_conf=parse_spark_conf(args.spark_conf),
        catalog_db=getattr(args, "catalog_db", None),
        alert_webhook=getattr(args, "alert_webhook", None),
    )


# Commands that are one stage: one progress line, named after the command. `run` and `report`
# show one line per stage (pipelines/pipeline.py); serve and sql print their own output.
SINGLE_STAGE = (
    "explode",
    "validate",
    "stats",
    "recover",
    "optimize",
    "select",
    "export",
    "resample",
)


def _with_spark(args: argparse.Namespace, action: Callable[..., int]) -> int:
    from pipelines.core import progress
    from pipelines.core.console import (
        attach_log_file,
        default_log_file,
        route_query_errors,
        under_spark_submit,
    )
    from pipelines.core.session import build_session

    settings = settings_from(args)
    # the nightly report's log sits beside the dated reports it writes (--out)
    logs_under = (args.out if args.command == "report" else None) or settings.report
    log_file = attach_log_file(args.log_file or default_log_file(logs_under, args.command))
    args.log_path = log_file
    route_query_errors()
    if args.command == "serve" and not settings.catalog_db:
        settings = settings.with_overrides(catalog_db="a100m")
    if settings.catalog_db:  # the metastore's properties must be set before Spark starts
        from pipelines.lakeops.catalog import catalog_conf

        settings = settings.with_overrides(spark_conf=catalog_conf(settings))
    from pipelines.core.timings import phase

    with phase("session"):
        spark = build_session(settings, jvm_output=log_file)
    if args.verbose:
        spark.sparkContext.setLogLevel("INFO")
    if not under_spark_submit():  # there stderr is merged into stdout: no progress lines
        progress.enable()
    from pipelines.api import Lake

    lake = Lake(settings.lake, settings=settings, spark=spark)
    if args.command in SINGLE_STAGE:
        with progress.stage_progress(spark, args.command):
            return action(lake, args)
    return action(lake, args)


def cmd_explode(lake: Lake, args: argparse.Namespace) -> int:
    result = lake.explode(
        args.input, limit_shards=args.limit_shards, staging=args.staging, wait_seconds=args.wait
    )
    print(result.summary())
    return EXIT_OK


def cmd_validate(lake: Lake, args: argparse.Namespace) -> int:
    result = lake.validate(
        quarantine=not args.no_quarantine, full=args.full, wait_seconds=args.wait
    )
    print(result.summary())
    return EXIT_OK if result.passed else EXIT_DATA


def cmd_stats(lake: Lake, args: argparse.Namespace) -> int:
    print(lake.stats(out=args.out, full=args.full, wait_seconds=args.wait).summary())
    return EXIT_OK


def cmd_report(lake: Lake, args: argparse.Namespace) -> int:
    result = lake.report(out=args.out, wait_seconds=args.wait)
    print(result.validation.summary())
    print(result.summary())
    return report_exit_code(result.failed, len(result.anomalies))


def report_exit_code(failed: bool, anomalies: int) -> int:
    """A report's code: 1 when a fail-severity check (or anomaly) failed, else 3 when there are
    anomalies, else 0. An alert that could not be delivered changes nothing."""
    if failed:
        return EXIT_DATA
    return EXIT_ANOMALIES if anomalies else EXIT_OK


def cmd_run(lake: Lake, args: argparse.Namespace) -> int:
    result = lake.run(args.input, limit_shards=args.limit_shards, wait_seconds=args.wait)
    settings = lake.settings
    print(result.explode.summary())
    print(result.validation.summary())
    print(result.stats.summary())
    print(f"run {result.run_id} on lake {settings.lake}, report in {settings.report}")
    for stage, seconds in result.timings:
        print(f"  stage {stage:<10} {seconds:8.1f} s")
    if result.registration is not None:
        print(result.registration.summary())
    return EXIT_OK if result.validation.passed else EXIT_DATA


def cmd_recover(lake: Lake, args: argparse.Namespace) -> int:
    if not lake.recover(wait_seconds=args.wait):
        print(f"lake {lake.root}: no unfinished run, nothing to recover")
    return EXIT_OK


def cmd_snapshot(args: argparse.Namespace) -> int:
    """Read by delta-rs, without a JVM, for a local lake; through Spark for a remote one."""
    from pipelines.core.deltars import local_root

    settings = settings_from(args)
    if local_root(settings.lake) is None:  # a remote lake: Spark reads it
        return _with_spark(args, _print_snapshot)
    from pipelines.api import Lake

    return _print_snapshot(Lake(settings.lake, settings=settings), args)


def _print_snapshot(lake: Lake, args: argparse.Namespace) -> int:
    import json

    def note(line: str) -> None:
        print(f"a100m snapshot: {line}", file=sys.stderr)

    print(json.dumps(lake.snapshot(note=note), indent=2, sort_keys=True))
    return EXIT_OK


def query_from_args(args: argparse.Namespace) -> Query:
    """The Query the filter flags ask for (it refuses, in one line, what cannot work)."""
    from pipelines.trainset.options import Query, parse_levels, parse_split, parse_verbs

    return Query(
        levels=parse_levels(args.level) if args.level else (),
        leaves=True if args.leaves else (False if args.internal else None),
        min_duration=args.min_duration,
        max_duration=args.max_duration,
        verbs=parse_verbs(args.verb),
        actor=args.actor,
        actor_regex=args.actor_regex,
        exclude_na=args.exclude_na,
        dedup=args.dedup,
        videos_file=args.videos,
        with_transcript=args.with_transcript,
        sample=args.sample,
        seed=args.seed,
        split=parse_split(args.split) if args.split else (),
        resampled=args.resampled,
    )


def cmd_select(lake: Lake, args: argparse.Namespace) -> int:
    result = lake.select(
        args.out,
        query=query_from_args(args),
        table_format=args.table_format,
        overwrite=args.overwrite,
    )
    print(result.summary())
    return EXIT_OK


def cmd_export(lake: Lake, args: argparse.Namespace) -> int:
    result = lake.export(
        args.format,
        out=args.out,
        query=query_from_args(args),
        selection=args.selection,
        label=args.field,
        fields=args.fields,
        precision=args.precision,
        overwrite=args.overwrite,
        fps=args.fps,
        id_prefix=args.id_prefix,
    )
    print(result.summary())
    return EXIT_OK


def cmd_resample(lake: Lake, args: argparse.Namespace) -> int:
    result = lake.resample(
        args.out, k=args.k, seed=args.seed, vector_size=args.vector_size, overwrite=args.overwrite
    )
    print(result.summary())
    return EXIT_OK


def cmd_optimize(lake: Lake, args: argparse.Namespace) -> int:
    from pipelines.lakeops.optimize import DEFAULT_LAYOUT

    result = lake.optimize(
        layout=args.layout or DEFAULT_LAYOUT,
        vacuum=args.vacuum,
        retention_hours=args.retention_hours,
        wait_seconds=args.wait,
    )
    print(result.summary())
    if result.registration is not None:
        print(result.registration.summary())
    return EXIT_OK


def cmd_sql(lake: Lake, args: argparse.Namespace) -> int:
    result = lake.sql(
        args.query, fmt=args.format, out=args.out, max_rows=args.max_rows, option_text=flag_text
    )
    if result.out:
        print(f"{result.rows} rows written to {result.out}")
    return EXIT_OK


def cmd_serve(lake: Lake, args: argparse.Namespace) -> int:
    def ready(url, registration) -> None:
        print(registration.summary())
        print(f"Spark Connect server on {url} (lake {lake.root}); Ctrl-C stops it", flush=True)

    lake.serve(port=args.port, ready=ready)
    print("Spark Connect server stopped")
    return EXIT_OK


def cmd_show(lake: Lake, args: argparse.Namespace) -> int:
    result = lake.show(
        args.video_uid,
        out=args.out,
        png=args.png,
        where=args.where,
        random=args.random,
        seed=args.seed,
    )
    print(result.summary())
    return EXIT_OK


def cmd_generate(args: argparse.Namespace) -> int:
    from pipelines.synth import format_summary, generate

    manifest = generate(
        args.out, videos=args.videos, seed=args.seed, shards=args.shards, faults=args.faults
    )
    print(format_summary(manifest))
    return EXIT_OK


def cmd_evaluate(args: argparse.Namespace) -> int:
    from pipelines.api import evaluate
    from pipelines.trainset.evaluate import summary
    from pipelines.trainset.options import parse_thresholds, parse_top_k

    result = evaluate(
        args.export,
        predictions=args.predictions,
        split=args.split,
        out=args.out,
        thresholds=parse_thresholds(args.tiou),
        top_k=parse_top_k(args.top_k),
    )
    print(summary(result))
    if args.out:
        print(f"  wrote {args.out}/metrics.json and metrics.html")
    return EXIT_OK


def cmd_package(args: argparse.Namespace) -> int:
    from pipelines.core.package import build_zip

    print(build_zip(args.out))
    return EXIT_OK


COMMANDS: dict[str, Callable[..., int]] = {
    "explode": cmd_explode,
    "validate": cmd_validate,
    "stats": cmd_stats,
    "report": cmd_report,
    "run": cmd_run,
    "recover": cmd_recover,
    "optimize": cmd_optimize,
    "sql": cmd_sql,
    "serve": cmd_serve,
    "select": cmd_select,
    "export": cmd_export,
    "resample": cmd_resample,
    "show": cmd_show,
}
WITHOUT_SPARK: dict[str, Callable[[argparse.Namespace], int]] = {
    "generate": cmd_generate,
    "package": cmd_package,
    "snapshot": cmd_snapshot,
    "evaluate": cmd_evaluate,
}


def exit_code_for(exc: BaseException) -> int:
    """The one mapping from an error kind to the exit code."""
    if isinstance(exc, LakeBusyError) or is_commit_conflict(exc):
        return EXIT_BUSY
    if lake_state_problem(exc) is not None:
        return EXIT_DATA
    if isinstance(exc, UsageError):
        return EXIT_USAGE
    if isinstance(exc, A100mError):
        return EXIT_DATA
    return EXIT_INTERNAL


def report_error(command: str, exc: BaseException, log_path=None) -> None:
    """One clear line (or one per refused input) on stderr, true for the command that failed;
    an unexpected failure's line names the log file that holds its trace."""
    if isinstance(exc, InputError):
        print(f"a100m {command}: input refused, nothing was written:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
    elif isinstance(exc, A100mError):
        print(f"a100m {command}: {exc.render(flag_text)}", file=sys.stderr)
    elif (problem := lake_state_problem(exc)) is not None:
        print(f"a100m {command}: {problem}", file=sys.stderr)
    elif is_commit_conflict(exc):
        print(
            f"a100m {command}: another writer committed to the lake first; nothing of this "
            f"command was committed, run it again: {_first_line(exc)}",
            file=sys.stderr,
        )
    else:  # Spark, Delta or file-system failure, or a bug
        log.info("a100m %s failed", command, exc_info=True)  # the trace: log file only
        if command in LAKE_WRITERS:
            what = (
                "the failed stage's writes were rolled back, stages that had committed stay "
                "(see the run journal, _runs)"
            )
        else:
            what = "the lake was not changed"
        print(
            f"a100m {command}: failed; {what}: {_first_line(exc)}"
            + (f"; full log: {log_path}" if log_path else ""),
            file=sys.stderr,
        )


def _first_line(exc: BaseException) -> str:
    """A Spark error's first line (its error class and message), without the JVM stack trace
    py4j appends."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    from pipelines.core import timings

    before_main = timings.process_age()
    main_started = time.monotonic()
    try:
        return _main(argv)
    finally:
        lease = sys.modules.get("pipelines.core.lease")  # not imported: no journal, no lease
        timings.dump_if_asked(
            {
                "before_main": before_main,
                "main": round(time.monotonic() - main_started, 3),
                "journal_and_lease": round(lease.PROTOCOL_CLOCK.seconds, 3) if lease else 0.0,
            }
        )


def _main(argv: Sequence[str] | None) -> int:
    from pipelines.core.console import close_log_file, configure_console

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help
        return int(exc.code or 0)
    configure_console(verbose=getattr(args, "verbose", False))
    try:
        if args.command in WITHOUT_SPARK:
            return WITHOUT_SPARK[args.command](args)
        code = _with_spark(args, COMMANDS[args.command])
    except Exception as exc:
        report_error(args.command, exc, getattr(args, "log_path", None))
        return exit_code_for(exc)
    finally:
        from pipelines.core import progress

        progress.disable()
        close_log_file()
    print(f"full log: {args.log_path}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
