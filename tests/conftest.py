"""One local SparkSession with Delta for the whole test run, and helpers to build raw inputs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

REAL_SAMPLE_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "action100m"
REAL_SAMPLE = REAL_SAMPLE_DIR / "examples.parquet"
REAL_SAMPLE_JSON = REAL_SAMPLE_DIR / "hySSAAw4t24.json"


@pytest.fixture(scope="session")
def spark():
    from pipelines.session import build_session
    from pipelines.settings import load_settings

    settings = load_settings("local").with_overrides(
        master="local[2]",
        spark_conf={
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.driver.memory": "3g",
        },
    )
    session = build_session(settings)
    yield session
    session.stop()


@pytest.fixture
def lake(tmp_path: Path) -> str:
    return str(tmp_path / "lake")


@pytest.fixture(scope="session")
def real_sample() -> Path:
    if not REAL_SAMPLE.is_file():
        pytest.fail(f"the real sample is expected at {REAL_SAMPLE} (../shared/data/action100m/)")
    return REAL_SAMPLE
