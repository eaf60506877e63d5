"""One local SparkSession with Delta for the whole test run, and helpers to build raw inputs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

ROOT = Path(__file__).resolve().parents[1]
# The real 10-video sample (noncommercial licence: read in place, never copied into the repo).
REAL_SAMPLE_DIR = (ROOT / os.environ.get("A100M_SAMPLE", "../shared/data/action100m/")).resolve()
REAL_SAMPLE = REAL_SAMPLE_DIR / "examples.parquet"
REAL_SAMPLE_JSON = REAL_SAMPLE_DIR / "hySSAAw4t24.json"
# CI sets this so that a missing sample fails the run instead of skipping its tests.
SAMPLE_REQUIRED = os.environ.get("A100M_REQUIRE_SAMPLE") == "1"
MISSING_SAMPLE = (
    f"the real Action100M sample is not at {REAL_SAMPLE_DIR} (set A100M_SAMPLE to its folder; "
    "the dataset's official repository ships it as data/examples.parquet)"
)


def require_real_sample(*paths: Path) -> None:
    """Skip (or, under CI, fail) the calling test when the sample's files are not there."""
    if all(p.is_file() for p in paths or (REAL_SAMPLE,)):
        return
    if SAMPLE_REQUIRED:
        pytest.fail(MISSING_SAMPLE)
    pytest.skip(MISSING_SAMPLE)


# The fast loop, `pytest -m "not slow"`: the pure tests and the small in-memory Spark ones. These
# modules start processes (a100m children, spark-submit, a cluster, Airflow, Jupyter kernels,
# Chromium) or build and re-run whole lakes; `pytest` (what CI runs) runs them too.
SLOW_MODULES = {
    "test_airflow",
    "test_benchmarks",
    "test_cli",
    "test_cluster",
    "test_crash",
    "test_evaluate",
    "test_generate",
    "test_hub",
    "test_incremental",
    "test_incremental_stats",
    "test_lakeops",
    "test_notebooks",
    "test_readers",
    "test_real_sample",
    "test_report",
    "test_report_history",
    "test_report_upkeep",
    "test_s3",
    "test_show",
    "test_stats",
    "test_trainset",
    "test_validate",
}


# The longest modules first (CI's figures, two workers): each worker takes the next module when
# it is free (--dist loadfile --no-loadscope-reorder), so a long module started last would run
# alone at the end. The others follow in file order.
LONGEST_FIRST = (
    "test_crash",  # about 32 minutes of one worker
    "test_airflow",
    "test_report_history",
    "test_benchmarks",
    "test_incremental",
    "test_report_upkeep",
    "test_incremental_stats",
    "test_lakeops",
    "test_validate",
)


def _module(item: pytest.Item) -> str:
    return item.module.__name__.split(".")[-1] if item.module is not None else ""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _module(item) in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
    rank = {name: place for place, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(_module(item), len(rank)))  # stable: file order kept


@pytest.fixture(scope="session")
def spark():
    from pipelines.core.session import build_session
    from pipelines.core.settings import load_settings
    from tests.processes import TEST_SPARK_CONF

    settings = load_settings("local").with_overrides(
        master="local[2]",
        # the session serves the whole run (the children get 1g each)
        spark_conf={**TEST_SPARK_CONF, "spark.driver.memory": "3g"},
    )
    session = build_session(settings)
    yield session
    session.stop()


@pytest.fixture
def lake(tmp_path: Path) -> str:
    return str(tmp_path / "lake")


@pytest.fixture(scope="session")
def real_sample() -> Path:
    require_real_sample(REAL_SAMPLE)
    return REAL_SAMPLE
