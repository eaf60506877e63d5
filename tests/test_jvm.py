"""The project's JVM functions (jvm/src, core/native.py) give exactly the built-in forms' values:
child counts on the real sample, word counts on the real sample's text, on every code point and
on generated tricky text; without a compiler the pipeline uses the built-in forms and says so."""

from __future__ import annotations

import logging
import random

import pytest
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.testing import assertDataFrameEqual

from pipelines.core import native
from pipelines.core.lake import read_table
from pipelines.ingest.flatten import to_nodes
from pipelines.ingest.sources import read_raw, resolve_inputs
from pipelines.ingest.stage import explode
from pipelines.stats.figures import node_facts
from pipelines.stats.spec import TEXT_FIELDS
from pipelines.stats.verbs import WORD
from tests.rawdata import small_tree_video, write_raw

# java.util.regex's (?U)\s: Unicode White_Space, as JDK 17 has it (25 code points)
JAVA_SPACE = frozenset(
    [*range(0x9, 0xE), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029]
    + [0x202F, 0x205F, 0x3000]
)
# not white space to Java, though some look like it or are to other definitions
LOOKALIKES = "\u200b\u200c\u200d\u2060\ufeff\u180e\u001c\u001d\u001e\u001f\u00ad"
SURROGATE_PAIRS = "\U0001f600\U0001d400\U00010348\U0010fffd"
# A clone on a machine without a JDK compiler (or with A100M_JAVAC=none) runs the built-in forms:
# the tests of the functions themselves skip there, the fallback's tests run everywhere.
needs_functions = pytest.mark.skipif(
    native.javac() is None, reason="no Java compiler: the pipeline uses the built-in forms"
)


def tokens_by_java_space(text: str) -> int:
    """The independent oracle: runs of characters outside JAVA_SPACE."""
    words, inside = 0, False
    for ch in text:
        word_char = ord(ch) not in JAVA_SPACE
        words += word_char and not inside
        inside = word_char
    return words


def both_counts(df, column: str = "text"):
    return df.select(
        "*",
        F.regexp_count(F.col(column), F.lit(WORD)).alias("regex"),
        native.word_count(F.col(column)).alias("jvm"),
    )


@needs_functions
def test_the_session_has_the_functions(spark):
    assert native.javac() is not None, "the development machine and CI have a JDK"
    assert native.available(spark)
    jar = native.build_jar()
    assert jar is not None and native.is_ours(str(jar))
    assert str(jar) in spark.sparkContext.getConf().get("spark.jars", "")
    assert native.build_jar() == jar  # built once per source, then reused


@needs_functions
def test_word_count_equals_regexp_count_at_every_code_point(spark):
    # "a" + the code point + "b": one word, or two where the code point is white space
    points = spark.range(0, 0x110000).select(
        F.col("id").cast("int").alias("cp"),
        F.concat(
            F.lit("a"),
            F.expr("reflect('java.lang.Character', 'toString', cast(id as int))"),
            F.lit("b"),
        ).alias("text"),
    )
    counted = both_counts(points).drop("text").cache()
    try:
        assert counted.where("regex <> jvm or jvm is null").count() == 0
        spaces = sorted(r.cp for r in counted.where("jvm = 2").collect())
        assert spaces == sorted(JAVA_SPACE)
        assert counted.where("jvm not in (1, 2)").count() == 0
    finally:
        counted.unpersist()


@needs_functions
def test_word_count_equals_regexp_count_on_tricky_text(spark):
    spaces = "".join(map(chr, sorted(JAVA_SPACE)))
    texts = [
        None,
        "",
        " ",
        spaces,
        "a" + spaces + "b",
        spaces.join("word"),
        "\u00a0NBSP\u00a0inside\u00a0",
        "zero\u200bwidth\u200cjoin\u200dx\ufeff",
        LOOKALIKES,
        " ".join(LOOKALIKES),
        SURROGATE_PAIRS,
        " ".join(SURROGATE_PAIRS) + "\u3000end",
        "\U0001f600\u2028\U0001f600\u2029\U0001f600",
        "tabs\tand\nnew\r\nlines\x0b\x0cand\x85next",
        "  leading and trailing  ",
        "thumbs\u2011up, Open, (x)",
    ]
    pool = spaces + LOOKALIKES + SURROGATE_PAIRS + "ab,.é中\u0301"
    rng = random.Random(24)
    texts += ["".join(rng.choice(pool) for _ in range(rng.randint(0, 40))) for _ in range(3000)]
    schema = T.StructType(
        [T.StructField("i", T.IntegerType()), T.StructField("text", T.StringType())]
    )
    rows = both_counts(spark.createDataFrame(list(enumerate(texts)), schema)).collect()
    assert len(rows) == len(texts)
    for row, text in zip(sorted(rows, key=lambda r: r.i), texts, strict=True):
        assert row.text == text
        expected = None if text is None else tokens_by_java_space(text)
        assert (row.regex, row.jvm) == (expected, expected), repr(text)
    # bytes that are not UTF-8 (a string cast from binary): Java decodes both to U+FFFD alike
    broken = spark.createDataFrame(
        [(h,) for h in ("61EDA0802062", "61C22062", "E28020E280", "F09F98", "C2A0C2", "FF20FE")],
        "hex string",
    ).select(F.unhex("hex").cast("string").alias("text"))
    assert both_counts(broken).where("regex <> jvm or jvm is null").count() == 0
    assert sorted(r.jvm for r in both_counts(broken).collect()) == [1, 1, 2, 2, 2, 2]


