"""Great Expectations suites, kept as JSON files in expectations/ and loaded from there.

Every suite file is generated, never written by hand: the schema suites (videos, nodes,
transcripts) from the table contracts in core/contracts.py, the check suites (tree, temporal,
annotation, video_tree, transcript_checks) from the rule registry in quality/rules.py.
`python -m pipelines.quality.suites` rewrites them, and a test fails when a file drifts.

Severity: Great Expectations' `critical` is what the project calls *fail* (a failing check fails
the run and its videos are quarantined); `warning` is *warn* (reported with counts, never fatal);
`Severity.gx` in core/severity.py holds the mapping.
Each suite's `meta.asset` names the frame it validates (a table, or a check frame of frames.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from pipelines.core.contracts import TABLE_KEYS, TABLE_SCHEMAS
from pipelines.core.errors import UsageError
from pipelines.core.lake import write_text_atomic
from pipelines.core.resources import files_with_suffix, project_folder
from pipelines.core.severity import Severity
from pipelines.quality.rules import RULES, SUITE_DESCRIPTIONS, Rule

SCHEMA_SUITE_TABLES = ("videos", "nodes", "transcripts")

# Table keys that a row-level rule already checks, flagging every copy of a repeated key as Great
# Expectations' unique checks count them, and quarantining its video: checked once, there. For
# nodes, GX's compound-unique check shuffled the 5M keys twice (8 s of 50 at 10,000 videos).
KEYS_CHECKED_BY_RULES = {"nodes": "node_key_unique"}


def expectations_dir() -> Traversable:
    """expectations/ of a source checkout, else the copy packaged into the wheel or zip."""
    return project_folder("expectations")


@dataclass(frozen=True)
class SuiteFile:
    name: str
    asset: str
    data: dict[str, Any]

    @property
    def content_hash(self) -> str:
        """A hash of what the suite checks (its canonical JSON): changes when a rule does."""
        canonical = json.dumps(self.data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def load_suites(folder: Traversable | None = None) -> list[SuiteFile]:
    """Every suite file of the folder, in name order."""
    suites = []
    for path in files_with_suffix(folder or expectations_dir(), ".json"):
        data = json.loads(path.read_text())
        try:
            suites.append(SuiteFile(data["name"], data["meta"]["asset"], data))
        except KeyError as exc:
            raise UsageError(
                f"{path}: a suite needs a name and meta.asset ({exc} missing)"
            ) from exc
    return suites


def _expectation(
    kind: str,
    kwargs: dict[str, Any],
    check_id: str,
    description: str,
    severity: Severity = Severity.FAIL,
) -> dict[str, Any]:
    return {
        "type": kind,
        "kwargs": kwargs,
        "severity": severity.gx,
        "meta": {"id": check_id, "description": description},
    }


def schema_suite(table: str) -> dict[str, Any]:
    """The schema suite of a published table, derived from its contract."""
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
                {"column": field.name, "type_": type(field.dataType).__name__},
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
    if table not in KEYS_CHECKED_BY_RULES:
        expectations.append(
            _expectation(*unique, f"{table}.key_unique", f"({', '.join(keys)}) is unique")
        )
    return {
        "name": table,
        "meta": {
            "asset": table,
            "description": f"Schema of the {table} table: columns, types, nullability and key.",
            "generated_from": "pipelines/core/contracts.py (python -m pipelines.quality.suites)",
        },
        "expectations": expectations,
    }


def _rule_expectation(rule: Rule) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"column": rule.column}
    if rule.mostly is not None:
        kwargs["mostly"] = rule.mostly
    return _expectation(
        "expect_column_values_to_be_null", kwargs, rule.name, rule.description, rule.severity
    )


def check_suite(name: str) -> dict[str, Any]:
    """A check suite: every rule of the registry that belongs to it, in registry order."""
    rules = [r for r in RULES if r.suite == name]
    return {
        "name": name,
        "meta": {
            "asset": rules[0].asset,
            "description": SUITE_DESCRIPTIONS[name],
            "generated_from": "pipelines/quality/rules.py (python -m pipelines.quality.suites)",
        },
        "expectations": [_rule_expectation(r) for r in rules],
    }


def generated_suites() -> dict[str, dict[str, Any]]:
    """Every suite the project runs, by name, as its JSON document."""
    suites = {table: schema_suite(table) for table in SCHEMA_SUITE_TABLES}
    suites.update({name: check_suite(name) for name in SUITE_DESCRIPTIONS})
    return suites


def suite_text(data: dict[str, Any]) -> str:
    """A suite's file content, exactly as written to expectations/."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write_suites(folder: Path | None = None) -> list[Path]:
    """Rewrite every suite file from the contracts and the registry."""
    folder = folder or Path(str(expectations_dir()))
    return [
        write_text_atomic(folder / f"{name}.json", suite_text(data))
        for name, data in generated_suites().items()
    ]


if __name__ == "__main__":
    for path in write_suites():
        print(f"wrote {path}")
