"""`python -m benchmarks.trainset --videos N`: what building a training set costs, and whether the
driver's memory stays flat as the corpus grows.

Builds (or reuses, from the work folder) a lake of N generated videos (the harness's corpus,
one explode), then in one warm local SparkSession (every step first run on a 3-video lake, so
JVM start, JIT and imports are not charged) times: `select` with a realistic filter and
`--split train=0.8,val=0.1,test=0.1`; `export` of that selection in every format; `resample`
(the default Word2Vec embedder, k = N / 10 unless given), a second `resample` with the same seed
(its weights must be identical), and `select --resampled --sample M`. For each step it records
seconds, the driver JVM's peak resident memory (the kernel's high-water mark, reset before the
step), the JVM heap's peak use, the Python driver's peak (where the single-document formats are
streamed) and the output's size; plus the split fractions and the top-10 actions' share of the
corpus, of the resampled distribution and of the drawn sample. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    PeakMemory,
    benchmark_session,
    ensure_corpus,
    high_water_mark,
    machine,
)

SPLIT = "train=0.8,val=0.1,test=0.1"
# The README's demo selection: internal nodes of 4 s or more with a real brief action, one per
# normalised action per video.
FILTER = "--internal --min-duration 4 --exclude-na --dedup video"
SEED = 1


def _query():
    """The selection measured: FILTER and SPLIT."""
    from pipelines.trainset.options import Query, parse_split

    return Query(
        leaves=False, min_duration=4.0, exclude_na=True, dedup="video", split=parse_split(SPLIT)
    )


def _draw(sample: int, resampled: str):
    """`select --exclude-na --resampled DIR --sample N --seed SEED --split SPLIT`."""
    from pipelines.trainset.options import Query, parse_split

    return Query(
        exclude_na=True, split=parse_split(SPLIT), sample=sample, seed=SEED, resampled=resampled
    )


def _reset_peaks(spark) -> None:
    """Collect the JVM's garbage, then reset every high-water mark the step is measured by."""
    import psutil

    jvm = spark._jvm
    jvm.java.lang.System.gc()
    for pool in jvm.java.lang.management.ManagementFactory.getMemoryPoolMXBeans():
        pool.resetPeakUsage()
    pids = [os.getpid()] + [c.pid for c in psutil.Process().children(recursive=True)]
    for pid in pids:
        try:  # "5": reset the peak resident set size (VmHWM) to the current one (Linux)
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        except OSError:
            pass


def _heap_peak_mb(spark) -> int:
    """Sum of the peak use of the JVM's heap pools since the last reset, in MiB."""
    jvm = spark._jvm
    heap = jvm.java.lang.management.MemoryType.HEAP
    pools = jvm.java.lang.management.ManagementFactory.getMemoryPoolMXBeans()
    used = sum(p.getPeakUsage().getUsed() for p in pools if p.getType().equals(heap))
    return round(used / 2**20)


def _folder_mb(folder: Path) -> float:
    return round(sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20, 1)


def _step(spark, results: dict[str, dict[str, Any]], name: str, action, out: Path | None) -> Any:
    """Run one step, recording its time and the driver's peak memory."""
    _reset_peaks(spark)
    started = time.monotonic()
    with PeakMemory() as memory:
        value = action()
    results[name] = {
        "seconds": round(time.monotonic() - started, 1),
        "driver_jvm_peak_mb": round(memory.driver / 2**20),
        "jvm_heap_peak_mb": _heap_peak_mb(spark),
        "python_driver_peak_mb": round((high_water_mark(os.getpid()) or 0) / 2**20),
        "output_mb": _folder_mb(out) if out is not None and out.exists() else None,
    }
    r = results[name]
    print(f"  {name:<26}{r['seconds']:8.1f} s  JVM {r['driver_jvm_peak_mb']:>5} MiB  heap "
          f"{r['jvm_heap_peak_mb']:>5} MiB  Python {r['python_driver_peak_mb']:>4} MiB", flush=True)  # fmt: skip
    return value


def _weights_fingerprint(spark, folder: Path) -> tuple[int, int]:
    """Row count and an order-free hash of every segment's cluster and weight."""
    from pyspark.sql import functions as F

    table = spark.read.format("delta").load(str(folder / "weights"))
    row = table.select(
        F.count(F.lit(1)).alias("n"),
        F.sum(F.xxhash64("video_uid", "node_id", "cluster", "weight").cast("decimal(38,0)")).alias(
            "h"
        ),
    ).first()
    return int(row["n"]), int(row["h"] or 0)


