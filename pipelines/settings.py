"""Settings: conf/<env>.yaml, then environment variables, then command-line flags (last wins)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

from pipelines.resources import files_with_suffix, project_folder

ENV_PREFIX = "A100M_"

# Variable -> (section path, key). Spark properties are overridden with --spark-conf KEY=VALUE.
ENV_OVERRIDES: dict[str, tuple[str, ...]] = {
    "A100M_LAKE": ("lake",),
    "A100M_REPORT": ("report",),
    "A100M_STAGING": ("staging",),
    "A100M_LOG_LEVEL": ("log_level",),
    "A100M_SPARK_MASTER": ("spark", "master"),
    "A100M_DELTA_PACKAGES": ("spark", "delta_packages"),
    "A100M_DELTA_JARS": ("spark", "delta_jars"),
}


class SettingsError(ValueError):
    """A settings file or override that cannot be used."""


@dataclass(frozen=True)
class Settings:
    env: str
    lake: str
    report: str
    staging: str
    log_level: str
    master: str
    app_name: str
    delta_packages: str | None
    delta_jars: str | None
    spark_conf: dict[str, str] = field(default_factory=dict)
    source: str = ""

    def with_overrides(
        self,
        lake: str | None = None,
        report: str | None = None,
        master: str | None = None,
        staging: str | None = None,
        spark_conf: dict[str, str] | None = None,
    ) -> Settings:
        """Apply command-line flags; None leaves a setting as it is."""
        return replace(
            self,
            lake=lake if lake is not None else self.lake,
            report=report if report is not None else self.report,
            staging=staging if staging is not None else self.staging,
            master=master if master is not None else self.master,
            spark_conf={**self.spark_conf, **(spark_conf or {})},
        )


def conf_dir() -> Traversable:
    """conf/ of a source checkout, else the copy packaged into the wheel or zip."""
    return project_folder("conf")


def load_settings(env: str | None = None, path: str | Path | None = None) -> Settings:
    """Read conf/<env>.yaml (or the file at path) and apply A100M_* environment variables."""
    env = env or os.environ.get(f"{ENV_PREFIX}ENV", "local")
    file: Traversable = Path(path) if path else conf_dir() / f"{env}.yaml"
    if not file.is_file():
        known = [f.name.removesuffix(".yaml") for f in files_with_suffix(conf_dir(), ".yaml")]
        raise SettingsError(f"settings file {file} not found (known environments: {known})")
    try:
        raw: dict[str, Any] = yaml.safe_load(file.read_text()) or {}
    except yaml.YAMLError as exc:
        raise SettingsError(f"{file}: not valid YAML: {exc}") from exc

    for variable, keys in ENV_OVERRIDES.items():
        if variable in os.environ:
            section = raw
            for key in keys[:-1]:
                section = section.setdefault(key, {})
            section[keys[-1]] = os.environ[variable]

    spark = raw.get("spark") or {}
    try:
        return Settings(
            env=env,
            lake=str(raw["lake"]),
            report=str(raw.get("report", "reports")),
            staging=str(raw.get("staging", "staging")),
            log_level=str(raw.get("log_level", "WARN")),
            master=str(spark["master"]),
            app_name=str(spark.get("app_name", "a100m")),
            delta_packages=_optional(spark.get("delta_packages", "auto")),
            delta_jars=_optional(spark.get("delta_jars")),
            spark_conf={k: _conf_value(v) for k, v in (spark.get("conf") or {}).items()},
            source=str(file),
        )
    except KeyError as exc:
        raise SettingsError(f"{file}: missing setting {exc.args[0]!r}") from exc


def parse_spark_conf(pairs: list[str] | None) -> dict[str, str]:
    """Turn repeated --spark-conf KEY=VALUE flags into a dict."""
    result: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SettingsError(f"--spark-conf expects KEY=VALUE, got {pair!r}")
        result[key.strip()] = value.strip()
    return result


def _optional(value: Any) -> str | None:
    return None if value in (None, "", "null", "none") else str(value)


def _conf_value(value: Any) -> str:
    # YAML reads true/false as booleans; Spark wants the lowercase words.
    return str(value).lower() if isinstance(value, bool) else str(value)
