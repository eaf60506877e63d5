"""`a100m resample`: the paper's recipe against a few actions swamping the rest. Embed the
distinct brief actions (only the distinct ones), cluster them with MLlib k-means, and give every
segment with an action a cluster and a sampling weight: uniform over clusters, then over the
cluster's members (its distinct actions), then over the copies of the action, summing to 1.

The embedder trained in Spark on the corpus itself: MLlib Word2Vec over the words of the distinct
actions, a text's vector the mean of its words' (what Word2VecModel.transform computes). Nothing
is downloaded. The output is a folder outside the lake (a Delta table `weights` and a
manifest.json with the lake's versions), like `a100m select`; `a100m select --resampled DIR
--sample N` then draws N segments by those weights (docs/trainset.md).
"""

from __future__ import annotations

import time

from pyspark.ml.clustering import KMeans
from pyspark.ml.feature import RegexTokenizer, Word2Vec
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from pipelines.core.lake import read_table, table_path
from pipelines.trainset.options import Query, SelectionError
from pipelines.trainset.output import check_output, staged_output, write_manifest
from pipelines.trainset.select import NA, normalised, read_snapshot

WEIGHTS = "weights"
TOP = 10


def actions(spark: SparkSession, lake: str, versions: dict[str, int]) -> DataFrame:
    """Every segment with a real brief action, and the action as compared (normalised)."""
    nodes = read_table(spark, lake, "nodes", versions["nodes"])
    return (
        nodes.where(F.col("action_brief").isNotNull() & (F.col("action_brief") != NA))
        .select("video_uid", "node_id", "action_brief")
        .withColumn("action", normalised(F.col("action_brief")))
        .where(F.col("action") != "")
    )


def cluster_actions(distinct: DataFrame, k: int, seed: int, vector_size: int) -> DataFrame:
    """(action, cluster) for each distinct action: Word2Vec means, then k-means."""
    words = RegexTokenizer(inputCol="action", outputCol="words", pattern=r"[^\p{L}\p{N}']+")
    tokens = words.transform(distinct).where(F.size("words") > 0)
    w2v = Word2Vec(
        vectorSize=vector_size, minCount=1, seed=seed, inputCol="words", outputCol="vector"
    )
    vectors = w2v.fit(tokens).transform(tokens).cache()
    kmeans = KMeans(k=k, seed=seed, featuresCol="vector", predictionCol="cluster")
    clustered = kmeans.fit(vectors).transform(vectors).select("action", "cluster")
    return clustered


def weighted(segments: DataFrame, clusters: DataFrame) -> DataFrame:
    """Each segment's cluster and weight: uniform over the non-empty clusters, then over the
    cluster's distinct actions, then over that action's copies, so weight = 1 / (clusters *
    actions in its cluster * copies of its action); the weights sum to 1."""
    joined = segments.join(clusters, "action")
    copies = joined.groupBy("action").agg(F.count("*").alias("copies"))
    actions = clusters.groupBy("cluster").agg(F.count("*").alias("actions"))
    used = actions.count()
    return (
        joined.join(copies, "action")
        .join(actions, "cluster")
        .withColumn(
            "weight", F.lit(1.0) / (F.lit(float(used)) * F.col("actions") * F.col("copies"))
        )
    )


def top_share(frame: DataFrame, weight: Column, top: list[str]) -> float:
    """The share (by weight) of the segments whose action is one of top."""
    row = frame.agg(
        F.sum(F.when(F.col("action").isin(top), weight).otherwise(0.0)).alias("part"),
        F.sum(weight).alias("whole"),
    ).first()
    return float(row["part"] or 0.0) / float(row["whole"] or 1.0)


