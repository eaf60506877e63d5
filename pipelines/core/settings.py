"""Settings: conf/<env>.yaml, then environment variables, then command-line flags (last wins).

The file is checked against a strict schema: an unknown key (with the nearest known one named), a
value of the wrong type, or a Spark property whose value would make Spark fail or hang before the
session starts is refused with one line naming the file and the key. Environment variables:
`A100M_<KEY>` or `A100M_<SECTION>__<KEY>` for any setting (`A100M_LAKE=/data/lake`,
`A100M_SPARK__MASTER=local[4]`), plus the shortcuts in ENV_SHORTCUTS. Spark properties are set with
`--spark-conf KEY=VALUE`.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields, replace
from importlib.resources.abc import Traversable
from pathlib import Path
from types import UnionType
from typing import Any, get_args, get_origin, get_type_hints

import yaml

from pipelines.core.errors import SettingsError
from pipelines.core.resources import files_with_suffix, project_folder
from pipelines.core.severity import Severity

ENV_PREFIX = "A100M_"
# Runs the report page keeps: about a season of nightly reports.
REPORT_HISTORY_RUNS = 90

# The anomaly rules of the nightly report (pipelines/report/anomalies.py), Deequ-style: a metric
# name or glob (na_rate, bucket.*) -> strategies, each with its parameters and their types.
ANOMALY_STRATEGIES: dict[str, dict[str, tuple[type, ...]]] = {
    # absolute bounds on the value
    "bounds": {"min": (int, float, type(None)), "max": (int, float, type(None))},
    # relative change against the previous run: 0.5 = up or down by more than 50 %; a change
    # smaller than min_change (in the metric's own unit) is never an anomaly
    "rate_of_change": {
        "max_increase": (int, float, type(None)),
        "max_decrease": (int, float, type(None)),
        "min_change": (int, float),
    },
    # outside mean +- k standard deviations of the last `window` runs (at least min_runs of them)
    "stddev": {"k": (int, float), "window": (int,), "min_runs": (int,), "min_change": (int, float)},
}
ANOMALY_SEVERITIES = tuple(Severity)
LOG_LEVELS = ("ALL", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "OFF", "TRACE")
# object_store_commits: how an S3 lake's commits stay apart (core/objectstore.py)
OBJECT_STORE_COMMITS = ("conditional_put", "single_writer")

# Older names kept working: variable -> (section path, key).
ENV_SHORTCUTS: dict[str, tuple[str, ...]] = {
    "A100M_SPARK_MASTER": ("spark", "master"),
    "A100M_DELTA_PACKAGES": ("spark", "delta_packages"),
    "A100M_DELTA_JARS": ("spark", "delta_jars"),
}

_SIZE = re.compile(r"^\d+[kKmMgGtTpP]?[bB]?$")


def _positive_int(value: str) -> bool:
    return value.isdigit() and int(value) > 0


def _boolean(value: str) -> bool:
    return value.lower() in ("true", "false")


def _size(value: str) -> bool:
    return bool(_SIZE.match(value))


# Spark properties the project sets or documents, with the form their value must have. A value
# of the wrong form makes Spark fail late or, for some, hang before the session starts; and a key
# within a typo of one of these (spark.driver.memroy) is refused instead of silently ignored.
SPARK_PROPERTIES: dict[str, tuple[Callable[[str], bool], str]] = {
    "spark.driver.memory": (_size, "a size such as 4g"),
    "spark.executor.memory": (_size, "a size such as 4g"),
    "spark.driver.maxResultSize": (_size, "a size such as 1g"),
    "spark.executor.cores": (_positive_int, "a positive integer"),
    "spark.executor.instances": (_positive_int, "a positive integer"),
    "spark.cores.max": (_positive_int, "a positive integer"),
    "spark.sql.shuffle.partitions": (_positive_int, "a positive integer"),
    "spark.default.parallelism": (_positive_int, "a positive integer"),
    "spark.databricks.delta.snapshotPartitions": (_positive_int, "a positive integer"),
    "spark.sql.adaptive.enabled": (_boolean, "true or false"),
    "spark.ui.enabled": (_boolean, "true or false"),
    "spark.ui.showConsoleProgress": (_boolean, "true or false"),
    "spark.databricks.delta.optimizeWrite.enabled": (_boolean, "true or false"),
    "spark.sql.session.timeZone": (lambda v: bool(v.strip()), "a time zone such as UTC"),
    "spark.sql.parquet.compression.codec": (
        lambda v: v in ("none", "uncompressed", "snappy", "gzip", "lzo", "brotli", "lz4", "zstd"),
        "a Parquet codec such as zstd",
    ),
    "spark.hadoop.parquet.compression.codec.zstd.level": (
        lambda v: v.lstrip("-").isdigit(),
        "an integer",
    ),
    "spark.ui.port": (_positive_int, "a port number"),
    "spark.driver.host": (lambda v: bool(v.strip()), "a host name"),
    "spark.jars": (lambda v: True, "paths"),
    "spark.jars.packages": (lambda v: True, "Maven coordinates"),
    "spark.submit.pyFiles": (lambda v: True, "paths"),
    "spark.network.timeout": (lambda v: bool(re.match(r"^\d+(ms|s|m|min|h)?$", v)), "a duration"),
}


def _in_file(*path: str, null_is_default: bool = False) -> dict[str, Any]:
    """A field's metadata: where conf/<env>.yaml holds the setting; null_is_default: the file
    may say null for the default (an empty mapping)."""
    return {"file_key": path, "null_is_default": null_is_default}


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Every setting, declared once: its type and default here, and in its metadata where
    conf/<env>.yaml holds it. The file's schema (TOP_KEYS, SPARK_KEYS, REQUIRED) is derived
    from these fields; a field without a default is a setting the file must give."""

    env: str  # the environment, which names the file (not a key in it)
    lake: str = field(metadata=_in_file("lake"))
    report: str = field(default="reports", metadata=_in_file("report"))
    staging: str = field(default="staging", metadata=_in_file("staging"))
    log_level: str = field(default="WARN", metadata=_in_file("log_level"))
    master: str = field(metadata=_in_file("spark", "master"))
    app_name: str = field(default="a100m", metadata=_in_file("spark", "app_name"))
    # auto: the Maven coordinates delta-spark's version names (core/session.py); null: none
    delta_packages: str | None = field(default="auto", metadata=_in_file("spark", "delta_packages"))
    delta_jars: str | None = field(default=None, metadata=_in_file("spark", "delta_jars"))
    # map the driver JVM's classes from an archive made by an earlier start (core/classarchive.py)
    class_archive: bool = field(default=True, metadata=_in_file("spark", "class_archive"))
    spark_conf: dict[str, str] = field(
        default_factory=dict, metadata=_in_file("spark", "conf", null_is_default=True)
    )
    source: str = ""  # the file the settings were read from
    # the catalog database the lake's tables are registered in (a100m optimize/sql/serve, run)
    catalog_db: str | None = field(default=None, metadata=_in_file("catalog_db"))
    # the nightly report: GX Data Docs (their pages load Bootstrap, jQuery and Vega from public
    # CDNs, so they are off unless asked for), the alert webhook, the anomaly rules
    data_docs: bool = field(default=False, metadata=_in_file("data_docs"))
    alert_webhook: str | None = field(default=None, metadata=_in_file("alert_webhook"))
    anomalies: dict[str, dict[str, Any]] = field(
        default_factory=dict, metadata=_in_file("anomalies", null_is_default=True)
    )
    # how many runs the report page and report.json keep (detection always judges them all)
    report_history_runs: int = field(
        default=REPORT_HISTORY_RUNS, metadata=_in_file("report_history_runs")
    )
    # how an S3 lake's commits stay apart (core/objectstore.py, docs/storage.md): conditional_put
    # or single_writer; null: a writing command on an S3 lake refuses
    object_store_commits: str | None = field(
        default=None, metadata=_in_file("object_store_commits")
    )

    def with_overrides(
        self,
        lake: str | None = None,
        report: str | None = None,
        master: str | None = None,
        staging: str | None = None,
        spark_conf: dict[str, str] | None = None,
        catalog_db: str | None = None,
        alert_webhook: str | None = None,
    ) -> Settings:
        """Apply a caller's overrides (the CLI's flags); None leaves a setting as it is."""
        conf = {**self.spark_conf, **(spark_conf or {})}
        check_spark_conf(conf, "spark_conf")
        return replace(
            self,
            lake=lake if lake is not None else self.lake,
            report=report if report is not None else self.report,
            staging=staging if staging is not None else self.staging,
            master=master if master is not None else self.master,
            spark_conf=conf,
            catalog_db=catalog_db if catalog_db is not None else self.catalog_db,
            alert_webhook=alert_webhook if alert_webhook is not None else self.alert_webhook,
        )