@needs_functions
def test_word_counts_of_the_real_sample_equal_the_regex(spark, real_sample, tmp_path):
    lake = str(tmp_path / "lake")
    explode(spark, [str(real_sample)], lake)
    nodes = read_table(spark, lake, "nodes")
    fields = [name for name, _ in TEXT_FIELDS]
    compared = nodes.select(
        *[(F.regexp_count(F.col(f), F.lit(WORD)).eqNullSafe(native.word_count(F.col(f)))).alias(f)
          for f in fields],
        *[native.word_count(F.col(f)).alias(f"{f}_words") for f in fields],
    )  # fmt: skip
    assert compared.where(" or ".join(f"not {f}" for f in fields)).count() == 0
    totals = compared.agg(*[F.sum(f"{f}_words") for f in fields]).first()
    assert all(total and total > 1000 for total in totals), totals  # real text was counted


@needs_functions
def test_child_counts_of_the_real_sample_equal_the_group_by(spark, real_sample, tmp_path):
    with_jvm, built_in = str(tmp_path / "jvm"), str(tmp_path / "built-in")
    explode(spark, [str(real_sample)], with_jvm)
    with native.forced_off(spark):
        explode(spark, [str(real_sample)], built_in)
    for table in ("nodes", "videos", "transcripts"):
        drop = ["ingest_run_id", "ingested_at"] if table == "videos" else ["ingest_run_id"]
        assertDataFrameEqual(
            read_table(spark, with_jvm, table).drop(*drop),
            read_table(spark, built_in, table).drop(*drop),
            rtol=0,
            atol=0,
        )
    nodes = read_table(spark, with_jvm, "nodes")
    children = nodes.where("parent_id is not null").count()
    assert children > 0 and nodes.agg(F.sum("child_count")).first()[0] == children  # no orphans


@needs_functions
def test_child_counts_of_odd_trees(spark):
    # duplicate ids, null ids, parents that are not in the video, a null array
    rows = [
        (["r", "a", "a", None, "b"], [None, "r", "r", "a", "zz"]),
        (["x"], [None]),
        ([], []),
        (None, None),
        (["p", "q"], ["q", "q"]),
    ]
    df = spark.createDataFrame(rows, "ids array<string>, parents array<string>")
    got = [r.c for r in df.select(native.child_counts("ids", "parents").alias("c")).collect()]
    assert got == [[2, 1, 1, 0, 0], [0], [], None, [0, 2]]


def test_without_a_compiler_the_built_in_forms_are_used_and_said_once(spark, monkeypatch, caplog):
    monkeypatch.setenv(native.JAVAC_ENV, "none")
    monkeypatch.setattr(native, "_said", set())
    caplog.set_level(logging.WARNING, logger=native.__name__)
    assert native.javac() is None
    assert native.build_jar() is None
    assert native.build_jar() is None
    fresh = spark.newSession()
    assert not native.available(fresh)
    said = [r.getMessage() for r in caplog.records if "built-in forms" in r.getMessage()]
    assert len(said) == 2, said  # no compiler; A100M_JAVAC=none at registration
    assert "no Java compiler" in said[0]


@needs_functions
def test_the_built_in_forms_give_the_same_nodes_and_plan_no_function(spark, tmp_path, capsys):
    raw = read_raw(
        spark, resolve_inputs(spark, [str(write_raw(tmp_path / "r.parquet", [small_tree_video()]))])
    )
    with native.forced_off(spark):
        built_in = to_nodes(raw, "run-1")
        figures_off = node_facts(built_in)
        built_in.explain()
        figures_off.explain()
    plans_off = capsys.readouterr().out
    with_jvm = to_nodes(raw, "run-1")
    with_jvm.explain()
    node_facts(with_jvm).explain()
    plans_on = capsys.readouterr().out
    assert "a100m_child_counts(" not in plans_off and "a100m_word_count(" not in plans_off
    # regexp_count is planned as size(regexp_extract_all(...)); the group-by joined back shuffles
    assert "regexp_extract_all" in plans_off and "Exchange" in plans_off
    assert "a100m_child_counts(" in plans_on and "a100m_word_count(" in plans_on
    assert "Exchange" not in plans_on.split("== Physical Plan ==")[1]  # no shuffle of the nodes
    assert "regexp_extract_all" not in plans_on
    assertDataFrameEqual(with_jvm, built_in, rtol=0, atol=0)
    assertDataFrameEqual(node_facts(with_jvm), figures_off, rtol=0, atol=0)


@needs_functions
@pytest.mark.parametrize("name", sorted(native.FUNCTIONS))
def test_every_function_is_registered(spark, name):
    assert spark.catalog.functionExists(name)
