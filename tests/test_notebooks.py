"""Every notebook under notebooks/ runs end to end, in a Jupyter kernel, against a lake built here.

The lake is generated (20 synthetic videos), exploded and summarised by the stats stage once per
module; the notebooks read it without Spark, through A100M_LAKE, which the kernel inherits.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import nbclient
import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
KERNEL = "python3"


@pytest.fixture(scope="module")
def kernel() -> str:
    from jupyter_client.kernelspec import find_kernel_specs

    if KERNEL not in find_kernel_specs():
        pytest.fail(
            f"no Jupyter kernel named {KERNEL!r} (found: {sorted(find_kernel_specs())}); "
            "install the dev extras, which bring ipykernel (pip install -e '.[dev]'), or run "
            "python -m ipykernel install --sys-prefix --name python3"
        )
    return KERNEL


@pytest.fixture(scope="module")
def built_lake(spark, tmp_path_factory) -> SimpleNamespace:
    """A small lake with every table the notebooks read: videos, nodes and the stats tables."""
    from pipelines.core.lake import table_path
    from pipelines.ingest.stage import explode
    from pipelines.stats.stage import compute_stats
    from pipelines.synth import generate

    tmp = tmp_path_factory.mktemp("notebook-lake")
    lake = str(tmp / "lake")
    generate(tmp / "raw", videos=20, seed=5)
    explode(spark, [str(tmp / "raw")], lake)
    compute_stats(spark, lake, str(tmp / "stats"))
    nodes = spark.read.format("delta").load(table_path(lake, "nodes")).count()
    assert nodes > 0
    return SimpleNamespace(path=lake, nodes=nodes)


def execute(path: Path, kernel: str, cwd: Path):
    """Run every cell of the notebook at path in a fresh kernel; CellExecutionError on a failure."""
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name=kernel, resources={"metadata": {"path": str(cwd)}}
    )
    client.execute()
    return nb


def outputs(nb) -> list:
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]


def printed(nb) -> str:
    return "".join(out.get("text", "") for out in outputs(nb) if out.output_type == "stream")


def images(nb) -> list:
    return [out for out in outputs(nb) if "image/png" in out.get("data", {})]


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no .ipynb file"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_saved_clean(path: Path):
    """Saved without outputs (the repository stays small) and for the python3 kernel."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == KERNEL
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: clear the outputs of cells {dirty} before saving"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path: Path, kernel, built_lake, tmp_path, monkeypatch):
    monkeypatch.setenv("A100M_LAKE", built_lake.path)  # before the kernel starts: it inherits it
    nb = execute(path, kernel, tmp_path)

    assert images(nb), f"{path.name} drew no chart"
    if path.name == "explore_lake.ipynb":
        counts = re.findall(r"^nodes:\s+(\d+) rows", printed(nb), flags=re.MULTILINE)
        assert counts == [str(built_lake.nodes)], printed(nb)
        assert len(images(nb)) >= 3  # top verbs, levels and durations, the timeline


def test_explore_lake_fails_loudly_without_nodes(kernel, tmp_path, monkeypatch):
    """A lake without a nodes table stops the notebook at an assertion, not at an empty chart."""
    empty = tmp_path / "empty-lake"
    empty.mkdir()
    monkeypatch.setenv("A100M_LAKE", str(empty))
    with pytest.raises(CellExecutionError, match="no nodes table"):
        execute(ROOT / "notebooks" / "explore_lake.ipynb", kernel, tmp_path)
