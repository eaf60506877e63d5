"""`python -m benchmarks --fixed`: what each command costs whatever its data, from process start
to exit, with its parts; optionally beside an earlier commit of this repository, in the same run.

Cases, each an `a100m` process of its own: `--help`; `snapshot`; `explode`, `validate` and
`stats` with nothing new, on a lake of --lake-videos generated videos; a night of --night-videos
new videos on a copy of that lake (`a100m run`); the README demo (`a100m run` on 300 generated
videos into an empty lake). The parts come from the command itself (A100M_TIMINGS,
pipelines/core/timings.py): interpreter and imports before main, JVM and session (JAR resolution
is the session with an empty JAR cache against a warm one, case `explode_noop_cold_jars`),
journal and lease, the Great Expectations context, table writes; `stage` is the rest of main,
`exit` what follows main (JVM shutdown).

With --baseline REV, the same cases run against that commit (a `git worktree` under the work
folder, its lake built by its own code), so both columns come from one run on one machine. The
earlier commit has no timings of its own: its column is wall time only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SPARK_FLAGS = ["--spark-conf", "spark.ui.showConsoleProgress=false"]
PARTS = ("before_main", "session", "journal_and_lease", "gx_context", "table_writes")


def _a100m(source: Path, args: list[str], work: Path, env: dict[str, str] | None = None) -> dict:
    """Run `python -m pipelines ARGS` from source; wall seconds, exit code and its timings."""
    timings = Path(tempfile.mkstemp(dir=work, suffix=".json")[1])
    environment = {
        **os.environ,
        "PYTHONPATH": str(source),
        "PYSPARK_PYTHON": sys.executable,
        "A100M_TIMINGS": str(timings),
        **(env or {}),
    }
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pipelines", *args],
        cwd=work,
        env=environment,
        capture_output=True,
        text=True,
    )
    wall = time.monotonic() - started
    if done.returncode not in (0, 1, 3):
        raise RuntimeError(
            f"a100m {' '.join(args)} exited {done.returncode}:\n{done.stderr[-3000:]}"
        )
    result: dict[str, Any] = {"wall": round(wall, 2), "code": done.returncode}
    try:
        measured = json.loads(timings.read_text() or "{}")
    except (OSError, ValueError):
        measured = {}
    timings.unlink(missing_ok=True)
    if measured:
        parts = {name: measured["parts"].get(name, 0.0) for name in PARTS[1:]}
        parts["journal_and_lease"] = measured.get("journal_and_lease", 0.0)
        inside = sum(parts.values())
        result["parts"] = {
            "before_main": round(measured.get("before_main") or 0.0, 2),
            **{k: round(v, 2) for k, v in parts.items()},
            "stage": round(max(0.0, measured["main"] - inside), 2),
            "exit": round(
                max(0.0, wall - measured["main"] - (measured.get("before_main") or 0.0)), 2
            ),
        }
        result["commits"] = measured.get("counts", {}).get("table_writes", 0)
    return result


def _cases(source: Path, work: Path, lake_raw: Path, night_raw: Path, demo_raw: Path) -> dict:
    """Every case against one source tree; returns case -> result."""
    lake, report = work / "lake", work / "report"
    for stale in (lake, report, work / "night-lake", work / "night-report", work / "demo"):
        shutil.rmtree(stale, ignore_errors=True)
    results: dict[str, Any] = {}
    print(f"  building the {lake_raw.name} lake with {source} ...", flush=True)
    results["build_lake"] = _a100m(
        source, ["run", "--input", str(lake_raw), "--lake", str(lake), "--report", str(report),
                 *SPARK_FLAGS], work)  # fmt: skip
    shutil.copytree(lake, work / "night-lake")
    cases = {
        "help": ["--help"],
        "snapshot": ["snapshot", "--lake", str(lake)],
        "explode_noop": ["explode", "--input", str(lake_raw), "--lake", str(lake), *SPARK_FLAGS],
        "validate_noop": ["validate", "--lake", str(lake), "--report", str(report), *SPARK_FLAGS],
        "stats_noop": ["stats", "--lake", str(lake), "--out", str(report / "stats"), *SPARK_FLAGS],
        "night": ["run", "--input", str(night_raw), "--lake", str(work / "night-lake"),
                  "--report", str(work / "night-report"), *SPARK_FLAGS],
        "demo": ["run", "--input", str(demo_raw), "--lake", str(work / "demo" / "lake"),
                 "--report", str(work / "demo" / "report"), *SPARK_FLAGS],
    }  # fmt: skip
    for name, args in cases.items():
        results[name] = _a100m(source, args, work)
        print(f"  {name:<24} {results[name]['wall']:7.1f} s  {results[name].get('parts', '')}")
    # JAR resolution: the same no-op explode with an empty JAR cache (Ivy resolves again)
    empty_cache = work / "empty-cache"
    shutil.rmtree(empty_cache, ignore_errors=True)
    results["explode_noop_cold_jars"] = _a100m(
        source, cases["explode_noop"], work, env={"XDG_CACHE_HOME": str(empty_cache)}
    )
    print(f"  {'explode_noop_cold_jars':<24} {results['explode_noop_cold_jars']['wall']:7.1f} s")
    return results


def _checkout(rev: str, work: Path) -> Path:
    """A worktree of this repository at rev (the earlier code the arm compares with)."""
    target = work / f"baseline-{rev}"
    if not (target / "pipelines").is_dir():
        shutil.rmtree(target, ignore_errors=True)
        subprocess.run(["git", "-C", str(ROOT), "worktree", "prune"], check=True)
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(target), rev], check=True
        )
    return target


def run_fixed(
    work: Path, lake_videos: int, night_videos: int, baseline: str | None, seed: int = 0
) -> dict[str, Any]:
    from pipelines.synth import generate

    work = work.resolve()
    corpus = work / "fixed-corpus"
    raws = {
        "lake": (corpus / f"lake-{lake_videos}", lake_videos, seed, 4),
        "night": (corpus / f"night-{night_videos}", night_videos, seed + 1, 1),
        "demo": (corpus / "demo-300", 300, 7, 3),  # README's demo corpus
    }
    for folder, videos, corpus_seed, shards in raws.values():
        if not (folder / "manifest.json").exists():
            generate(folder, videos=videos, seed=corpus_seed, shards=shards)
    arms = {"this": ROOT}
    if baseline:
        arms[f"baseline {baseline}"] = _checkout(baseline, work)
    results: dict[str, Any] = {"lake_videos": lake_videos, "night_videos": night_videos}
    for arm, source in arms.items():
        arm_work = work / f"fixed-{arm.replace(' ', '-')}"
        arm_work.mkdir(parents=True, exist_ok=True)
        print(f"fixed-cost arm: {arm} ({source})", flush=True)
        results[arm] = _cases(source, arm_work, raws["lake"][0], raws["night"][0], raws["demo"][0])
    return results


def print_fixed(results: dict[str, Any]) -> None:
    arms = [k for k in results if isinstance(results[k], dict)]
    cases = [c for c in results[arms[0]] if c != "build_lake"]
    print(f"{'case':<24}" + "".join(f"{arm:>22}" for arm in arms))
    for case in cases:
        print(f"{case:<24}" + "".join(f"{results[a][case]['wall']:>20.1f} s" for a in arms))
