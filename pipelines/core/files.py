"""The lake's file system, and the few engine calls only a classic Spark driver can make: the one
module of pipelines/ that speaks py4j (tests/test_house.py checks it; session.py also does, to
start the JVM itself).

Paths go through Hadoop's FileSystem of the session, so that local paths, s3a://, abfss:// and
hdfs:// behave alike and take the credentials Spark was configured with. Every path given and
returned is a string: a URI as Hadoop prints it (`Path.toString()`: `file:/tmp/lake/nodes`,
`s3a://bucket/lake/nodes`, unescaped), which is also what a file's key in the ingest log is.

A Spark Connect session (`pyspark.sql.connect.session.SparkSession`) has no JVM in this process:
each function here refuses it with one line (`ClassicSessionRequiredError`) instead of the
AttributeError pyspark raises several calls deep. The local-only paths that need no JVM (delta-rs
reading a table's log, core/deltars.py) do not come through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from pyspark.sql import SparkSession

from pipelines.core.errors import ClassicSessionRequiredError, NoFileSystemError

# What the Hadoop file system is to the refusal of a Spark Connect session.
_HADOOP_FS = "Hadoop file system"


@dataclass(frozen=True)
class FileStatus:
    """One file or folder as the file system lists it."""

    uri: str  # Hadoop's Path.toString(): qualified, unescaped
    is_dir: bool
    size_bytes: int  # 0 for a folder
    modified_at: datetime  # UTC, to the millisecond

    @property
    def name(self) -> str:
        """The last component of the path (Hadoop's Path.getName())."""
        return self.uri.rstrip("/").rsplit("/", 1)[-1]


# ---------------------------------------------------------------------------------------------
# The session: classic or Spark Connect
# ---------------------------------------------------------------------------------------------


def is_classic_session(spark: object) -> bool:
    """Whether the session runs its JVM in this process (a classic SparkSession), rather than
    being a Spark Connect client of a server elsewhere."""
    return isinstance(spark, SparkSession)


def require_classic_session(spark: object, action: str, facility: str = _HADOOP_FS) -> None:
    """Refuse a Spark Connect session in one line naming what could not be done."""
    if not is_classic_session(spark):
        raise ClassicSessionRequiredError(
            f"cannot {action} through a Spark Connect session: it needs the classic Spark "
            f"session's {facility}; run it where the Spark driver runs (a classic SparkSession, "
            "as a100m builds), not over sc://"
        )


def _jvm(spark: SparkSession) -> Any:
    # pyspark types it Optional: None only before a SparkContext starts, and a session has one
    return cast(Any, spark.sparkContext._jvm)


def _file_system(spark: SparkSession, path: str, action: str) -> tuple[Any, Any]:
    """(Hadoop Path, its FileSystem) for path, or a one-line refusal: a Spark Connect session,
    or a scheme no file system on the class path serves."""
    require_classic_session(spark, action)
    hadoop_path = _jvm(spark).org.apache.hadoop.fs.Path(path)
    configuration = cast(Any, spark.sparkContext._jsc).hadoopConfiguration()
    try:
        return hadoop_path, hadoop_path.getFileSystem(configuration)
    except Exception as exc:
        # No mapping for the scheme (gs://), or a mapping to a class not on the class path
        # (s3a://, abfss:// are mapped by Hadoop's defaults).
        text = str(exc)
        if "UnsupportedFileSystemException" not in text and not (
            "ClassNotFoundException" in text and "FileSystem" in text
        ):
            raise
        scheme = path.split("://", 1)[0]
        raise NoFileSystemError(
            f"{path}: Spark has no file system for {scheme}://: add its connector JAR and "
            "credentials (conf/cluster.yaml lists them per scheme)"
        ) from exc


def _status(java_status: Any) -> FileStatus:
    return FileStatus(
        uri=str(java_status.getPath().toString()),
        is_dir=bool(java_status.isDirectory()),
        size_bytes=int(java_status.getLen()),
        modified_at=datetime.fromtimestamp(java_status.getModificationTime() / 1000, tz=UTC),
    )


# ---------------------------------------------------------------------------------------------
# Files and folders
# ---------------------------------------------------------------------------------------------


def qualify(spark: SparkSession, path: str) -> str:
    """The path as the file system names it: with its scheme and authority, made absolute
    (`/tmp/lake` -> `file:/tmp/lake`)."""
    hadoop_path, fs = _file_system(spark, path, f"qualify {path}")
    return str(fs.makeQualified(hadoop_path).toString())


def scheme(spark: SparkSession, path: str) -> str:
    """The scheme of the file system that serves path (file, s3a, hdfs, ...)."""
    _, fs = _file_system(spark, path, f"find the file system of {path}")
    return str(fs.getScheme())


def exists(spark: SparkSession, path: str) -> bool:
    hadoop_path, fs = _file_system(spark, path, f"look for {path}")
    return bool(fs.exists(hadoop_path))


def status(spark: SparkSession, path: str) -> FileStatus | None:
    """The file or folder at path, or None when there is none."""
    hadoop_path, fs = _file_system(spark, path, f"look for {path}")
    if not fs.exists(hadoop_path):
        return None
    return _status(fs.getFileStatus(hadoop_path))


def list_folder(spark: SparkSession, path: str) -> list[FileStatus]:
    """The files and folders directly in the folder, in the file system's order."""
    hadoop_path, fs = _file_system(spark, path, f"list the folder {path}")
    return [_status(s) for s in fs.listStatus(hadoop_path)]


def list_files(spark: SparkSession, path: str) -> list[FileStatus]:
    """Every file under path, at any depth (no folders), with its size and modification time;
    path itself when it is a file."""
    hadoop_path, fs = _file_system(spark, path, f"list the files under {path}")
    listing = fs.listFiles(hadoop_path, True)
    found = []
    while listing.hasNext():
        found.append(_status(listing.next()))
    return found


def glob(spark: SparkSession, pattern: str) -> list[FileStatus]:
    """What a path or a glob (`*`, `?`, `[ab]`, `{a,b}`) names; empty when nothing matches.
    Raises NoFileSystemError for a scheme Spark has no file system for."""
    hadoop_path, fs = _file_system(spark, pattern, f"list {pattern}")
    statuses = fs.globStatus(hadoop_path)  # null for a plain path that does not exist
    return [] if statuses is None else [_status(s) for s in statuses]


def sizes(spark: SparkSession, uris: list[str]) -> list[int]:
    """The size in bytes of each file, in order (the files of one table: one file system)."""
    if not uris:
        return []
    _, fs = _file_system(spark, uris[0], f"size the files of {uris[0]}")
    new_path = _jvm(spark).org.apache.hadoop.fs.Path
    return [int(fs.getFileStatus(new_path(uri)).getLen()) for uri in uris]


def delete(spark: SparkSession, path: str) -> bool:
    """Remove the file or the folder with everything in it; False when there was nothing."""
    hadoop_path, fs = _file_system(spark, path, f"delete {path}")
    if not fs.exists(hadoop_path):
        return False
    return bool(fs.delete(hadoop_path, True))


def make_folders(spark: SparkSession, path: str) -> None:
    """Create the folder and its missing parents (nothing when it exists)."""
    hadoop_path, fs = _file_system(spark, path, f"create the folder {path}")
    if not fs.mkdirs(hadoop_path):
        raise OSError(f"cannot create the folder {path}")


def rename(spark: SparkSession, source: str, target: str) -> None:
    """Move source to target (atomic on HDFS and local disks, a copy on object stores)."""
    source_path, fs = _file_system(spark, source, f"rename {source}")
    target_path = _jvm(spark).org.apache.hadoop.fs.Path(target)
    if not fs.rename(source_path, target_path):  # Hadoop says False, not why
        raise OSError(f"cannot rename {source} to {target}")


def read_text(spark: SparkSession, path: str) -> str:
    """A small file's whole text (UTF-8)."""
    hadoop_path, fs = _file_system(spark, path, f"read {path}")
    stream = fs.open(hadoop_path)
    try:
        data = _jvm(spark).org.apache.commons.io.IOUtils.toByteArray(stream)
    finally:
        stream.close()
    return bytes(data).decode("utf-8")


def write_text(spark: SparkSession, path: str, text: str) -> None:
    """Write a small file whole, replacing one that is there (its parents are created)."""
    hadoop_path, fs = _file_system(spark, path, f"write {path}")
    stream = fs.create(hadoop_path, True)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()


# ---------------------------------------------------------------------------------------------
# Beyond files: the catalog's entries and the Spark Connect service, also only in the driver
# ---------------------------------------------------------------------------------------------

_SESSION_CATALOG = "session catalog"
_CONNECT_SERVICE = "Spark Connect service (it runs inside the driver)"


def _catalog_and_identifier(spark: SparkSession, database: str, table: str) -> tuple[Any, Any]:
    # Spark's own session catalog reads a table's entry without opening the table (a moved
    # lake's old location no longer exists, and Delta refuses to resolve it).
    jvm = _jvm(spark)
    catalog = cast(Any, spark)._jsparkSession.sessionState().catalog()
    identifier = jvm.org.apache.spark.sql.catalyst.TableIdentifier(table, jvm.scala.Some(database))
    return catalog, identifier


def catalog_entry(spark: SparkSession, database: str, table: str) -> tuple[str, str] | None:
    """(location, EXTERNAL / MANAGED / VIEW) of a registered table, or None."""
    require_classic_session(spark, f"read the catalog entry {database}.{table}", _SESSION_CATALOG)
    catalog, identifier = _catalog_and_identifier(spark, database, table)
    if not catalog.tableExists(identifier):
        return None
    meta = catalog.getTableMetadata(identifier)
    location = meta.storage().locationUri()
    where = str(location.get().toString()) if location.isDefined() else ""
    return where, str(meta.tableType().name())


def drop_catalog_entry(spark: SparkSession, database: str, table: str) -> None:
    """Forget a table's entry without touching its files (nothing when there is none)."""
    require_classic_session(spark, f"drop the catalog entry {database}.{table}", _SESSION_CATALOG)
    catalog, identifier = _catalog_and_identifier(spark, database, table)
    catalog.dropTable(identifier, True, False)  # ignore if missing, not purge


def start_connect_service(spark: SparkSession, host: str, port: int) -> None:
    """Start the Spark Connect service inside this driver, on host:port only (no retry on
    another port: a client must find it where it was told)."""
    require_classic_session(spark, "start a Spark Connect server", _CONNECT_SERVICE)
    jvm = _jvm(spark)
    conf = jvm.org.apache.spark.SparkEnv.get().conf()
    conf.set("spark.connect.grpc.binding.address", host)
    conf.set("spark.connect.grpc.binding.port", str(port))
    conf.set("spark.connect.grpc.port.maxRetries", "0")
    service = jvm.org.apache.spark.sql.connect.service.SparkConnectService
    service.start(cast(Any, spark.sparkContext._jsc).sc())


def stop_connect_service(spark: SparkSession) -> None:
    require_classic_session(spark, "stop a Spark Connect server", _CONNECT_SERVICE)
    jvm = _jvm(spark)
    none = jvm.scala.Option.apply(None)
    jvm.org.apache.spark.sql.connect.service.SparkConnectService.stop(none, none)
