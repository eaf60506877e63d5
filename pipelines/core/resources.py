"""Where the project's data folders (conf/, expectations/) are, however the package was shipped.

A source checkout has them beside pipelines/; a wheel or the --py-files zip built by
`a100m package` carries them inside the package as _conf/ and _expectations/.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path


def project_folder(name: str) -> Traversable:
    checkout = Path(__file__).resolve().parents[2] / name
    if checkout.is_dir():
        return checkout
    return resources.files("pipelines") / f"_{name}"


def files_with_suffix(folder: Traversable, suffix: str) -> list[Traversable]:
    """The folder's files ending in suffix, by name (Traversable has no glob)."""
    if not folder.is_dir():
        return []
    return sorted(
        (f for f in folder.iterdir() if f.name.endswith(suffix) and f.is_file()),
        key=lambda f: f.name,
    )
