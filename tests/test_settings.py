"""Settings: files, environment variables and flags, and what the session is given."""

from __future__ import annotations

import pytest

from pipelines.session import delta_coordinates, session_conf
from pipelines.settings import SettingsError, load_settings, parse_spark_conf


def test_local_settings_file_is_read():
    settings = load_settings("local")
    assert settings.master.startswith("local[")
    assert settings.spark_conf["spark.ui.enabled"] == "false"
    assert settings.source.endswith("conf/local.yaml")


def test_environment_variables_override_the_file(monkeypatch):
    monkeypatch.setenv("A100M_LAKE", "/data/lake")
    monkeypatch.setenv("A100M_SPARK_MASTER", "spark://host:7077")
    settings = load_settings("cluster")
    assert (settings.lake, settings.master) == ("/data/lake", "spark://host:7077")


def test_flags_override_environment(monkeypatch):
    monkeypatch.setenv("A100M_LAKE", "/data/lake")
    settings = load_settings("local").with_overrides(
        lake="/flag/lake", spark_conf=parse_spark_conf(["spark.sql.shuffle.partitions=7"])
    )
    assert settings.lake == "/flag/lake"
    assert settings.spark_conf["spark.sql.shuffle.partitions"] == "7"


def test_unknown_environment_and_bad_flags_are_refused():
    with pytest.raises(SettingsError, match="known environments"):
        load_settings("nowhere")
    with pytest.raises(SettingsError, match="KEY=VALUE"):
        parse_spark_conf(["no-equals-sign"])


def test_session_conf_enables_delta_from_maven_or_local_jars():
    from importlib.metadata import version

    import pyspark

    settings = load_settings("local")
    conf = session_conf(settings)
    assert conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    minor = ".".join(pyspark.__version__.split(".")[:2])
    assert (
        conf["spark.jars.packages"] == f"io.delta:delta-spark_{minor}_2.13:{version('delta-spark')}"
    )
    assert delta_coordinates() == conf["spark.jars.packages"]

    offline = load_settings("local").__class__(
        **{**settings.__dict__, "delta_jars": "/opt/jars/delta.jar"}
    )
    conf = session_conf(offline)
    assert conf["spark.jars"] == "/opt/jars/delta.jar" and "spark.jars.packages" not in conf


def test_the_session_has_delta(spark):
    assert spark.conf.get("spark.sql.extensions") == "io.delta.sql.DeltaSparkSessionExtension"
    assert spark.conf.get("spark.sql.catalog.spark_catalog").endswith("DeltaCatalog")
