"""Two processes race for the lease of one lake on S3, round after round (tests/test_s3.py).

Each contender is its own Python process with its own Spark driver (its own JVM, as two `a100m`
commands are), started by multiprocessing; a barrier lets both take the lease at the same moment
each round: both commit the same journal version. The winner gives the lease back before the next
round. What each saw is put on a queue for the test to judge.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from tests.s3 import S3Server

ROUND_SECONDS = 120  # a barrier that waits longer than this breaks: the other contender died
# The first wait is for the other's Spark start, which on a fresh machine resolves S3A's JARs from
# Maven Central (the AWS SDK bundle is 640 MB) while this one waits for its lock.
START_SECONDS = 1200


def contender_settings(server: S3Server, lake: str, commits: str | None) -> Any:
    """A child's settings: one core, the S3A settings of the server, object_store_commits."""
    from pipelines.core.settings import load_settings
    from tests.processes import TEST_SPARK_CONF

    settings = load_settings("local").with_overrides(
        lake=lake,
        master="local[1]",
        spark_conf={**TEST_SPARK_CONF, **server.spark_conf()},
    )
    return replace(settings, object_store_commits=commits, class_archive=False)


def contend(
    name: str,
    server: S3Server,
    lake: str,
    commits: str | None,
    rounds: int,
    barrier: Any,
    results: Any,
    logs: str,
) -> None:
    """One contender: `rounds` times, take the lease at the barrier, give it back if it won,
    and say whether it won and which journal steps it wrote (commits that returned)."""
    from pipelines.core.lease import Lease
    from pipelines.core.session import build_session

    os.environ["A100M_LEASE_SECONDS"] = "600"  # no round comes near an expiry
    spark = build_session(
        contender_settings(server, lake, commits), jvm_output=Path(logs) / f"{name}.log"
    )
    try:
        for round_ in range(rounds):
            barrier.wait(START_SECONDS if round_ == 0 else ROUND_SECONDS)
            lease = Lease(spark, lake, f"{name}-{round_}", "race", 600.0)
            busy = lease.try_acquire(attempts=1)
            barrier.wait(ROUND_SECONDS)  # both have decided
            if busy is None:
                lease.release()
            results.put((name, round_, busy is None, busy, list(lease.written)))
            barrier.wait(ROUND_SECONDS)  # the lake is free again
    except BaseException as exc:  # the test reads it instead of waiting on the barrier
        results.put((name, -1, False, f"{type(exc).__name__}: {exc}", []))
        barrier.abort()
        raise
    finally:
        spark.stop()
