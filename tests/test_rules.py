"""The rule registry: each rule's Column on a tiny hand-built row (no Delta, no Great
Expectations), and the suites in expectations/ generated from it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pipelines.core.severity import Severity
from pipelines.quality.rules import (
    CHECK_ASSETS,
    NODE_CHECKS,
    RULES,
    RULES_BY_NAME,
    SUITE_DESCRIPTIONS,
    TRANSCRIPT_CHECKS,
    VIDEO_CHECKS,
    Rule,
    rules_of,
)
from pipelines.quality.rules import rule as declare_rule
from pipelines.quality.suites import (
    KEYS_CHECKED_BY_RULES,
    SCHEMA_SUITE_TABLES,
    expectations_dir,
    generated_suites,
    load_suites,
    suite_text,
)
from pipelines.synth import BROKEN_RULES

# The context columns each check frame builds (quality/frames.py), with a healthy row.
NODE_CONTEXT = {
    "video_uid": ("v1", T.StringType()),
    "node_id": ("n2", T.StringType()),
    "parent_id": ("n1", T.StringType()),
    "level": (1, T.ShortType()),
    "start": (0.0, T.FloatType()),
    "end": (5.0, T.FloatType()),
    "duration": (5.0, T.DoubleType()),
    "is_leaf": (False, T.BooleanType()),
    "child_count": (2, T.IntegerType()),
    "has_gpt": (True, T.BooleanType()),
    "has_llama3": (False, T.BooleanType()),
    "action_brief": ("stir mixture", T.StringType()),
    "action_detailed": ("stir the mixture slowly", T.StringType()),
    "action_actor": ("a cook", T.StringType()),
    "id_count": (1, T.LongType()),
    "parent_found": (True, T.BooleanType()),
    "parent_level": (0, T.ShortType()),
    "parent_start": (0.0, T.FloatType()),
    "parent_end": (10.0, T.FloatType()),
    "prev_end": (None, T.FloatType()),
    "is_last_child": (False, T.BooleanType()),
    "video_duration": (10, T.LongType()),
    "video_found": (True, T.BooleanType()),
}
VIDEO_CONTEXT = {
    "video_uid": ("v1", T.StringType()),
    "node_count": (3, T.IntegerType()),
    "upload_date": (None, T.DateType()),
    "upload_date_text": (None, T.StringType()),
    "root_count": (1, T.LongType()),
    "root_start": (0.0, T.FloatType()),
    "root_level": (0, T.ShortType()),
    "nodes_found": (3, T.LongType()),
}
LINE_CONTEXT = {
    "video_uid": ("v1", T.StringType()),
    "seq": (4, T.IntegerType()),
    "time": (32.16, T.DoubleType()),
    "time_text": ("32.16", T.StringType()),
    "video_found": (True, T.BooleanType()),
}
CONTEXTS = {NODE_CHECKS: NODE_CONTEXT, VIDEO_CHECKS: VIDEO_CONTEXT, TRANSCRIPT_CHECKS: LINE_CONTEXT}

# rule -> (the columns changed from the healthy row, the exact offence expected)
BROKEN = {
    "node_key_unique": ({"id_count": 2}, "v1/n2: node_id appears 2 times"),
    "node_video_exists": ({"video_found": None}, "v1/n2: no videos row for this video"),
    "parent_exists": ({"parent_found": None}, "v1/n2: parent n1 not found"),
    "level_is_parent_plus_one": ({"level": 3}, "v1/n2: level 3, parent level 0"),
    "inside_parent": ({"end": 10.5}, "v1/n2: [0.0, 10.5] outside parent [0.0, 10.0]"),
    "tiles_parent": (
        {"start": 0.5},
        "v1/n2: [0.5, 5.0] does not tile parent [0.0, 10.0] after sibling ending -",
    ),
    "binary_branching": ({"child_count": 3}, "v1/n2: 3 children"),
    "start_non_negative": ({"start": -0.25, "parent_start": -0.25}, "v1/n2: start -0.25 < 0"),
    "end_after_start": ({"end": 0.0, "duration": 0.0}, "v1/n2: end 0.0 <= start 0.0"),
    "duration_is_end_minus_start": ({"duration": 4.0}, "v1/n2: duration 4.0 != end - start"),
    "end_within_video_duration": ({"video_duration": 4}, "v1/n2: end 5.0 > video duration 4"),
    "end_within_video_duration_1s": (
        {"video_duration": 3},
        "v1/n2: end 5.0 > video duration 3 + 1 s",
    ),
    "gpt_iff_internal_4s": (
        {"end": 3.5, "duration": 3.5},
        "v1/n2: has_gpt true on a internal node of 3.500 s",
    ),
    "llama3_iff_leaf": ({"has_llama3": True}, "v1/n2: llama3_caption present on a internal node"),
    "na_coupling": (
        {"action_brief": "N/A"},
        "v1/n2: brief action is N/A but detailed/actor are not",
    ),
    "one_root": ({"root_count": 2}, "v1: 2 roots"),
    "root_starts_at_zero": ({"root_start": 1.5}, "v1: root starts at 1.5"),
    "root_level_zero": ({"root_level": 3}, "v1: root level is 3, not 0"),
    "node_count_matches": ({"nodes_found": 5}, "v1: node_count 3 but 5 node rows"),
    "upload_date_valid": (
        {"upload_date_text": "2021-13-45"},
        "v1: upload_date 2021-13-45 is not a YYYYMMDD date",
    ),
    "transcript_video_exists": ({"video_found": None}, "v1/4: no videos row for this video"),
    "time_parsed": ({"time": None, "time_text": "soon"}, "v1/4: time soon is not a number"),
    "time_finite": (
        {"time": float("nan"), "time_text": "NaN"},
        "v1/4: time NaN is not a finite number",
    ),
    "time_non_negative": ({"time": -1.0, "time_text": "-1"}, "v1/4: time -1.0 < 0"),
}


def _offences(spark, rule_name: str, changes: dict | None) -> list[str | None]:
    """The rule's Column over a healthy row and, if changes, the row with them."""
    rule = RULES_BY_NAME[rule_name]
    context = CONTEXTS[rule.asset]
    schema = T.StructType([T.StructField(k, t, True) for k, (_, t) in context.items()])
    healthy = tuple(v for v, _ in context.values())
    rows = [healthy]
    if changes is not None:
        rows.append(tuple(changes.get(k, v) for k, (v, _) in context.items()))
    frame = spark.createDataFrame(rows, schema)
    return [r[0] for r in frame.select(rule.offence()).collect()]


