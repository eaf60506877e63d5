"""Where a command's wall time goes, for the benchmark's fixed-cost arm (benchmarks/fixed.py).

Off unless A100M_TIMINGS names a file: then the CLI writes there, at exit, the seconds of each
part (interpreter and imports before main, JVM and session, journal and lease, the Great
Expectations context, table writes) and of the whole command.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TIMINGS_VARIABLE = "A100M_TIMINGS"

_seconds: dict[str, float] = defaultdict(float)
_counts: dict[str, int] = defaultdict(int)


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Add the block's wall time to the part `name`."""
    started = time.monotonic()
    try:
        yield
    finally:
        _seconds[name] += time.monotonic() - started
        _counts[name] += 1


def record(name: str, seconds: float) -> None:
    _seconds[name] += seconds
    _counts[name] += 1


def process_age() -> float | None:
    """Seconds since this process started (Linux /proc), or None where the system does not say."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, IndexError, ValueError):
        return None
    return max(0.0, uptime - ticks / os.sysconf("SC_CLK_TCK"))


def dump_if_asked(extra: dict[str, float | None]) -> None:
    target = os.environ.get(TIMINGS_VARIABLE)
    if not target:
        return
    parts = {name: round(seconds, 3) for name, seconds in _seconds.items()}
    document = {"parts": parts, "counts": dict(_counts), **extra}
    Path(target).write_text(json.dumps(document, indent=2, sort_keys=True))
