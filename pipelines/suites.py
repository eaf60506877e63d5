"""Great Expectations suites, kept as JSON files in expectations/ and loaded from there.

Severity: `critical` is what the project calls *fail* (a failing check fails the run and its
records are quarantined); `warning` is *warn* (reported with its counts, never fatal).
Each suite's `meta.asset` names the frame it validates (a table, or a check frame of checks.py).

The three schema suites (videos, nodes, transcripts) restate the contracts of schema.py, the one
source of truth: `python -m pipelines.suites` rewrites them from it, and a test fails when a file
and the contract disagree. The check suites are written by hand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from pyspark.sql import types as T

from pipelines.resources import files_with_suffix, project_folder
from pipelines.schema import TABLE_KEYS, TABLE_SCHEMAS

SCHEMA_SUITE_TABLES = ("videos", "nodes", "transcripts")
FAIL = "critical"
WARN = "warning"


def expectations_dir() -> Traversable:
    """expectations/ of a source checkout, else the copy packaged into the wheel or zip."""
    return project_folder("expectations")


@dataclass(frozen=True)
class SuiteFile:
    name: str
    asset: str
    data: dict[str, Any]

    def build(self):
        """The suite as a Great Expectations ExpectationSuite."""
        from great_expectations.core.expectation_suite import ExpectationSuite
        from great_expectations.expectations.expectation_configuration import (
            ExpectationConfiguration,
        )

        expectations = [
            ExpectationConfiguration(
                type=e["type"],
                kwargs=e["kwargs"],
                meta=e.get("meta", {}),
                severity=e.get("severity", FAIL),
            ).to_domain_obj()
            for e in self.data["expectations"]
        ]
        return ExpectationSuite(
            name=self.name, expectations=expectations, meta=self.data.get("meta", {})
        )


def load_suites(folder: Traversable | None = None) -> list[SuiteFile]:
    """Every suite file of the folder, in name order."""
    suites = []
    for path in files_with_suffix(folder or expectations_dir(), ".json"):
        data = json.loads(path.read_text())
        try:
            suites.append(SuiteFile(data["name"], data["meta"]["asset"], data))
        except KeyError as exc:
            raise ValueError(
                f"{path}: a suite needs a name and meta.asset ({exc} missing)"
            ) from exc
    return suites


def _type_name(dtype: T.DataType) -> str:
    return type(dtype).__name__


def schema_suite(table: str) -> dict[str, Any]:
    """The schema suite of a published table, derived from its contract in schema.py."""
    schema = TABLE_SCHEMAS[table]
    expectations: list[dict[str, Any]] = [
        _expectation(
            "expect_table_columns_to_match_ordered_list",
            {"column_list": schema.names},
            f"{table}.columns",
            "columns and their order are the contract's",
        )
    ]
    for field in schema.fields:
        expectations.append(
            _expectation(
                "expect_column_values_to_be_of_type",
                {"column": field.name, "type_": _type_name(field.dataType)},
                f"{table}.{field.name}.type",
                f"{field.name} is {field.dataType.simpleString()}",
            )
        )
    for field in schema.fields:
        if not field.nullable:
            expectations.append(
                _expectation(
                    "expect_column_values_to_not_be_null",
                    {"column": field.name},
                    f"{table}.{field.name}.not_null",
                    f"{field.name} is never null",
                )
            )
    keys = list(TABLE_KEYS[table])
    unique = (
        ("expect_column_values_to_be_unique", {"column": keys[0]})
        if len(keys) == 1
        else ("expect_compound_columns_to_be_unique", {"column_list": keys})
    )
    expectations.append(
        _expectation(*unique, f"{table}.key_unique", f"({', '.join(keys)}) is unique")
    )
    return {
        "name": table,
        "meta": {
            "asset": table,
            "description": f"Schema of the {table} table: columns, types, nullability and key.",
            "generated_from": "pipelines/schema.py (python -m pipelines.suites)",
        },
        "expectations": expectations,
    }


def _expectation(
    kind: str, kwargs: dict[str, Any], check_id: str, description: str
) -> dict[str, Any]:
    return {
        "type": kind,
        "kwargs": kwargs,
        "severity": FAIL,
        "meta": {"id": check_id, "description": description},
    }


def write_schema_suites(folder: Path | None = None) -> list[Path]:
    folder = folder or Path(str(expectations_dir()))
    written = []
    for table in SCHEMA_SUITE_TABLES:
        path = folder / f"{table}.json"
        path.write_text(json.dumps(schema_suite(table), indent=2) + "\n")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_schema_suites():
        print(f"wrote {path}")