def test_every_rule_has_a_hand_built_case():
    assert set(BROKEN) == set(RULES_BY_NAME)


@pytest.mark.parametrize("rule_name", sorted(BROKEN))
def test_each_rule_flags_its_offence_with_the_exact_message_and_passes_a_healthy_row(
    spark, rule_name
):
    changes, expected = BROKEN[rule_name]
    assert _offences(spark, rule_name, changes) == [None, expected]


def test_a_root_has_no_parent_to_check(spark):
    root = {"parent_id": None, "parent_found": None, "level": 0, "parent_level": None}
    for name in ("parent_exists", "level_is_parent_plus_one", "inside_parent", "tiles_parent"):
        assert _offences(spark, name, root)[1] is None, name


def test_the_suites_in_expectations_are_generated_from_the_registry_and_contracts():
    on_disk = {p.name.removesuffix(".json"): p for p in expectations_dir().iterdir()}
    generated = generated_suites()
    assert set(on_disk) == set(generated)
    for name, data in generated.items():
        assert on_disk[name].read_text() == suite_text(data), (
            f"expectations/{name}.json drifted: run python -m pipelines.quality.suites"
        )


def test_every_table_key_is_checked_once_by_its_schema_suite_or_by_a_fail_rule():
    suites = generated_suites()
    for table in SCHEMA_SUITE_TABLES:
        key_checks = [
            e for e in suites[table]["expectations"] if e["meta"]["id"] == f"{table}.key_unique"
        ]
        if table in KEYS_CHECKED_BY_RULES:
            rule = RULES_BY_NAME[KEYS_CHECKED_BY_RULES[table]]
            assert key_checks == [] and rule.severity is Severity.FAIL and rule.asset == NODE_CHECKS
        else:
            assert len(key_checks) == 1


def test_each_rule_is_one_expectation_of_its_severity_and_mostly():
    by_id = {
        e["meta"]["id"]: (s.asset, e)
        for s in load_suites()
        for e in s.data["expectations"]
        if s.asset in CHECK_ASSETS
    }
    assert set(by_id) == set(RULES_BY_NAME)
    for rule in RULES:
        asset, expectation = by_id[rule.name]
        assert asset == rule.asset
        assert expectation["severity"] == rule.severity.gx
        assert expectation["kwargs"].get("mostly") == rule.mostly
        assert expectation["kwargs"]["column"] == rule.column


def test_the_generator_breaks_rules_by_their_registry_names():
    named = {rule for broken in BROKEN_RULES.values() for rule in broken}
    assert named <= set(RULES_BY_NAME)
    assert all(RULES_BY_NAME[name].severity is Severity.FAIL for name in named)


def test_a_suite_change_changes_its_content_hash(tmp_path):
    suite = next(s for s in load_suites() if s.name == "temporal")
    data = json.loads(json.dumps(suite.data))
    data["expectations"][0]["kwargs"]["mostly"] = 0.5
    (tmp_path / "temporal.json").write_text(json.dumps(data))
    (changed,) = load_suites(tmp_path)
    assert changed.content_hash != suite.content_hash


