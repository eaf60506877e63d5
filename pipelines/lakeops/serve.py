"""`a100m serve`: a Spark Connect endpoint on 127.0.0.1 over the lake's catalog.

The server runs inside this process's Spark driver (the Spark Connect service ships in the
pyspark wheel), so it has Delta and the catalog exactly as the other commands configure them.
Clients get sessions of their own that share the catalog: the lake's tables and the views are
registered in the catalog database first, and a client reads them as `a100m.segments` (or after
`USE a100m`). It stops on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Callable

from pyspark.sql import SparkSession

from pipelines.core import files
from pipelines.core.errors import A100mError, UsageError
from pipelines.lakeops.catalog import Registration, register_catalog

HOST = "127.0.0.1"


class PortInUseError(A100mError):
    """The port asked for is taken (exit 1)."""


def check_port(port: int, host: str = HOST) -> None:
    if not 0 < port < 65536:
        raise UsageError.about("port", "not a port number (1-65535)", port)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise PortInUseError.naming(
                "port {number} on {host} is in use ({why}): choose another {port}",
                number=port,
                host=host,
                why=exc.strerror or exc,
            ) from exc


def start_connect_server(spark: SparkSession, port: int, host: str = HOST) -> str:
    """Start the Spark Connect service in this driver; return the URL clients use."""
    files.start_connect_service(spark, host, port)
    return f"sc://{host}:{port}"


def stop_connect_server(spark: SparkSession) -> None:
    files.stop_connect_service(spark)


def serve(
    spark: SparkSession,
    lake: str,
    port: int,
    database: str,
    ready: Callable[[str, Registration], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Register the catalog, serve until stop is set (SIGINT / SIGTERM set it), then stop."""
    check_port(port)
    registration = register_catalog(spark, lake, database)
    spark.catalog.setCurrentDatabase(database)
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    url = start_connect_server(spark, port)
    try:
        if ready is not None:
            ready(url, registration)
        while not stop.wait(0.5):
            pass
    finally:
        stop_connect_server(spark)
