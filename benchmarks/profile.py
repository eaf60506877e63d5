"""`python -m benchmarks.profile --videos N`: where each stage's time goes, from Spark's event log.

Runs explode, validate and stats on the harness's corpus (generated once, reused) in one local
session with Spark's event log on, each stage under its own job group, then reads the log back
and prints, per stage: its wall time, the Spark jobs it ran and the time they covered, the time
the driver spent outside any job (Python, Great Expectations, Delta commits, planning), the
executors' summed task time, and the call sites (file:line of our code, as PySpark records them)
that cost the most. Writes the same as JSON beside the log.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STAGES = ("explode", "validate", "stats")


@dataclass
class JobRecord:
    group: str | None
    call_site: str
    started_ms: int
    ended_ms: int = 0
    stages: list[int] = field(default_factory=list)
    tasks: int = 0
    task_ms: int = 0  # executor run time summed over the job's tasks
    input_bytes: int = 0
    output_bytes: int = 0
    shuffle_write_bytes: int = 0

    @property
    def ms(self) -> int:
        return max(0, self.ended_ms - self.started_ms)


def _event_lines(path: Path) -> Iterator[str]:
    """The log's lines: one file, or a rolling log's folder (Spark 4: events_<n>_<app>)."""
    if path.is_file():
        files = [path]
    else:
        parts = [f for f in path.iterdir() if f.name.startswith("events_")]
        files = sorted(parts, key=lambda f: int(f.name.split("_")[1]))
    for file in files:
        with file.open() as log:
            yield from log


def _call_site(props: dict[str, str], stages: list[dict[str, Any]]) -> str:
    """Our code's file:line when PySpark recorded it (actions); else what Spark or Delta named
    the job (a Delta write, a log replay), by its description or its first stage."""
    site = props.get("callSite.short")
    if site:
        return site
    described = props.get("spark.job.description")
    if described:
        return described.splitlines()[0][:100]
    names = [s.get("Stage Name", "") for s in stages]
    return f"[{min(names)}]" if names else "?"


def read_event_log(path: Path) -> list[JobRecord]:
    """Jobs from one Spark event log (JSON lines), with their tasks' metrics folded in."""
    jobs: dict[int, JobRecord] = {}
    stage_job: dict[int, int] = {}
    for line in _event_lines(path):
        event = json.loads(line)
        kind = event.get("Event")
        if kind == "SparkListenerJobStart":
            props = event.get("Properties") or {}
            job = JobRecord(
                group=props.get("spark.jobGroup.id"),
                call_site=_call_site(props, event.get("Stage Infos") or []),
                started_ms=event["Submission Time"],
                stages=list(event.get("Stage IDs") or []),
            )
            jobs[event["Job ID"]] = job
            for stage in job.stages:
                stage_job[stage] = event["Job ID"]
        elif kind == "SparkListenerJobEnd" and event["Job ID"] in jobs:
            jobs[event["Job ID"]].ended_ms = event["Completion Time"]
        elif kind == "SparkListenerTaskEnd" and event.get("Stage ID") in stage_job:
            job = jobs[stage_job[event["Stage ID"]]]
            metrics = event.get("Task Metrics") or {}
            job.tasks += 1
            job.task_ms += int(metrics.get("Executor Run Time", 0))
            job.input_bytes += int((metrics.get("Input Metrics") or {}).get("Bytes Read", 0))
            job.output_bytes += int((metrics.get("Output Metrics") or {}).get("Bytes Written", 0))
            job.shuffle_write_bytes += int(
                (metrics.get("Shuffle Write Metrics") or {}).get("Shuffle Bytes Written", 0)
            )
    return sorted(jobs.values(), key=lambda j: j.started_ms)


def covered_ms(jobs: list[JobRecord]) -> int:
    """Wall time during which at least one job ran (jobs of background threads overlap)."""
    total, end = 0, None
    for job in sorted(jobs, key=lambda j: j.started_ms):
        if end is None or job.started_ms > end:
            total += job.ms
            end = job.ended_ms
        elif job.ended_ms > end:
            total += job.ended_ms - end
            end = job.ended_ms
    return total


