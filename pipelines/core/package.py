"""`a100m package`: the zip that spark-submit ships with --py-files (code, settings, suites), and
beside it the JAR of the project's JVM functions that it ships with --jars (core/native.py)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from pipelines.core import native
from pipelines.core.resources import files_with_suffix, project_folder

ZIP_NAME = "a100m-pipelines.zip"


def build_zip(out: str | Path) -> Path:
    """Write out/a100m-pipelines.zip: the pipelines package with conf/ and expectations/ inside
    it as _conf/ and _expectations/, where the loaders look when there is no checkout; and
    out/a100m-functions.jar for --jars, where this machine can build it (build_files)."""
    package = Path(__file__).resolve().parents[1]
    target = Path(out) / ZIP_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for source in sorted(package.rglob("*.py")):
            if "__pycache__" not in source.parts:
                archive.write(source, Path("pipelines") / source.relative_to(package))
        for folder, suffix in (("conf", ".yaml"), ("expectations", ".json")):
            for item in files_with_suffix(project_folder(folder), suffix):
                archive.writestr(f"pipelines/_{folder}/{item.name}", item.read_bytes())
    native.build_jar(target.parent)
    return target


def build_files(out: str | Path) -> tuple[Path, Path | None]:
    """The zip for --py-files and the JAR for --jars (None without a Java compiler: the
    cluster then uses the built-in forms and says so once)."""
    zip_path = build_zip(out)
    jar = zip_path.with_name(native.JAR_NAME)
    return zip_path, jar if jar.is_file() else None