def resample(
    spark: SparkSession,
    lake: str,
    out: str,
    k: int,
    seed: int = 0,
    vector_size: int = 32,
    overwrite: bool = False,
) -> tuple[dict, float]:
    """Write OUT/weights (Delta) and OUT/manifest.json; returns (manifest, seconds)."""
    started = time.monotonic()
    if k < 2:
        raise SelectionError.about("k", "give at least 2 clusters", k)
    target = check_output(out, lake, overwrite)
    versions = read_snapshot(spark, lake, Query())
    segments = actions(spark, lake, versions)
    # one partition in action order: Word2Vec and k-means see the same input however the lake's
    # files happen to order their rows, so the clusters depend on the actions alone
    distinct = segments.select("action").distinct().repartition(1).sortWithinPartitions("action")
    n_distinct = distinct.count()
    if n_distinct < k:
        raise SelectionError.about(
            "k", "the lake has only {n} distinct brief actions", k, n=n_distinct
        )
    clusters = cluster_actions(distinct, k, seed, vector_size)
    with staged_output(target) as stage:
        path = str(stage / WEIGHTS)
        weighted(segments, clusters).select(
            "video_uid",
            "node_id",
            "action_brief",
            "action",
            "cluster",
            "actions",
            "copies",
            "weight",
        ).write.format("delta").save(path)
        table = spark.read.format("delta").load(path)
        top = [
            r["action"]
            for r in table.groupBy("action")
            .count()
            .orderBy(F.desc("count"), "action")
            .limit(TOP)
            .collect()
        ]
        sizes = table.groupBy("cluster").agg(
            F.count("*").alias("segments"), F.countDistinct("action").alias("actions")
        )
        biggest = [
            {"cluster": r["cluster"], "segments": r["segments"], "actions": r["actions"]}
            for r in sizes.orderBy(F.desc("segments"), "cluster").limit(TOP).collect()
        ]
        for entry in biggest:
            entry["top_actions"] = [
                r["action"]
                for r in table.where(F.col("cluster") == entry["cluster"])
                .groupBy("action")
                .count()
                .orderBy(F.desc("count"), "action")
                .limit(3)
                .collect()
            ]
        stats = sizes.agg(
            F.count("*").alias("clusters"),
            F.sum("segments").alias("segments"),
            F.min("segments").alias("smallest"),
            F.max("segments").alias("largest"),
        ).first()
        manifest = {
            "command": "resample",
            "lake": table_path(lake, "").rstrip("/"),
            "versions": versions,
            "embedder": f"word2vec (MLlib, vector size {vector_size}, trained on the actions)",
            "k": k,
            "seed": seed,
            "distinct_actions": n_distinct,
            "counts": {
                "segments": int(stats["segments"] or 0),
                "clusters": int(stats["clusters"] or 0),
                "smallest_cluster": int(stats["smallest"] or 0),
                "largest_cluster": int(stats["largest"] or 0),
            },
            "top_actions": top,
            "top_share_corpus": top_share(table, F.lit(1.0), top),
            "top_share_resampled": top_share(table, F.col("weight"), top),
            "largest_clusters": biggest,
        }
        write_manifest(stage, manifest)
    return manifest, time.monotonic() - started


def resample_summary(manifest: dict, out: str, seconds: float) -> str:
    c = manifest["counts"]
    lines = [
        f"resample of lake {manifest['lake']} (nodes v{manifest['versions']['nodes']}) in "
        f"{seconds:.1f} s: {manifest['distinct_actions']:,} distinct actions, "
        f"{c['segments']:,} segments in {c['clusters']} clusters "
        f"(sizes {c['smallest_cluster']:,} to {c['largest_cluster']:,})",
        f"  top-{TOP} actions' share: corpus {manifest['top_share_corpus']:.1%}, resampled "
        f"{manifest['top_share_resampled']:.1%}",
    ]
    for entry in manifest["largest_clusters"][:5]:
        lines.append(
            f"  cluster {entry['cluster']:>4}: {entry['segments']:>7,} segments, "
            f"{entry['actions']:,} actions, e.g. {', '.join(entry['top_actions'])}"
        )
    lines.append(f"  wrote {out} (weights: Delta, manifest.json beside it)")
    return "\n".join(lines)
