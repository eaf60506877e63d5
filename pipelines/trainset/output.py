"""Output folders of `select` and `export`: checked before any work, filled in a hidden sibling
folder, and swapped into place whole at the end, so nothing half-written is ever seen.

An output is a local (or mounted) folder outside the lake; it needs no lease or journal. The
manifest (`manifest.json`) is written last inside the staged folder, so a folder with a manifest
is always complete.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.core.lake import table_path, write_text_atomic
from pipelines.trainset.options import SelectionError

MANIFEST = "manifest.json"


def _local(folder: str, what: str) -> Path:
    if "://" in folder and not folder.startswith("file:"):
        raise SelectionError(
            f"{what} {folder}: write to a local or mounted folder (object stores are not "
            "supported for outputs yet)"
        )
    return Path(folder.removeprefix("file://").removeprefix("file:")).resolve()


def check_output(out: str, lake: str, overwrite: bool) -> Path:
    """The output folder, refused in one line when it is inside the lake (or holds it), or is
    not empty and --overwrite was not given."""
    target = _local(out, "output")
    lake_path = table_path(lake, "").rstrip("/")
    if "://" not in lake_path or lake_path.startswith("file:"):
        root = Path(lake_path.removeprefix("file://").removeprefix("file:")).resolve()
        if target == root or target.is_relative_to(root):
            raise SelectionError(f"output {out} is inside the lake {lake}: write it elsewhere")
        if root.is_relative_to(target):
            raise SelectionError(f"output {out} holds the lake {lake}: write it elsewhere")
    if target.exists() and not target.is_dir():
        raise SelectionError(f"output {out} is a file, not a folder")
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        raise SelectionError.naming(
            "output {out} exists and is not empty: pass {overwrite} to replace it", out=out
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SelectionError(f"output {out} cannot be created: {exc.strerror or exc}") from exc
    if not os.access(target.parent, os.W_OK):
        raise SelectionError(f"output {out} cannot be written: {target.parent} is read-only")
    return target


@contextmanager
def staged_output(target: Path) -> Iterator[Path]:
    """A hidden sibling folder to fill; on success it replaces target, on failure it goes."""
    stage = target.with_name(f".{target.name}.staging-{uuid.uuid4().hex[:8]}")
    stage.mkdir(parents=True)
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    remove_side_files(stage)
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(target, old)
    os.replace(stage, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def remove_side_files(folder: Path) -> list[Path]:
    """Delete what Hadoop's local file system leaves beside the data (`.name.crc` checksums,
    `_SUCCESS` markers): readers of a folder of part files (HF `datasets`, DuckDB globs) would
    take them for data. A Delta table's own `_delta_log/NNN.crc` files are kept."""
    removed = [
        path
        for path in folder.rglob("*")
        if path.is_file()
        and (path.name == "_SUCCESS" or (path.name.startswith(".") and path.name.endswith(".crc")))
    ]
    for path in removed:
        path.unlink()
    return removed


def write_manifest(folder: Path, manifest: dict) -> Path:
    return write_text_atomic(
        folder / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    )


def read_manifest(folder: str) -> dict:
    path = _local(folder, "selection") / MANIFEST
    if not path.is_file():
        raise SelectionError(f"selection {folder} has no {MANIFEST}: give an `a100m select` output")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SelectionError(f"selection {folder}: {MANIFEST} cannot be read ({exc})") from exc
    if manifest.get("command") != "select":
        raise SelectionError(f"selection {folder}: {MANIFEST} is not from `a100m select`")
    return manifest


def stream_lines(parts: list[Path], out: Path, head: str, sep: str, tail: str) -> int:
    """Write head, the lines of the part files in order joined by sep, then tail; one line in
    memory at a time. Returns the number of lines."""
    count = 0
    with out.open("w", encoding="utf-8") as sink:
        sink.write(head)
        for part in parts:
            with part.open(encoding="utf-8") as source:
                for line in source:
                    line = line.rstrip("\n")
                    if not line:
                        continue
                    if count:
                        sink.write(sep)
                    sink.write(line)
                    count += 1
        if count or head:  # an empty text file stays empty
            sink.write(tail)
    return count


def part_files(folder: Path) -> list[Path]:
    """Spark's part files of a folder, in task order (the order Spark wrote the rows in)."""
    return sorted(p for p in folder.glob("part-*") if not p.name.endswith(".crc"))
