"""One progress line per stage, from Spark's status tracker: tasks done of those known so far,
elapsed time and rate. On a terminal it is a live tqdm line; elsewhere (cron, Airflow, a file)
plain lines: one a minute while the stage works, and one when it ends.

Off unless the CLI turns it on (`enable`): a notebook or a test calling the stages sees nothing.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO, cast

from pyspark.sql import SparkSession

POLL_SECONDS = 0.5
PLAIN_EVERY_SECONDS = 60.0

_stream: TextIO | None = None


def enable(stream: TextIO | None = None) -> None:
    """Show progress on stream (stderr by default) from now on, in this process."""
    global _stream
    _stream = stream or sys.stderr


def disable() -> None:
    global _stream
    _stream = None


class _TaskCounter:
    """Tasks done and known in the jobs of one job group (the stage's own jobs: the lease's
    renewals, on their own thread, are not among them)."""

    def __init__(self, spark: SparkSession, group: str):
        self.tracker = spark.sparkContext.statusTracker()
        self.group = group
        self.finished: dict[int, tuple[int, int]] = {}  # job id -> (completed, total), final
        self.running: dict[int, tuple[int, int]] = {}

    def _job_tasks(self, job_id: int) -> tuple[int, int, bool]:
        job = self.tracker.getJobInfo(job_id)
        if job is None:
            return 0, 0, True
        done = total = 0
        for stage_id in job.stageIds:
            stage = self.tracker.getStageInfo(stage_id)
            if stage is not None:
                done += stage.numCompletedTasks
                total += stage.numTasks
        return done, total, job.status in ("SUCCEEDED", "FAILED")

    def poll(self) -> tuple[int, int]:
        self.running = {}
        for job_id in self.tracker.getJobIdsForGroup(self.group):
            if job_id in self.finished:
                continue
            done, total, final = self._job_tasks(job_id)
            (self.finished if final else self.running)[job_id] = (done, total)
        counts = [*self.finished.values(), *self.running.values()]
        return sum(c for c, _ in counts), sum(t for _, t in counts)


def _rate(done: int, elapsed: float) -> str:
    return f"{done / elapsed:.1f} tasks/s" if elapsed > 0 else "-"


@contextmanager
def stage_progress(spark: SparkSession, stage: str) -> Iterator[None]:
    """Show the stage's progress while the block runs (when enabled)."""
    stream = _stream
    if stream is None:
        yield
        return
    context = spark.sparkContext
    group = f"a100m-{stage}-{id(stream)}-{time.monotonic_ns()}"
    previous_group = context.getLocalProperty("spark.jobGroup.id")
    context.setJobGroup(group, f"a100m {stage}")
    counter = _TaskCounter(spark, group)
    started = time.monotonic()
    stop = threading.Event()
    live = hasattr(stream, "isatty") and stream.isatty()
    bar = None
    if live:
        from tqdm import tqdm

        bar = tqdm(
            desc=f"{stage:<9}",
            unit="task",
            file=stream,
            leave=True,
            dynamic_ncols=True,
            bar_format="{desc} {n_fmt}/{total_fmt} tasks [{elapsed}, {rate_fmt}]",
        )

    def watch() -> None:
        last_plain = started
        while not stop.wait(POLL_SECONDS):
            try:
                done, total = counter.poll()
            except Exception:  # the session stopping under us ends the line, not the run
                return
            if bar is not None:
                bar.total = max(total, done)
                bar.n = done
                bar.refresh()
            elif time.monotonic() - last_plain >= PLAIN_EVERY_SECONDS:
                last_plain = time.monotonic()
                elapsed = last_plain - started
                print(
                    f"{stage}: {done}/{total} tasks, {elapsed:.0f} s, {_rate(done, elapsed)}",
                    file=stream,
                    flush=True,
                )

    watcher = threading.Thread(target=watch, name=f"a100m-progress-{stage}", daemon=True)
    watcher.start()
    failed = True
    try:
        yield
        failed = False
    finally:
        stop.set()
        watcher.join(timeout=5)
        # None unsets the property (pyspark documents it; its annotation says str)
        context.setLocalProperty("spark.jobGroup.id", cast(str, previous_group))
        try:
            done, total = counter.poll()
        except Exception:
            done, total = sum(c for c, _ in counter.finished.values()), 0
        elapsed = time.monotonic() - started
        if bar is not None:
            bar.total = max(total, done)
            bar.n = done
            bar.refresh()
            bar.close()
        elif not failed:  # a failure says so in its own line
            print(
                f"{stage}: done, {done} tasks in {elapsed:.1f} s ({_rate(done, elapsed)})",
                file=stream,
                flush=True,
            )
