"""`a100m package`: the zip that spark-submit ships with --py-files (code, settings, suites)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from pipelines.core.resources import files_with_suffix, project_folder

ZIP_NAME = "a100m-pipelines.zip"


def build_zip(out: str | Path) -> Path:
    """Write out/a100m-pipelines.zip: the pipelines package with conf/ and expectations/ inside
    it as _conf/ and _expectations/, where the loaders look when there is no checkout."""
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
    return target
