"""The verb and the object of a brief action ("Cutting the cucumber" -> cut, cucumber).

Both are read from the words of `action_brief`, split on Unicode white space, lowercased, with
punctuation stripped from both ends of each word ("Open," -> open; "thumbs‑up" stays whole).

Verb rule. The verb is the lemma of the first of the first `VERB_WINDOW` (4) words that
  1. is not a listed function word (articles, determiners, pronouns, prepositions, conjunctions),
     sequence adverb ("then", "now", "first") or generic subject noun ("person", "man", "woman"),
     see `NOT_A_VERB`; and
  2. is a verb to lemminflect: `getAllLemmas(word)` has a VERB reading, or lemminflect does not
     know the word at all and it is made of letters only (rare verbs such as "reattach" and
     "unclog"; lemmatised with lemminflect's out-of-vocabulary rules).
Words lemminflect knows only as a noun, adjective or adverb ("camera", "quickly") are skipped, so
"Person cuts onion" -> cut, "quickly stir" -> stir, "then pour" -> pour, "points at" -> point.
The lemma is the first of `getLemma(word, upos="VERB")`. When none of the first words qualifies,
the verb is null (counted as `actions_without_verb`). "N/A" actions never get here.
Known limit: a subject that is also a verb to lemminflect is taken for the verb
("Dog walks away" -> dog, "Hand moves" -> hand); brief actions are imperative almost always.

The lemmas come from Python, but only for the distinct words that occur in the verb window (a
set bounded by the vocabulary, not by the corpus): `distinct_leading_words` collects them,
`verb_lemmas` lemmatises them on the driver, `with_verb_and_object` broadcast-joins the small
mapping back as one map. No per-row Python. `parse_actions` runs all of it on the distinct briefs
only and joins the verb and object back: the rule's higher-order functions are interpreted, so
parsing every row cost 230 s at 10,000 videos against 13 s for the distinct briefs and the join.

Object rule (Spark functions only). After the verb, skip determiners, possessives, prepositions
and particles (`OBJECT_SKIP`: the, a, his, at, to, on, into, with, up, ...); the noun phrase then
runs up to (not including) the next preposition, conjunction or "using" (`PHRASE_END`), or up to
and including a word followed by punctuation ("Add butter, chips" -> butter). The object is the
last word of that phrase, lowercased as written (no noun lemma: "onions" stays "onions").
No object when the verb is the last word, when punctuation follows the verb ("Open, wipe"), or
when the phrase would start with a conjunction or a pronoun ("Speak and gesture", "Dry them").
"""

from __future__ import annotations

from collections.abc import Iterable

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from pipelines.core import native

VERB_WINDOW = 4  # leading words searched for the verb
MAX_WORDS = 64  # words of a brief action looked at for the object

# Splitting and cleaning words: Java regexes (Unicode white space, letters and digits).
WHITESPACE = r"(?U)\s+"
WORD = r"(?U)\S+"
EDGE_SPACE = r"(?U)^\s+|\s+$"
EDGE_PUNCT = r"^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$"
PUNCT_AFTER = r"[,;:.!?)\]]$"

DETERMINERS = frozenset(
    "a an the this that these those some any each every all both another either neither such "
    "his her hers their theirs its my mine your yours our ours whose no".split()
)
PREPOSITIONS = frozenset(
    "at to on onto into in inside with within without up down off out over from of for around "
    "across through throughout toward towards away back about along under underneath upon by "
    "near behind between against beside besides past via per like than beneath above below "
    "after before during".split()
)
CONJUNCTIONS = frozenset("and or but nor so yet while as then until when whereas".split())
PRONOUNS = frozenset(
    "i you he she it we they me him us them myself yourself himself herself itself ourselves "
    "themselves one someone somebody something everyone everything".split()
)
SEQUENCE_ADVERBS = frozenset("then now next first also again finally still just later".split())
SUBJECT_NOUNS = frozenset("person people man men woman women user users".split())

NOT_A_VERB = DETERMINERS | PREPOSITIONS | CONJUNCTIONS | PRONOUNS | SEQUENCE_ADVERBS | SUBJECT_NOUNS
OBJECT_SKIP = DETERMINERS | PREPOSITIONS
PHRASE_END = PREPOSITIONS | CONJUNCTIONS | frozenset({"using"})
NO_OBJECT = PHRASE_END | PRONOUNS


# ---------------------------------------------------------------------------------------------
# Words (Spark)
# ---------------------------------------------------------------------------------------------


def tokens(text: Column) -> Column:
    """The white-space separated tokens of text, as written (an empty text gives no tokens)."""
    stripped = F.regexp_replace(text, EDGE_SPACE, "")
    return F.when(stripped == "", F.array().cast("array<string>")).otherwise(
        F.split(stripped, WHITESPACE)
    )


def clean_word(token: Column) -> Column:
    return F.lower(F.regexp_replace(token, EDGE_PUNCT, ""))


def word_count(text: Column, jvm: bool = False) -> Column:
    """Words in text (null stays null), split on Unicode white space like Python's str.split().
    jvm: the project's JVM function (core/native.py), the same counts in one pass over the text
    without building the matches (regexp_count was about 65 s of 135 s of stats at 10,000)."""
    if jvm:
        return native.word_count(text)
    # One regex pass counting runs of non-space (the edge strip plus split took two).
    return F.regexp_count(text, F.lit(WORD))