def _file_types(name: str, hint: Any, null_is_default: bool) -> tuple[type, ...]:
    """The types the file may give a setting: its annotation's (dict for dict[str, str]),
    and null where null means the default."""
    options = get_args(hint) if isinstance(hint, UnionType) else (hint,)
    types = tuple(get_origin(t) or t for t in options)
    if not all(isinstance(t, type) for t in types):
        raise TypeError(f"Settings.{name}: {hint} is not a type the file can hold")
    return types + ((type(None),) if null_is_default else ())


# field name -> (its key path in the file, the types the file may give it)
FILE_FIELDS: dict[str, tuple[tuple[str, ...], tuple[type, ...]]] = {
    f.name: (
        f.metadata["file_key"],
        _file_types(f.name, get_type_hints(Settings)[f.name], f.metadata["null_is_default"]),
    )
    for f in fields(Settings)
    if "file_key" in f.metadata
}
# Top-level keys and the keys of the `spark` section, with their types; the settings a file
# must give (a field without a default).
TOP_KEYS: dict[str, tuple[type, ...]] = {
    **{path[0]: types for path, types in FILE_FIELDS.values() if len(path) == 1},
    "spark": (dict,),
}
SPARK_KEYS: dict[str, tuple[type, ...]] = {
    path[1]: types for path, types in FILE_FIELDS.values() if path[0] == "spark"
}
REQUIRED: tuple[tuple[str, ...], ...] = tuple(
    FILE_FIELDS[f.name][0]
    for f in fields(Settings)
    if f.name in FILE_FIELDS and f.default is MISSING and f.default_factory is MISSING
)