def summarise(jobs: list[JobRecord], walls: dict[str, float], top: int = 8) -> dict[str, Any]:
    """Per stage: jobs, time in jobs, driver-only time and the costliest call sites."""
    result: dict[str, Any] = {}
    for stage, wall in walls.items():
        mine = [j for j in jobs if j.group == stage]
        in_jobs = covered_ms(mine) / 1000
        sites: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for job in mine:
            site = sites[job.call_site]
            site["jobs"] += 1
            site["seconds"] += job.ms / 1000
            site["task_seconds"] += job.task_ms / 1000
            site["input_mb"] += job.input_bytes / 2**20
            site["output_mb"] += job.output_bytes / 2**20
            site["shuffle_mb"] += job.shuffle_write_bytes / 2**20
        ranked = sorted(sites.items(), key=lambda kv: -kv[1]["seconds"])
        result[stage] = {
            "wall_seconds": round(wall, 1),
            "jobs": len(mine),
            "seconds_in_jobs": round(in_jobs, 1),
            "driver_only_seconds": round(max(0.0, wall - in_jobs), 1),
            "task_seconds": round(sum(j.task_ms for j in mine) / 1000, 1),
            "call_sites": [
                {"call_site": name, **{k: round(v, 1) for k, v in figures.items()}}
                for name, figures in ranked[:top]
            ],
        }
    return result


def print_profile(profile: dict[str, Any]) -> None:
    for stage, figures in profile.items():
        print(
            f"{stage}: {figures['wall_seconds']} s wall, {figures['jobs']} Spark jobs covering "
            f"{figures['seconds_in_jobs']} s, driver only {figures['driver_only_seconds']} s, "
            f"task time {figures['task_seconds']} s"
        )
        for site in figures["call_sites"]:
            print(
                f"    {site['seconds']:7.1f} s {int(site['jobs']):4d} jobs  "
                f"tasks {site['task_seconds']:7.1f} s  in {site['input_mb']:7.1f} MB  "
                f"out {site['output_mb']:6.1f} MB  shuffle {site['shuffle_mb']:6.1f} MB  "
                f"{site['call_site']}"
            )


def run(videos: int, seed: int, work: Path, shards: int) -> dict[str, Any]:
    from benchmarks.harness import benchmark_session, ensure_corpus
    from pipelines.core.runs import new_run_id
    from pipelines.ingest.stage import explode
    from pipelines.quality.validate import validate
    from pipelines.stats.stage import compute_stats

    raw = ensure_corpus(work, videos, seed, shards)
    out = work / f"profile-{videos}"
    shutil.rmtree(out, ignore_errors=True)
    (out / "events").mkdir(parents=True)
    spark = benchmark_session(
        extra_conf={
            "spark.eventLog.enabled": "true",
            "spark.eventLog.dir": (out / "events").resolve().as_uri(),
            "spark.eventLog.compress": "false",
        }
    )
    lake, report = str(out / "lake"), str(out / "report")
    actions = {
        "explode": lambda: explode(spark, [str(raw)], lake),
        "validate": lambda: validate(spark, lake, report, new_run_id()),
        "stats": lambda: compute_stats(spark, lake, f"{report}/stats"),
    }
    walls: dict[str, float] = {}
    for stage in STAGES:
        spark.sparkContext.setJobGroup(stage, "")  # no description: jobs keep their own names
        started = time.monotonic()
        actions[stage]()
        walls[stage] = time.monotonic() - started
        print(f"{stage}: {walls[stage]:.1f} s", flush=True)
    spark.sparkContext.setJobGroup("after", "")
    spark.stop()
    (out / "walls.json").write_text(json.dumps(walls))
    return summarise_folder(out)


def summarise_folder(out: Path) -> dict[str, Any]:
    """The profile of a finished run's folder (its event log and walls.json)."""
    (log,) = (out / "events").iterdir()
    walls = json.loads((out / "walls.json").read_text())
    profile = summarise(read_event_log(log), walls)
    (out / "profile.json").write_text(json.dumps(profile, indent=2))
    return profile


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.profile", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--videos", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--work", default="benchmarks/out", help="working folder (corpus reused)")
    parser.add_argument("--again", help="summarise this finished profile folder again, no run")
    args = parser.parse_args(argv)
    if args.again:
        print_profile(summarise_folder(Path(args.again)))
        return 0
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    print_profile(run(args.videos, args.seed, work, args.shards))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
