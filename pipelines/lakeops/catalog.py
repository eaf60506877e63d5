"""The catalog: every table of the lake registered as an external Delta table in one database,
and the views for the common questions (docs/lakeops.md).

    CREATE DATABASE IF NOT EXISTS a100m
    CREATE TABLE IF NOT EXISTS a100m.nodes USING DELTA LOCATION '<lake>/nodes'
    CREATE OR REPLACE VIEW a100m.segments AS ...

Registration is idempotent: a table already registered at the same location is kept; one
registered at another location (the lake was moved) is dropped, which for an external table
removes the name only, and registered again at the new one. In local mode the metastore is an
embedded Derby database in <lake>/_catalog (`catalog_conf`); on a cluster it is whatever
catalog Spark is configured with (a Hive metastore through hive-site.xml, ...).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from pyspark.sql import SparkSession

from pipelines.core import files
from pipelines.core.errors import UsageError
from pipelines.core.lake import table_path
from pipelines.core.settings import Settings
from pipelines.lakeops.layout import data_tables

CATALOG_FOLDER = "_catalog"
DEFAULT_DATABASE = "a100m"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# The paper's duration buckets (docs/statistics.md): lower bound in, upper bound out.
_BUCKET = (
    "CASE WHEN n.duration < 3 THEN '0-3' WHEN n.duration < 10 THEN '3-10' "
    "WHEN n.duration < 60 THEN '10-60' ELSE '60+' END"
)
SEGMENTS_SQL = f"""
SELECT n.video_uid, n.node_id, n.parent_id, n.level, n.`start`, n.`end`, n.duration,
       {_BUCKET} AS duration_bucket,
       n.is_leaf, n.plm_caption, n.llama3_caption, n.summary_brief, n.action_brief,
       n.action_actor, p.action_brief AS parent_action_brief,
       v.title, v.duration AS video_duration, v.upload_date
FROM {{nodes}} n
LEFT JOIN {{videos}} v ON v.video_uid = n.video_uid
LEFT JOIN {{nodes}} p ON p.video_uid = n.video_uid AND p.node_id = n.parent_id
"""
SEGMENTS_COLUMNS = (
    "video_uid",
    "node_id",
    "parent_id",
    "level",
    "start",
    "end",
    "duration",
    "duration_bucket",
    "is_leaf",
    "plm_caption",
    "llama3_caption",
    "summary_brief",
    "action_brief",
    "action_actor",
    "parent_action_brief",
    "title",
    "video_duration",
    "upload_date",
)
# Siblings: the nodes with the same parent, in time order (the steps of the parent's action).
ACTIONS_WITH_STEPS_SQL = """
SELECT a.*, s.parent_id, s.prev_node_id, s.prev_action_brief, s.next_node_id,
       s.next_action_brief
FROM {actions} a
JOIN (SELECT video_uid, node_id, parent_id,
             lag(node_id) OVER w AS prev_node_id, lag(action_brief) OVER w AS prev_action_brief,
             lead(node_id) OVER w AS next_node_id, lead(action_brief) OVER w AS next_action_brief
      FROM {nodes}
      WINDOW w AS (PARTITION BY video_uid, parent_id ORDER BY `start`, seq)) s
  ON s.video_uid = a.video_uid AND s.node_id = a.node_id
"""
VIEWS = {
    "segments": (SEGMENTS_SQL, ("nodes", "videos")),
    "actions_with_steps": (ACTIONS_WITH_STEPS_SQL, ("actions", "nodes")),
}


def check_database_name(name: str) -> str:
    if not _IDENTIFIER.match(name or ""):
        raise UsageError(
            f"catalog database {name!r} is not a valid identifier: letters, digits and _, "
            "not starting with a digit"
        )
    return name


def is_local(settings: Settings) -> bool:
    return settings.master.startswith("local") and "://" not in settings.lake


def catalog_conf(settings: Settings) -> dict[str, str]:
    """The Spark properties of the catalog, set before the session starts. Local mode: an
    embedded Derby metastore and warehouse inside the lake's folder. Elsewhere: nothing, the
    catalog Spark is configured with is used."""
    check_database_name(settings.catalog_db or "")
    if not is_local(settings) or "spark.sql.catalogImplementation" in settings.spark_conf:
        return {}
    folder = os.path.join(os.path.abspath(settings.lake), CATALOG_FOLDER)
    conf = {
        "spark.sql.catalogImplementation": "hive",
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={folder}/metastore_db;create=true"
        ),
        "spark.sql.warehouse.dir": f"{folder}/warehouse",
    }
    if "spark.driver.extraJavaOptions" not in settings.spark_conf:
        conf["spark.driver.extraJavaOptions"] = f"-Dderby.system.home={folder}"
    return conf


@dataclass
class Registration:
    database: str
    registered: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    views: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [
            f"{label} {', '.join(names)}"
            for label, names in (
                ("registered", self.registered),
                ("re-pointed to the lake's new folder", self.moved),
                ("kept", self.kept),
                ("views", self.views),
            )
            if names
        ]
        return f"catalog database {self.database}: " + "; ".join(parts)


def _same_path(a: str | None, b: str) -> bool:
    def norm(p: str) -> str:
        return re.sub(r"^file:(//)?", "", p).rstrip("/")

    return a is not None and norm(a) == norm(b)


def register_catalog(spark: SparkSession, lake: str, database: str) -> Registration:
    """Register every table of the lake and the views, idempotently."""
    check_database_name(database)
    tables = data_tables(spark, lake)
    result = Registration(database)
    location = ""
    if "://" not in lake:
        location = f" LOCATION '{table_path(lake, CATALOG_FOLDER)}/{database}.db'"
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {database}{location}")
    for table in tables:
        name, path = f"{database}.{table}", table_path(lake, table)
        entry = files.catalog_entry(spark, database, table)
        if entry is not None:
            where, kind = entry
            if _same_path(where, path):
                result.kept.append(table)
                continue
            if kind.upper() != "EXTERNAL":
                raise UsageError.naming(
                    "{name} is a {kind} table at {where}, not this lake's table: drop it or "
                    "choose another {catalog_db}",
                    name=name,
                    kind=kind.lower(),
                    where=where or "?",
                )
            # external: only the name goes, the data stays where it is
            files.drop_catalog_entry(spark, database, table)
            result.moved.append(table)
        else:
            result.registered.append(table)
        spark.sql(f"CREATE TABLE IF NOT EXISTS {name} USING DELTA LOCATION '{path}'")
    for view, (sql, needs) in VIEWS.items():
        if all(t in tables for t in needs):
            names = {t: f"{database}.{t}" for t in needs}
            spark.sql(f"CREATE OR REPLACE VIEW {database}.{view} AS {sql.format(**names)}")
            result.views.append(view)
    return result


def register_snapshot_views(spark: SparkSession, lake: str, snapshot: dict[str, int | None]):
    """Temporary views over each table at its committed version, and the common views over
    those: what `a100m sql` reads when no catalog is set. Returns the view names."""
    names = []
    for table, version in sorted(snapshot.items()):
        if version is None:
            continue
        reader = spark.read.format("delta").option("versionAsOf", version)
        reader.load(table_path(lake, table)).createOrReplaceTempView(table)
        names.append(table)
    for view, (sql, needs) in VIEWS.items():
        if all(t in names for t in needs):
            spark.sql(
                f"CREATE OR REPLACE TEMP VIEW {view} AS {sql.format(**{t: t for t in needs})}"
            )
            names.append(view)
    return names