def _drawn_top_share(spark, folder: Path, top: list[str]) -> float:
    """The share of the drawn segments whose normalised brief action is one of top."""
    from pyspark.sql import functions as F

    from pipelines.trainset.select import normalised

    drawn = spark.read.parquet(str(folder / "segments"))
    row = drawn.agg(
        F.sum(normalised(F.col("action_brief")).isin(top).cast("long")).alias("top"),
        F.count(F.lit(1)).alias("n"),
    ).first()
    return int(row["top"] or 0) / max(1, int(row["n"]))


def _steps(spark, lake: str, out: Path, k: int, draw: int, check: bool) -> dict[str, Any]:
    """Every measured step on one lake; returns the step results and the figures."""
    from pipelines.trainset.options import FORMATS
    from pipelines.trainset.resample import resample
    from pipelines.trainset.stage import export, select

    steps: dict[str, dict[str, Any]] = {}
    sel = out / "selection"
    chosen = _step(
        spark, steps, "select", lambda: select(spark, lake, _query(), str(sel), overwrite=True), sel
    )
    for fmt in FORMATS:
        target = out / f"export-{fmt}"
        done = _step(
            spark,
            steps,
            f"export {fmt}",
            lambda fmt=fmt, target=target: export(
                spark, fmt, str(target), selection=str(sel), overwrite=True
            ),
            target,
        )
        counts = done.manifest["counts"]
        steps[f"export {fmt}"]["items"] = f"{counts[counts['unit']]:,} {counts['unit']}"
    clusters = out / "resample"
    manifest, _ = _step(
        spark,
        steps,
        f"resample --k {k}",
        lambda: resample(spark, lake, str(clusters), k, seed=SEED, overwrite=True),
        clusters,
    )
    deterministic = None
    if check:
        again = out / "resample-again"
        _step(
            spark,
            steps,
            "resample again, same seed",
            lambda: resample(spark, lake, str(again), k, seed=SEED, overwrite=True),
            again,
        )
        deterministic = _weights_fingerprint(spark, clusters) == _weights_fingerprint(spark, again)
    drawn = out / "resampled-selection"
    _step(
        spark,
        steps,
        f"select --resampled {draw:,}",
        lambda: select(spark, lake, _draw(draw, str(clusters)), str(drawn), overwrite=True),
        drawn,
    )
    counts = chosen.manifest["counts"]
    videos = max(1, counts["videos"])
    return {
        "steps": steps,
        "selection": {
            "segments": counts["segments"],
            "videos": counts["videos"],
            "split_video_fractions": {
                s: round(c["videos"] / videos, 4) for s, c in counts["splits"].items()
            },
            "split_segment_fractions": {
                s: round(c["segments"] / max(1, counts["segments"]), 4)
                for s, c in counts["splits"].items()
            },
        },
        "resample": {
            "k": k,
            "distinct_actions": manifest["distinct_actions"],
            "segments": manifest["counts"]["segments"],
            "cluster_sizes": [
                manifest["counts"]["smallest_cluster"],
                manifest["counts"]["largest_cluster"],
            ],
            "top_actions": manifest["top_actions"],
            "top10_share_corpus": round(manifest["top_share_corpus"], 5),
            "top10_share_resampled": round(manifest["top_share_resampled"], 5),
            "top10_share_drawn": round(_drawn_top_share(spark, drawn, manifest["top_actions"]), 5),
            "drawn": draw,
            "deterministic_for_seed": deterministic,
        },
    }


def _lake(spark, work: Path, videos: int, seed: int, shards: int) -> tuple[str, float | None]:
    """A lake of the harness's corpus of N videos, one explode; reused when already built."""
    from pipelines.ingest.stage import explode

    raw = ensure_corpus(work, videos, seed, shards)
    lake = work / "trainset" / f"lake-{videos}-{seed}"
    if (lake / "_ready").exists():
        return str(lake), None
    shutil.rmtree(lake, ignore_errors=True)
    started = time.monotonic()
    explode(spark, [str(raw)], str(lake))
    (lake / "_ready").write_text("")
    return str(lake), round(time.monotonic() - started, 1)