def conf_dir() -> Traversable:
    """conf/ of a source checkout, else the copy packaged into the wheel or zip."""
    return project_folder("conf")


def load_settings(env: str | None = None, path: str | Path | None = None) -> Settings:
    """Read conf/<env>.yaml (or the file at path), check it, and apply A100M_* variables."""
    env = env or os.environ.get(f"{ENV_PREFIX}ENV", "local")
    file: Traversable = Path(path) if path else conf_dir() / f"{env}.yaml"
    if not file.is_file():
        known = [f.name.removesuffix(".yaml") for f in files_with_suffix(conf_dir(), ".yaml")]
        raise SettingsError(f"settings file {file} not found (known environments: {known})")
    try:
        raw: Any = yaml.safe_load(file.read_text()) or {}
    except yaml.YAMLError as exc:
        raise SettingsError(f"{file}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise SettingsError(f"{file}: expected a mapping of settings, found {_type(raw)}")

    for variable, keys in _environment_overrides().items():
        section = raw
        for key in keys[:-1]:
            section = section.setdefault(key, {})
            if not isinstance(section, dict):
                raise SettingsError(f"{variable}: {key} is not a section")
        value: Any = os.environ[variable]
        if keys[-1] in TOP_KEYS and TOP_KEYS[keys[-1]] == (bool,) and _boolean(value):
            value = value.lower() == "true"
        if keys[-1] in TOP_KEYS and TOP_KEYS[keys[-1]] == (int,) and value.isdigit():
            value = int(value)
        section[keys[-1]] = value

    _check_schema(raw, str(file))
    spark = raw.get("spark") or {}
    conf = {
        str(k): _conf_value(v, f"{file}: spark.conf.{k}")
        for k, v in (spark.get("conf") or {}).items()
    }
    check_spark_conf(conf, f"{file}: spark.conf")
    given: dict[str, Any] = {}
    for name, (key_path, types) in FILE_FIELDS.items():
        section = raw if len(key_path) == 1 else spark
        if name == "spark_conf" or key_path[-1] not in section:
            continue  # spark.conf is read above; a key the file leaves out keeps its default
        value = section[key_path[-1]]
        if value is None and dict in types:
            continue  # a section written as null is an empty one: the default
        # "", "null" and "none" also mean no value for an optional text (an env variable
        # cannot be null)
        given[name] = _optional(value) if str in types and type(None) in types else value
    return Settings(env=env, source=str(file), spark_conf=conf, **given)


def _environment_overrides() -> dict[str, tuple[str, ...]]:
    """A100M_* variables that name a setting -> its key path. Others (A100M_ENV, the tests'
    A100M_SAMPLE) are not settings and are left alone."""
    found: dict[str, tuple[str, ...]] = {}
    for variable in sorted(os.environ):
        if variable in ENV_SHORTCUTS:
            found[variable] = ENV_SHORTCUTS[variable]
        elif variable.startswith(ENV_PREFIX):
            keys = tuple(k.lower() for k in variable[len(ENV_PREFIX) :].split("__"))
            top_level = len(keys) == 1 and keys[0] in TOP_KEYS and keys[0] != "spark"
            in_spark = len(keys) == 2 and keys[0] == "spark" and keys[1] in SPARK_KEYS
            if top_level or (in_spark and keys[1] != "conf"):
                found[variable] = keys
    return found


def _check_schema(raw: dict[str, Any], where: str) -> None:
    _check_keys(raw, TOP_KEYS, where, "")
    spark = raw.get("spark")
    if spark is not None:
        _check_keys(spark, SPARK_KEYS, where, "spark.")
    for path in REQUIRED:
        section: Any = raw
        for key in path:
            section = section.get(key) if isinstance(section, dict) else None
        if section is None:
            raise SettingsError(f"{where}: missing setting {'.'.join(path)!r}")
    _check_anomalies(raw.get("anomalies") or {}, where)
    runs = raw.get("report_history_runs")
    if runs is not None and runs < 1:
        raise SettingsError(f"{where}: report_history_runs must be at least 1, found {runs}")
    commits = raw.get("object_store_commits")
    if commits not in (None, "", "null", "none", *OBJECT_STORE_COMMITS):
        raise SettingsError(
            f"{where}: object_store_commits {commits!r} is not one of "
            f"{', '.join(OBJECT_STORE_COMMITS)} (or null)"
        )
    level = raw.get("log_level")
    if level is not None and level.upper() not in LOG_LEVELS:
        raise SettingsError(f"{where}: log_level {level!r} is not one of {', '.join(LOG_LEVELS)}")


def _check_keys(
    section: dict[str, Any], schema: dict[str, tuple[type, ...]], where: str, prefix: str
) -> None:
    for key, value in section.items():
        if key not in schema:
            near = difflib.get_close_matches(str(key), schema, n=1)
            hint = f"; did you mean {prefix}{near[0]}?" if near else ""
            known = ", ".join(prefix + k for k in schema)
            raise SettingsError(f"{where}: unknown setting {prefix}{key}{hint} (known: {known})")
        # YAML's true is a Python int too: only a key that takes a boolean accepts one.
        if not isinstance(value, schema[key]) or (
            isinstance(value, bool) and bool not in schema[key]
        ):
            wanted = " or ".join("null" if t is type(None) else _NAMES[t] for t in schema[key])
            raise SettingsError(
                f"{where}: {prefix}{key} must be {wanted}, found {_type(value)} {value!r}"
            )


def _check_anomalies(rules: dict[str, Any], where: str) -> None:
    """Each metric's rules: known strategies, known parameters of the right type, a severity."""
    for metric, strategies in rules.items():
        prefix = f"anomalies.{metric}."
        if not isinstance(strategies, dict):
            raise SettingsError(f"{where}: anomalies.{metric} must be a mapping of strategies")
        schema = {**ANOMALY_STRATEGIES, "severity": (str,)}
        _check_keys(
            strategies, {k: (dict,) if k != "severity" else (str,) for k in schema}, where, prefix
        )
        severity = strategies.get("severity", Severity.WARN)
        if severity not in ANOMALY_SEVERITIES:
            raise SettingsError(
                f"{where}: {prefix}severity {severity!r} is not one of "
                f"{', '.join(ANOMALY_SEVERITIES)}"
            )
        for name, params in strategies.items():
            if name != "severity":
                _check_keys(params, ANOMALY_STRATEGIES[name], where, f"{prefix}{name}.")


def check_spark_conf(conf: dict[str, str], where: str) -> None:
    """Refuse a known Spark property with a value of the wrong form, and a near-miss typo."""
    for key, value in conf.items():
        if not key.startswith("spark."):
            raise SettingsError(f"{where}: {key} is not a Spark property (they start with spark.)")
        if key in SPARK_PROPERTIES:
            valid, form = SPARK_PROPERTIES[key]
            if not valid(value):
                raise SettingsError(f"{where}: {key}={value!r} must be {form}")
            continue
        near = difflib.get_close_matches(key, SPARK_PROPERTIES, n=1, cutoff=0.9)
        if near:
            raise SettingsError(f"{where}: {key} is not a Spark property; did you mean {near[0]}?")


_NAMES = {
    str: "text",
    dict: "a mapping",
    type(None): "null",
    bool: "true or false",
    int: "an integer",
    float: "a number",
}


def _type(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _optional(value: Any) -> str | None:
    return None if value in (None, "", "null", "none") else str(value)


def _conf_value(value: Any, where: str) -> str:
    # YAML reads true/false as booleans; Spark wants the lowercase words.
    if isinstance(value, list | dict) or value is None:
        raise SettingsError(f"{where} must be a single value, found {_type(value)}")
    return str(value).lower() if isinstance(value, bool) else str(value)
