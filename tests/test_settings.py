"""Settings: files, environment variables and flags, and what the session is given."""

from __future__ import annotations

import pytest

from pipelines.cli import parse_spark_conf
from pipelines.core.errors import SettingsError
from pipelines.core.session import delta_coordinates, session_conf
from pipelines.core.settings import load_settings


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


def test_the_delta_jars_resolved_once_are_listed_and_reused(spark, tmp_path, monkeypatch):
    from pipelines.core.session import cached_jars, jar_cache_file, remember_jars

    # the session of this test run resolved the coordinates (or loaded an earlier list): the
    # list names existing JAR files, Delta's among them, and the next start uses it
    jars = cached_jars(delta_coordinates())
    assert jars is not None and "delta-spark" in jars
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cached_jars(delta_coordinates()) is None  # nothing cached here yet
    remember_jars(delta_coordinates(), spark)
    assert cached_jars(delta_coordinates()) == spark.sparkContext.getConf().get("spark.jars")
    # a list naming a file that is gone is not used: Ivy resolves again
    listing = jar_cache_file(delta_coordinates())
    listing.write_text(listing.read_text() + "file:///nonexistent/gone.jar\n")
    assert cached_jars(delta_coordinates()) is None
    assert cached_jars("io.delta:other:1.0") is None  # another coordinate's list: none


def test_the_session_has_delta(spark):
    assert spark.conf.get("spark.sql.extensions") == "io.delta.sql.DeltaSparkSessionExtension"
    assert spark.conf.get("spark.sql.catalog.spark_catalog").endswith("DeltaCatalog")


def _file(tmp_path, text: str):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return path


BASE = "lake: lake\nspark:\n  master: local[1]\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lake: [a, b]\nspark:\n  master: local[1]\n", "lake must be text, found a list"),
        (BASE + "  conf: [a, b]\n", "spark.conf must be a mapping or null, found a list"),
        (BASE + "lakes: x\n", "unknown setting lakes; did you mean lake?"),
        (BASE + "  mastr: x\n", "unknown setting spark.mastr; did you mean spark.master?"),
        (
            BASE + "  conf:\n    spark.driver.memroy: 4g\n",
            "spark.driver.memroy is not a Spark property; did you mean spark.driver.memory?",
        ),
        (
            BASE + "  conf:\n    spark.sql.shuffle.partitions: abc\n",
            "spark.sql.shuffle.partitions='abc' must be a positive integer",
        ),
        (
            BASE + "  conf:\n    spark.driver.memory: [1]\n",
            "spark.conf.spark.driver.memory must be",
        ),
        ("spark:\n  master: local[1]\n", "missing setting 'lake'"),
        (BASE + "log_level: LOUD\n", "log_level 'LOUD' is not one of"),
        (BASE + "report_history_runs: 0\n", "report_history_runs must be at least 1, found 0"),
        (BASE + "report_history_runs: ten\n", "report_history_runs must be an integer, found"),
        (BASE + "report_history_runs: true\n", "report_history_runs must be an integer, found"),
        ("- a\n- b\n", "expected a mapping of settings, found a list"),
    ],
)
def test_bad_settings_files_are_refused_with_the_key_named(tmp_path, text, message):
    path = _file(tmp_path, text)
    with pytest.raises(SettingsError) as refused:
        load_settings(path=path)
    assert message in str(refused.value) and str(path) in str(refused.value)


def test_bad_spark_flags_are_refused_before_spark_starts():
    settings = load_settings("local")
    with pytest.raises(SettingsError, match="must be a positive integer"):
        settings.with_overrides(spark_conf={"spark.sql.shuffle.partitions": "-5"})


def test_section_variables_override_nested_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("A100M_SPARK__MASTER", "local[3]")
    monkeypatch.setenv("A100M_SAMPLE", "/not/a/setting")  # not a setting: left alone
    assert load_settings(path=_file(tmp_path, BASE)).master == "local[3]"


def test_the_report_history_cap_is_a_setting_with_a_default_and_an_integer_variable(
    monkeypatch, tmp_path
):
    path = _file(tmp_path, BASE)
    assert load_settings(path=path).report_history_runs == 90
    monkeypatch.setenv("A100M_REPORT_HISTORY_RUNS", "7")
    assert load_settings(path=path).report_history_runs == 7


def test_two_first_starts_resolve_the_jars_one_after_the_other(tmp_path, monkeypatch):
    """On a fresh machine two processes at once (two test workers, two cron jobs) would write
    Ivy's cache together, and one would read the other's half-written POM: the second waits."""
    import subprocess
    import sys
    import time

    from pipelines.core.session import resolving_alone

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    waiter = (
        "import time; from pipelines.core.session import resolving_alone\n"
        "with resolving_alone('io.delta:x:1'): print(time.time())"
    )
    with resolving_alone("io.delta:x:1"):
        other = subprocess.Popen([sys.executable, "-c", waiter], stdout=subprocess.PIPE, text=True)
        time.sleep(2)
        assert other.poll() is None  # still waiting for the first start's resolution
        released = time.time()
    out, _ = other.communicate(timeout=60)
    assert other.returncode == 0 and float(out) >= released
    # another coordinate's resolution does not wait for this one
    with resolving_alone("io.delta:x:1"):
        done = subprocess.run(
            [sys.executable, "-c", waiter.replace("io.delta:x:1", "io.delta:y:2")], timeout=60
        )
        assert done.returncode == 0