# The registry's order is the order of each suite's expectations and of the reports' lists.
DOCUMENTED_ORDER = [
    *("node_key_unique", "node_video_exists", "parent_exists", "level_is_parent_plus_one"),
    *("inside_parent", "tiles_parent", "binary_branching"),
    *("start_non_negative", "end_after_start", "duration_is_end_minus_start"),
    *("end_within_video_duration", "end_within_video_duration_1s"),
    *("gpt_iff_internal_4s", "llama3_iff_leaf", "na_coupling"),
    *("one_root", "root_starts_at_zero", "root_level_zero", "node_count_matches"),
    "upload_date_valid",
    *("transcript_video_exists", "time_parsed", "time_finite", "time_non_negative"),
]
DECLARATION = {
    "name": "a_new_rule",
    "asset": NODE_CHECKS,
    "suite": "tree",
    "severity": Severity.FAIL,
    "description": "never registered",
}


def _never_called() -> F.Column:
    raise AssertionError("a refused declaration keeps no Column builder")


def test_the_registry_keeps_the_order_of_declaration_suite_by_suite():
    assert [r.name for r in RULES] == DOCUMENTED_ORDER
    suites = [r.suite for r in RULES]
    # each suite's rules are declared together, the suites in SUITE_DESCRIPTIONS' order
    assert list(dict.fromkeys(suites)) == list(SUITE_DESCRIPTIONS)
    assert sorted(suites, key=list(SUITE_DESCRIPTIONS).index) == suites


def test_every_severity_is_a_severity_and_only_the_duration_rules_warn():
    assert all(type(r.severity) is Severity for r in RULES)
    warn = [r.name for r in RULES if r.severity is Severity.WARN]
    assert warn == ["end_within_video_duration", "end_within_video_duration_1s"]
    assert [r.name for r in rules_of(NODE_CHECKS, Severity.WARN)] == warn
    assert {r.name for r in rules_of(NODE_CHECKS, Severity.FAIL)} == {
        r.name for r in RULES if r.asset == NODE_CHECKS
    } - set(warn)


def test_a_severity_is_its_text_and_great_expectations_names_it():
    assert [str(s) for s in Severity] == ["warn", "fail"]
    assert (Severity.FAIL.gx, Severity.WARN.gx) == ("critical", "warning")
    assert [Severity.of_gx(name) for name in ("critical", "warning", "info")] == [
        Severity.FAIL,
        Severity.WARN,
        Severity.WARN,
    ]
    assert json.dumps({"severity": Severity.FAIL}) == '{"severity": "fail"}'
    assert type(Severity.FAIL.value) is str  # what a row built in Python holds


def test_each_rule_is_declared_by_a_decorator_beside_its_column():
    source = Path(__file__).resolve().parents[1].joinpath("pipelines/quality/rules.py").read_text()
    assert source.count("Rule(") == 1  # the one construction, inside @rule: no list of rules
    declared = re.findall(r'@rule\(\n    name="(\w+)",(?:\n    [^\n]*)*\n\)\ndef (\w+)\(', source)
    assert [name for name, _ in declared] == DOCUMENTED_ORDER
    assert all(RULES_BY_NAME[name].offence.__name__ == function for name, function in declared)


def test_a_rule_is_declared_by_keyword_only():
    with pytest.raises(TypeError):
        declare_rule("a_new_rule", NODE_CHECKS, "tree", Severity.FAIL, "positional")
    with pytest.raises(TypeError):
        Rule("a_new_rule", NODE_CHECKS, "tree", Severity.FAIL, "positional", _never_called)


@pytest.mark.parametrize(
    ("changes", "refusal"),
    [
        ({"name": "tiles_parent"}, "rule 'tiles_parent' is declared twice"),
        ({}, "declared after the registry was built"),
    ],
)
def test_a_duplicate_or_late_rule_is_refused(changes, refusal):
    declare = declare_rule(**{**DECLARATION, **changes})
    with pytest.raises((ValueError, RuntimeError), match=re.escape(refusal)):
        declare(_never_called)
    assert [r.name for r in RULES] == DOCUMENTED_ORDER


def test_the_checks_page_lists_every_rule_with_its_severity_and_mostly():
    page = Path(__file__).resolve().parents[1].joinpath("docs/checks.md").read_text()
    section = page.split("## Row-level rules", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| (fail|warn) \| (?:([\d.]*) \| )?", section, re.M)
    documented = {name: (severity, mostly) for name, severity, mostly in rows}
    assert set(documented) == set(RULES_BY_NAME)
    for r in RULES:
        severity, mostly = documented[r.name]
        assert severity == r.severity, r.name
        if r.suite == "temporal":  # the only table with a mostly column
            assert (float(mostly) if mostly else None) == r.mostly, r.name


def test_the_checks_page_shows_a_declaration_as_the_registry_has_it():
    root = Path(__file__).resolve().parents[1]
    page = root.joinpath("docs/checks.md").read_text()
    example = page.split("## Declaring a rule", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    without_comments = re.sub(r"  # .*", "", example)
    assert without_comments in root.joinpath("pipelines/quality/rules.py").read_text()
