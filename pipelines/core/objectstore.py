"""Commits that stay put-if-absent on S3, or a refusal (docs/storage.md).

Delta's log store for `s3a://` (S3SingleDriverLogStore) checks that a version's commit file is
absent and then writes it with a plain PUT, under a lock that exists only inside one JVM: two
processes (two drivers, two cluster jobs) can both write the same version of a table, and the
second silently replaces the first. Hadoop 3.4.2's S3A does not help here: its conditional create
(`fs.s3a.create.conditional.enabled`) sends `If-None-Match: *` only when a caller asks for it
through the create builder, which Delta's log store does not do (tests/test_s3.py shows both).

The lease (core/lease.py) is what keeps a second writer out, and it needs exactly that guarantee
from the run journal `_runs`: of two steps committed at once, both land, at distinct versions.
So on S3 the setting `object_store_commits` says how the lake stays safe:

- `conditional_put`: the journal's steps are committed by delta-rs, whose S3 log store writes a
  version's commit file with `If-None-Match: *` (put-if-absent on AWS S3, MinIO, Cloudflare R2,
  SeaweedFS); the data tables are then written by one lease holder at a time, inside one JVM,
  where Delta's own lock suffices. The store must honour `If-None-Match` on PUT.
- `single_writer`: the user promises that one writer at a time ever runs on the lake (one
  scheduler, no hand-started runs beside it); everything goes through Spark as on HDFS.
- unset: a writing command on an S3 lake refuses, in one line naming the setting.

HDFS, local disks, GCS (`gs://`) and ADLS (`abfss://`) need none of this: Delta's log stores
there are put-if-absent across processes (an atomic rename, or the store's own precondition).
"""

from __future__ import annotations

from pathlib import Path

import pyspark
from pyspark.sql import SparkSession

from pipelines.core.errors import SettingsError
from pipelines.core.settings import OBJECT_STORE_COMMITS, Settings

S3_SCHEMES = ("s3a", "s3", "s3n")
CONDITIONAL_PUT = "conditional_put"
SINGLE_WRITER = "single_writer"
COMMIT_MODES = OBJECT_STORE_COMMITS
assert COMMIT_MODES == (CONDITIONAL_PUT, SINGLE_WRITER)
# Where build_session leaves the setting for the code that only has the session (the lease).
COMMITS_CONF = "spark.a100m.objectStoreCommits"
SETTING = "object_store_commits"


def is_s3(uri: str) -> bool:
    """Whether the path is on S3 through Hadoop's S3A (or its older names)."""
    return "://" in uri and uri.split("://", 1)[0].lower() in S3_SCHEMES


def commit_mode(spark: SparkSession) -> str | None:
    """The session's object_store_commits setting (None where it was not given)."""
    value = spark.conf.get(COMMITS_CONF, None)
    return value or None


def require_safe_commits(spark: SparkSession, lake: str) -> None:
    """Refuse to write an S3 lake where nothing keeps two writers' commits apart."""
    if not is_s3(lake) or commit_mode(spark) in COMMIT_MODES:
        return
    raise SettingsError(
        f"lake {lake} is on S3, where Delta's default log store lets two writing processes "
        f"commit the same version (the second replaces the first): set {SETTING}: "
        f"{CONDITIONAL_PUT} (put-if-absent, the store must honour If-None-Match) or "
        f"{SINGLE_WRITER} (you never run two writers at once) in the settings file, or "
        f"A100M_{SETTING.upper()}; docs/storage.md says which to choose"
    )


def journal_through_deltars(spark: SparkSession, lake: str) -> bool:
    """Whether the lake's journal steps are committed by delta-rs with conditional puts."""
    return is_s3(lake) and commit_mode(spark) == CONDITIONAL_PUT


def _conf(spark: SparkSession, key: str) -> str | None:
    value = spark.conf.get(f"spark.hadoop.{key}", None)
    return value or None


def deltars_uri(uri: str) -> str:
    """The path as delta-rs names it (s3a:// and s3n:// are s3:// to it)."""
    scheme, rest = uri.split("://", 1)
    return f"s3://{rest}" if scheme.lower() in S3_SCHEMES else uri


def storage_options(spark: SparkSession) -> dict[str, str]:
    """delta-rs's S3 options from the session's S3A settings (spark.hadoop.fs.s3a.*): the same
    endpoint, keys and region; what is not set there delta-rs reads from AWS_* variables."""
    options: dict[str, str] = {}
    endpoint = _conf(spark, "fs.s3a.endpoint")
    if endpoint:
        if "://" not in endpoint:
            secure = (_conf(spark, "fs.s3a.connection.ssl.enabled") or "true").lower() == "true"
            endpoint = f"{'https' if secure else 'http'}://{endpoint}"
        options["AWS_ENDPOINT_URL"] = endpoint
        if endpoint.startswith("http://"):
            options["AWS_ALLOW_HTTP"] = "true"
    for hadoop_key, option in (
        ("fs.s3a.access.key", "AWS_ACCESS_KEY_ID"),
        ("fs.s3a.secret.key", "AWS_SECRET_ACCESS_KEY"),
        ("fs.s3a.session.token", "AWS_SESSION_TOKEN"),
        ("fs.s3a.endpoint.region", "AWS_REGION"),
    ):
        if (value := _conf(spark, hadoop_key)) is not None:
            options[option] = value
    path_style = _conf(spark, "fs.s3a.path.style.access")
    if path_style is not None:
        options["AWS_VIRTUAL_HOSTED_STYLE_REQUEST"] = str(path_style.lower() != "true").lower()
    return options


def hadoop_version() -> str:
    """The Hadoop client version inside the pyspark install (3.4.2 for pyspark 4.1)."""
    jars = sorted((Path(pyspark.__file__).parent / "jars").glob("hadoop-client-api-*.jar"))
    if not jars:
        raise SettingsError(
            "no hadoop-client-api JAR in the pyspark install: cannot pick hadoop-aws"
        )
    return jars[-1].name.removeprefix("hadoop-client-api-").removesuffix(".jar")


def s3_coordinates() -> str:
    """Maven coordinates of S3A for this Spark: hadoop-aws of the same Hadoop version (it
    brings the AWS SDK bundle it was built with)."""
    return f"org.apache.hadoop:hadoop-aws:{hadoop_version()}"


def session_conf(settings: Settings) -> dict[str, str]:
    """What the session carries for an S3 lake: the setting, for the lease to read."""
    if settings.object_store_commits:
        return {COMMITS_CONF: settings.object_store_commits}
    return {}