def measure(
    videos: int,
    seed: int,
    work: Path,
    shards: int,
    k: int,
    check: bool,
    driver_memory: str | None = None,
) -> dict:
    """The whole benchmark at one size."""
    from pipelines.ingest.stage import explode
    from pipelines.synth import generate

    spark = benchmark_session(driver_memory)
    warm = work / "trainset" / "warm"
    if not (warm / "lake" / "_ready").exists():
        shutil.rmtree(warm, ignore_errors=True)
        generate(warm / "raw", videos=3, seed=1)
        explode(spark, [str(warm / "raw")], str(warm / "lake"))
        (warm / "lake" / "_ready").write_text("")
    print("warm-up on 3 videos:", flush=True)
    _steps(spark, str(warm / "lake"), warm / "out", 2, 50, check)
    started = time.monotonic()
    lake, explode_seconds = _lake(spark, work, videos, seed, shards)
    nodes = spark.read.format("delta").load(f"{lake}/nodes").count()
    built = "reused" if explode_seconds is None else f"exploded in {explode_seconds} s"
    print(f"{videos:,} videos, {nodes:,} nodes in {lake} ({built}):", flush=True)
    figures = _steps(spark, lake, work / "trainset" / f"out-{videos}", k, videos * 10, check)
    return {
        "videos": videos,
        "nodes": nodes,
        "seed": seed,
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": machine(),
        "command": f"python -m benchmarks.trainset --videos {videos}",
        "filter": f"{FILTER} --split {SPLIT}",
        "driver_memory": driver_memory or "from conf/local.yaml",
        "explode_seconds": explode_seconds,
        "measured_seconds": round(time.monotonic() - started, 1),
        **figures,
    }


def report(result: dict[str, Any]) -> str:
    """The result as a table and a few lines."""
    sel, res = result["selection"], result["resample"]
    lines = [
        f"{result['videos']:,} videos ({result['nodes']:,} nodes); selection `{result['filter']}`:"
        f" {sel['segments']:,} segments of {sel['videos']:,} videos",
        f"  {'step':<28}{'s':>8}{'JVM peak MiB':>14}{'heap peak MiB':>15}{'Python MiB':>12}"
        f"{'output MB':>11}  items",
    ]
    for name, s in result["steps"].items():
        size = "" if s["output_mb"] is None else f"{s['output_mb']:.1f}"
        lines.append(
            f"  {name:<28}{s['seconds']:>8.1f}{s['driver_jvm_peak_mb']:>14}"
            f"{s['jvm_heap_peak_mb']:>15}{s['python_driver_peak_mb']:>12}{size:>11}"
            f"  {s.get('items', '')}"
        )
    fractions = ", ".join(f"{k} {v:.2%}" for k, v in sel["split_video_fractions"].items())
    lines += [
        f"  split fractions of the videos: {fractions}",
        f"  resample: {res['distinct_actions']:,} distinct actions, {res['segments']:,} segments,"
        f" k = {res['k']}, clusters of {res['cluster_sizes'][0]:,} to"
        f" {res['cluster_sizes'][1]:,} segments; deterministic for a seed:"
        f" {res['deterministic_for_seed']}",
        f"  top-10 actions' share: corpus {res['top10_share_corpus']:.2%}, resampled"
        f" {res['top10_share_resampled']:.2%}, the {res['drawn']:,} segments drawn"
        f" {res['top10_share_drawn']:.2%}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.trainset", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--videos", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0, help="the corpus's seed")
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--k", type=int, help="k-means clusters (default: videos / 10, >= 10)")
    parser.add_argument(
        "--no-repeat", action="store_true", help="skip the second resample (determinism check)"
    )
    parser.add_argument(
        "--driver-memory", help="spark.driver.memory of the session (default: conf/local.yaml)"
    )
    parser.add_argument("--work", default="benchmarks/out", help="working folder (corpus reused)")
    parser.add_argument("--out", help="JSON file (default: <work>/trainset/trainset-N.json)")
    args = parser.parse_args(argv)
    work = Path(args.work)
    k = args.k or max(10, args.videos // 10)
    result = measure(
        args.videos, args.seed, work, args.shards, k, not args.no_repeat, args.driver_memory
    )
    print(report(result))
    out = Path(args.out or work / "trainset" / f"trainset-{args.videos}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