def leading_words(brief: Column, n: int = VERB_WINDOW) -> Column:
    return F.transform(F.slice(tokens(brief), 1, n), clean_word)


def distinct_leading_words(actions: DataFrame, column: str = "action_brief") -> list[str]:
    """The distinct cleaned words in the verb window: bounded by the vocabulary, not the corpus."""
    words = actions.select(F.explode(leading_words(F.col(column))).alias("word")).distinct()
    return sorted(row.word for row in words.collect() if row.word)


# ---------------------------------------------------------------------------------------------
# Lemmas (driver, distinct words only)
# ---------------------------------------------------------------------------------------------


def verb_lemma(word: str) -> str | None:
    """The verb lemma of one cleaned word, or None when the word cannot be the verb."""
    from lemminflect import getAllLemmas, getLemma

    word = word.lower()
    if not word or word in NOT_A_VERB:
        return None
    readings = getAllLemmas(word)
    if "VERB" not in readings and (readings or not word.isalpha()):
        return None
    lemmas = getLemma(word, upos="VERB")
    return lemmas[0] if lemmas else None


def verb_lemmas(words: Iterable[str]) -> dict[str, str]:
    """word -> verb lemma for the words that can be a verb."""
    mapping = {}
    for word in words:
        lemma = verb_lemma(word)
        if lemma:
            mapping[word] = lemma
    return mapping


def lemma_map(spark: SparkSession, mapping: dict[str, str]) -> DataFrame:
    """One row holding the whole mapping as a map column `lemmas` (broadcast to every task)."""
    pairs = spark.createDataFrame(sorted(mapping.items()), "word string, lemma string")
    return pairs.agg(
        F.coalesce(
            F.map_from_entries(F.collect_list(F.struct("word", "lemma"))),
            F.create_map().cast("map<string,string>"),
        ).alias("lemmas")
    )


# ---------------------------------------------------------------------------------------------
# Verb and object (Spark)
# ---------------------------------------------------------------------------------------------


def with_verb_and_object(
    actions: DataFrame, lemmas: DataFrame, column: str = "action_brief"
) -> DataFrame:
    """Add `verb` and `object` to actions; lemmas is `lemma_map`'s one-row frame."""
    toks = F.slice(tokens(F.col(column)), 1, MAX_WORDS)
    words = F.transform(
        toks,
        lambda t: F.struct(clean_word(t).alias("w"), t.rlike(PUNCT_AFTER).alias("p")),
    )
    with_words = actions.crossJoin(F.broadcast(lemmas)).withColumn("_words", words)
    window = F.transform(
        F.slice(F.col("_words"), 1, VERB_WINDOW),
        lambda x: F.try_element_at(F.col("lemmas"), x["w"]),
    )
    verb_at = F.array_position(F.transform(window, lambda lemma: lemma.isNotNull()), True)
    with_verb = with_words.withColumn("_verb_at", verb_at.cast("int")).withColumn(
        "verb", F.when(F.col("_verb_at") > 0, F.try_element_at(window, F.col("_verb_at")))
    )
    return with_verb.withColumn("object", _object(F.col("_words"), F.col("_verb_at"))).drop(
        "lemmas", "_words", "_verb_at"
    )


def parse_actions(
    spark: SparkSession, actions: DataFrame, column: str = "action_brief"
) -> DataFrame:
    """Add `verb` and `object` to actions, parsing each distinct brief once and joining back
    (a brief's verb and object depend on its text alone)."""
    briefs = actions.select(column).distinct()
    lemmas = lemma_map(spark, verb_lemmas(distinct_leading_words(briefs, column)))
    parsed = with_verb_and_object(briefs, lemmas, column)
    return actions.join(parsed, column, "left")


def _in(word: Column, words: frozenset[str]) -> Column:
    return word.isin(*sorted(words))


def _object(words: Column, verb_at: Column) -> Column:
    n = F.lit(MAX_WORDS)
    tail = F.slice(words, F.greatest(verb_at, F.lit(1)) + 1, n)
    start = F.array_position(
        F.transform(tail, lambda x: ~(_in(x["w"], OBJECT_SKIP) | (x["w"] == ""))), True
    ).cast("int")
    first_punct = F.array_position(F.transform(tail, lambda x: x["p"]), True).cast("int")
    phrase = F.slice(tail, F.greatest(start, F.lit(1)), n)
    end_word = F.array_position(
        F.transform(phrase, lambda x, i: (i > 0) & _in(x["w"], PHRASE_END)), True
    ).cast("int")
    end_punct = F.array_position(F.transform(phrase, lambda x: x["p"]), True).cast("int")
    length = F.least(
        F.when(end_word > 0, end_word - 1).otherwise(F.size(phrase)),
        F.when(end_punct > 0, end_punct).otherwise(F.size(phrase)),
    )
    verb_has_punct = F.try_element_at(words, F.greatest(verb_at, F.lit(1)))["p"]
    found = (
        (verb_at > 0)
        & ~verb_has_punct
        & (start > 0)
        & ((first_punct == 0) | (first_punct >= start))
        & ~_in(F.try_element_at(phrase, F.lit(1))["w"], NO_OBJECT)
        & (length > 0)
    )
    return F.when(found, F.try_element_at(phrase, F.greatest(length, F.lit(1)))["w"])
