"""The `a100m` command (also `python -m pipelines` and the thin scripts in jobs/).

Exit codes: 0 done; 1 the data was refused or failed a fail-severity check; 2 a usage or
infrastructure error (bad flags, settings, Spark or the file system).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Sequence

from pipelines.settings import Settings, SettingsError, load_settings, parse_spark_conf

EXIT_OK = 0
EXIT_DATA = 1
EXIT_USAGE = 2

log = logging.getLogger("a100m")


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("settings")
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
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common_options()
    parser = argparse.ArgumentParser(prog="a100m", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    explode = commands.add_parser(
        "explode", parents=[common], help="ingest raw Parquet/JSON rows into the flat Delta tables"
    )
    _add_inputs(explode)
    explode.add_argument("--lake", help="lake root folder or URI (default: from settings)")

    run = commands.add_parser(
        "run", parents=[common], help="run every stage: explode, then the rest"
    )
    _add_inputs(run)
    run.add_argument("--lake", help="lake root folder or URI (default: from settings)")
    run.add_argument("--report", help="report folder (default: from settings)")

    validate = commands.add_parser(
        "validate",
        parents=[common],
        help="run the Great Expectations suites; quarantine bad records",
    )
    validate.add_argument("--lake", help="lake root folder or URI (default: from settings)")
    validate.add_argument(
        "--report", help="folder for Data Docs and JSON results (default: from settings)"
    )
    validate.add_argument(
        "--no-quarantine",
        action="store_true",
        help="report only; leave failing records in the tables",
    )

    stats = commands.add_parser(
        "stats", parents=[common], help="corpus statistics: stats_* tables, JSON, HTML"
    )
    stats.add_argument("--lake", help="lake root folder or URI (default: from settings)")
    stats.add_argument(
        "--out", help="folder for stats.json and report.html (default: <report>/stats)"
    )

    report = commands.add_parser(
        "report",
        parents=[common],
        help="scheduled data-quality report: a dated folder and an index",
    )
    report.add_argument("--lake", help="lake root folder or URI (default: from settings)")
    report.add_argument("--out", help="folder holding the dated reports (default: from settings)")

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


def settings_from(args: argparse.Namespace) -> Settings:
    settings = load_settings(args.env, args.settings)
    return settings.with_overrides(
        lake=getattr(args, "lake", None),
        report=getattr(args, "report", None),
        staging=getattr(args, "staging", None),
        master=args.master,
        spark_conf=parse_spark_conf(args.spark_conf),
    )


def _with_spark(args: argparse.Namespace, action: Callable[..., int]) -> int:
    from pipelines.session import build_session

    settings = settings_from(args)
    spark = build_session(settings)
    return action(spark, settings, args)


def cmd_explode(spark, settings: Settings, args: argparse.Namespace) -> int:
    from pipelines.ingest import explode

    result = explode(
        spark,
        args.input,
        settings.lake,
        staging=settings.staging,
        limit_shards=args.limit_shards,
    )
    print(result.summary())
    return EXIT_OK


def cmd_validate(
    spark, settings: Settings, args: argparse.Namespace, run_id: str | None = None
) -> int:
    from pipelines.ingest import new_run_id
    from pipelines.validate import validate

    result = validate(
        spark,
        settings.lake,
        settings.report,
        run_id or new_run_id(),
        quarantine=not getattr(args, "no_quarantine", False),
    )
    print(result.summary())
    return EXIT_OK if result.passed else EXIT_DATA


def cmd_stats(
    spark, settings: Settings, args: argparse.Namespace, run_id: str | None = None
) -> int:
    from pipelines.ingest import new_run_id
    from pipelines.stats import compute_stats

    out = getattr(args, "out", None) or f"{settings.report.rstrip('/')}/stats"
    print(compute_stats(spark, settings.lake, out, run_id or new_run_id()).summary())
    return EXIT_OK


def cmd_report(spark, settings: Settings, args: argparse.Namespace) -> int:
    from pipelines.dq_report import make_report
    from pipelines.ingest import new_run_id

    result = make_report(spark, settings.lake, args.out or settings.report, new_run_id())
    print(result.validation.summary())
    print(result.summary())
    return EXIT_OK if result.validation.passed else EXIT_DATA


def cmd_run(spark, settings: Settings, args: argparse.Namespace) -> int:
    from pipelines.ingest import explode, new_run_id

    run_id = new_run_id()
    timings: list[tuple[str, float]] = []

    started = time.monotonic()
    result = explode(
        spark,
        args.input,
        settings.lake,
        run_id=run_id,
        staging=settings.staging,
        limit_shards=args.limit_shards,
    )
    timings.append(("explode", time.monotonic() - started))
    print(result.summary())

    started = time.monotonic()
    code = cmd_validate(spark, settings, args, run_id=run_id)
    timings.append(("validate", time.monotonic() - started))

    started = time.monotonic()
    cmd_stats(spark, settings, args, run_id=run_id)
    timings.append(("stats", time.monotonic() - started))

    print(f"run {run_id} on lake {settings.lake}, report in {settings.report}")
    for stage, seconds in timings:
        print(f"  stage {stage:<10} {seconds:8.1f} s")
    return code


def cmd_generate(args: argparse.Namespace) -> int:
    from pipelines.generate import format_summary, generate

    manifest = generate(
        args.out, videos=args.videos, seed=args.seed, shards=args.shards, faults=args.faults
    )
    print(format_summary(manifest))
    return EXIT_OK


def cmd_package(args: argparse.Namespace) -> int:
    from pipelines.package import build_zip

    print(build_zip(args.out))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help
        return int(exc.code or 0)

    from pipelines.sources import InputError

    try:
        if args.command == "generate":
            return cmd_generate(args)
        if args.command == "package":
            return cmd_package(args)
        action = {
            "explode": cmd_explode,
            "validate": cmd_validate,
            "stats": cmd_stats,
            "report": cmd_report,
            "run": cmd_run,
        }[args.command]
        return _with_spark(args, action)
    except InputError as exc:
        print(f"a100m {args.command}: input refused, nothing was written:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_DATA
    except (SettingsError, ValueError) as exc:
        print(f"a100m {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # Spark, Delta or file-system failure: tables were rolled back
        log.exception("a100m %s failed", args.command)
        print(f"a100m {args.command}: failed, the lake was left as it was: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
