"""One writer at a time: the lake's lease, taken and kept by steps of the run journal.

Every commit to `_runs` is one numbered step of the lease (core/journal.py). A run that finds the
lake free (or its holder's lease expired) commits the next step naming itself as holder; when two
runs race, both commits land (the Delta log gives each its own version, put-if-absent: on a local
disk, HDFS, GCS and ADLS, and on S3 only with object_store_commits, which hold_lake requires there;
core/objectstore.py, docs/storage.md), but only the first commit of a step counts: the run whose
commit came second reads the journal back, sees another run's step, and backs off, naming it.
Every later step is checked the same way, so a holder that lost the lease (it stalled past its
expiry and another run took over) finds out before its next commit and commits nothing more.

The holder renews the lease from a background thread, every third of its duration (120 s, or
A100M_LEASE_SECONDS). A holder that stops renewing (killed, its machine gone) loses the lease when
it expires; the next run takes it over, logs the takeover naming the dead holder, and rolls back
the stages the dead run left open. A holder on this host whose process is gone (no such pid, or
the pid now belongs to a process started at another time) is dead for certain: the next run takes
over at once, without waiting for the expiry. An expired lease whose holder still runs on this
host (a renewal late because its one-task job waited for a task slot) is not taken over: two
writers would follow. A holder on another host is judged by its lease alone.
Within a process the lease is re-entrant: `run` holds it once.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from pyspark.sql import SparkSession

from pipelines.core.errors import LakeBusyError
from pipelines.core.journal import (
    ACQUIRED,
    COMMITTED,
    LEASE_STAGE,
    NO_TABLE,
    RELEASED,
    RENEWED,
    ROLLED_BACK,
    STARTED,
    LakeState,
    append_row,
    read_state,
    recovery_line,
    roll_back_tables,
    utc_now,
)
from pipelines.core.lake import check_lake_root, table_path
from pipelines.core.objectstore import require_safe_commits

log = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 120.0
RENEWER_THREAD = "a100m-lease"
MAX_WAIT_POLL_SECONDS = 10.0


@dataclass
class ProtocolClock:
    """Time this process spent on the lease and the journal (the benchmark reports it):
    `seconds` on the run's own thread, which the run waits for; `background_seconds` renewing
    the lease on its own thread while the run works, which it does not wait for."""

    seconds: float = 0.0
    background_seconds: float = 0.0
    steps: int = 0

    @contextmanager
    def timing(self, step: bool = False) -> Iterator[None]:
        started = time.monotonic()
        background = threading.current_thread().name == RENEWER_THREAD
        try:
            yield
        finally:
            elapsed = time.monotonic() - started
            if background:
                self.background_seconds += elapsed
            else:
                self.seconds += elapsed
            self.steps += int(step)


PROTOCOL_CLOCK = ProtocolClock()


def is_conflict(exc: BaseException) -> bool:
    """A Delta commit that lost a race to another writer."""
    seen: BaseException | None = exc
    while seen is not None:
        text = f"{type(seen).__name__} {seen}"
        if any(
            marker in text
            for marker in (
                "Concurrent",
                "ProtocolChanged",
                "DELTA_CONCURRENT",
                "FileAlreadyExists",
                "already exists",
            )
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class LeaseLost(LakeBusyError):
    """Another run committed the step this run meant to commit: the lake is not ours."""


class Lease:
    """The lease one run holds on one lake, and the journal rows it commits while holding it."""

    def __init__(self, spark: SparkSession, lake: str, run_id: str, command: str, seconds: float):
        self.spark = spark
        self.lake = lake
        self.run_id = run_id
        self.command = command
        self.seconds = seconds
        self.state: LakeState | None = None
        self.took_over: LakeState | None = None
        self.recovered: list[str] = []
        # the `by` of each step whose commit returned: what this writer believes landed
        self.written: list[str] = []
        self.lost = threading.Event()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    # -- one step ----------------------------------------------------------------------------

    def _step(
        self, base: LakeState, row_state: str, stage: str, run_id: str, **row: Any
    ) -> LakeState:
        """Commit the next step from base; return the new state, or raise LeaseLost."""
        with PROTOCOL_CLOCK.timing(step=True):
            return self._commit_step(base, row_state, stage, run_id, **row)

    def _commit_step(
        self, base: LakeState, row_state: str, stage: str, run_id: str, **row: Any
    ) -> LakeState:
        expires = utc_now() + timedelta(seconds=self.seconds)
        step = replace(base, epoch=base.epoch + 1, by=f"{self.run_id}#{base.epoch + 1}")
        if row_state != RELEASED:
            step = replace(step, expires=expires.isoformat())
        try:
            append_row(self.spark, self.lake, step, run_id, stage, row_state, **row)
        except Exception as exc:
            if not is_conflict(exc):
                raise
            raise LeaseLost(self._busy_line(read_state(self.spark, self.lake))) from exc
        self.written.append(str(step.by))
        landed = read_state(self.spark, self.lake)
        if landed is None or landed.by != step.by:
            raise LeaseLost(self._busy_line(landed))
        return step

    def _busy_line(self, other: LakeState | None, expired_but_alive: bool = False) -> str:
        if other is None or other.holder is None:
            return f"lake {self.lake} is busy: another run changed it at the same moment; retry"
        until = other.expires_at
        if expired_but_alive:
            return (
                f"lake {self.lake} is busy: {other.describe()} holds it; its lease expired at "
                f"{until:%H:%M:%S} UTC but the process is alive (a late renewal): retry later, "
                "wait for it, or stop that process"
            )
        return (
            f"lake {self.lake} is busy: {other.describe()} holds it (lease until "
            f"{until:%H:%M:%S} UTC); retry later or wait for it"
        )

    # -- taking, renewing, giving back -------------------------------------------------------

    def try_acquire(self, attempts: int = 3) -> str | None:
        """Take the lease if free or expired; None when taken, else the line naming the holder.
        A race lost to a run that does not show as holder yet (two runs creating the journal at
        once) is tried again, so that the line can name the winner."""
        for attempt in range(attempts):
            busy, holder_named = self._try_acquire_once()
            if busy is None or holder_named or attempt == attempts - 1:
                return busy
            time.sleep(0.5)
        return busy

    def _try_acquire_once(self) -> tuple[str | None, bool]:
        now = utc_now()
        with PROTOCOL_CLOCK.timing():
            current = read_state(self.spark, self.lake) or LakeState()
        dead_here = current.holder not in (None, self.run_id) and _gone_from_this_host(current)
        if current.held_by_other(self.run_id, now) and not dead_here:
            return self._busy_line(current), True
        if (
            current.holder not in (None, self.run_id)
            and not dead_here
            and _alive_on_this_host(current)
        ):
            # Expired, but its process still runs here: a late renewal (its one-task job waits
            # for a free task slot), not a dead run. Taking over would run two writers at once.
            return self._busy_line(current, expired_but_alive=True), True
        mine = replace(
            current,
            holder=self.run_id,
            command=self.command,
            host=socket.gethostname(),
            pid=os.getpid(),
            pid_start=process_start(os.getpid()),
            since=now.isoformat(),
        )
        try:
            with self._lock:
                self.state = self._step(mine, ACQUIRED, LEASE_STAGE, self.run_id)
        except LeaseLost as lost:
            return str(lost), False
        if current.holder not in (None, self.run_id):
            self.took_over = current
            if dead_here:
                log.warning(
                    "took over the lake's lease at once from %s: that process is gone from this "
                    "host; what it left unfinished is rolled back",
                    current.describe(),
                )
            else:
                log.warning(
                    "took over the lake's lease from %s, which stopped renewing it (it expired "
                    "at %s UTC)",
                    current.describe(),
                    f"{current.expires_at:%H:%M:%S}",
                )
        return None, False

    def renew(self) -> None:
        with self._lock:
            assert self.state is not None  # renewing starts once try_acquire took the lease
            self.state = self._step(self.state, RENEWED, LEASE_STAGE, self.run_id)

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=self.seconds)
        if self.lost.is_set() or self.state is None:
            return
        free = replace(
            self.state, holder=None, command=None, host=None, pid=None, pid_start=None, since=None
        )
        try:
            with self._lock:
                self.state = self._step(free, RELEASED, LEASE_STAGE, self.run_id)
        except Exception as exc:  # the lease then ends when it expires
            log.warning("could not give the lake's lease back (it expires by itself): %s", exc)

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            started = time.monotonic()
            try:
                self.renew()
            except Exception as exc:
                self.lost.set()
                log.error("lost the lake's lease: %s", exc)
                return
            took = time.monotonic() - started
            if took > self.seconds / 3:
                # A renewal is a one-task Spark job: it waits for a free task slot, so a busy
                # run's longest task delays it. Past the lease's end, another run may take over.
                log.warning(
                    "renewing the lake's lease took %.0f s of its %.0f s: give a longer lease "
                    "(A100M_LEASE_SECONDS) on a machine this busy",
                    took,
                    self.seconds,
                )

    def start_renewing(self) -> None:
        self._renewer = threading.Thread(target=self._renew_loop, name=RENEWER_THREAD, daemon=True)
        self._renewer.start()

    def check_held(self) -> None:
        if self.lost.is_set():
            raise LeaseLost(
                f"run {self.run_id} lost the lease on {self.lake} (it expired and another run "
                "took it over); nothing more is committed"
            )

    # -- the stages' journal rows --------------------------------------------------------------

    def begin_stage(self, stage: str, versions_before: dict[str, int | None]) -> None:
        before = {t: NO_TABLE if v is None else int(v) for t, v in versions_before.items()}
        self.check_held()
        opened = {
            "run_id": self.run_id,
            "stage": stage,
            "command": self.command,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started": utc_now().isoformat(),
            "before": before,
        }
        with self._lock:
            assert self.state is not None  # hold_lake yields the lease once it is taken
            base = replace(self.state, open={**self.state.open, f"{self.run_id}/{stage}": opened})
            self.state = self._step(base, STARTED, stage, self.run_id, versions_before=before)

    def end_stage(
        self,
        stage: str,
        committed: dict[str, int] | None,
        detail: str | None = None,
        run_id: str | None = None,
    ) -> None:
        """Append committed (with the versions) or, when committed is None, rolled_back."""
        run_id = run_id or self.run_id
        if committed is not None:
            self.check_held()
        with self._lock:
            assert self.state is not None  # hold_lake yields the lease once it is taken
            still_open = {k: v for k, v in self.state.open.items() if k != f"{run_id}/{stage}"}
            base = replace(
                self.state,
                open=still_open,
                committed={**self.state.committed, **(committed or {})},
            )
            self.state = self._step(
                base,
                COMMITTED if committed is not None else ROLLED_BACK,
                stage,
                run_id,
                versions_committed=committed,
                detail=detail,
            )

    def recover(self) -> list[str]:
        """Roll back every stage a dead run left open, newest first; one line each."""
        lines = []
        assert self.state is not None  # on_acquired runs once the lease is taken
        opened = sorted(self.state.open.values(), key=lambda s: s["started"], reverse=True)
        for stage in opened:
            changed = roll_back_tables(self.spark, self.lake, stage["before"])
            self.end_stage(
                stage["stage"], None, f"recovered by run {self.run_id}", run_id=stage["run_id"]
            )
            lines.append(recovery_line(stage, changed))
            log.warning(lines[-1])
        return lines


def process_start(pid: int) -> str | None:
    """When the process started, as this boot's id and its start time in clock ticks (Linux
    /proc); None where the system does not say (then only the pid is compared)."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as boot:
            boot_id = boot.read().strip()
        with open(f"/proc/{pid}/stat") as stat:
            ticks = stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None
    return f"{boot_id}:{ticks}"


def _gone_from_this_host(state: LakeState) -> bool:
    """The holder ran on this host and its process is certainly gone: no process has its pid,
    or the one that has it started at another time (the pid was reused). A holder of another
    host, or of this very process, is never judged gone here."""
    if state.host != socket.gethostname() or state.pid in (None, os.getpid()):
        return False
    if not _alive_on_this_host(state):
        return True
    return state.pid_start is not None and process_start(state.pid) not in (None, state.pid_start)


def _alive_on_this_host(state: LakeState) -> bool:
    """Whether the holder is another process of this host that still runs (a zombie is dead).
    Only this host can be asked; a holder elsewhere is judged by its lease alone."""
    if state.host != socket.gethostname() or state.pid in (None, os.getpid()):
        return False
    try:
        with open(f"/proc/{state.pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        try:
            os.kill(state.pid, 0)  # no /proc (macOS): signal 0 asks without sending
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


_held: dict[str, Lease] = {}
_held_lock = threading.Lock()


@contextmanager
def hold_lake(
    spark: SparkSession,
    lake: str,
    run_id: str,
    command: str,
    wait_seconds: float = 0.0,
    on_acquired: Callable[[Lease], None] | None = None,
) -> Iterator[Lease]:
    """Hold the lake's lease for the block (re-entrant within a process).

    A second writer raises LakeBusyError naming the holder, or polls for wait_seconds first.
    on_acquired(lease) runs once the lease is taken, before the block (recovery goes there).
    """
    key = table_path(lake, "")
    with _held_lock:
        outer = _held.get(key)
    if outer is not None:
        yield outer
        return
    require_safe_commits(spark, lake)  # S3 without put-if-absent: refused (core/objectstore.py)
    check_lake_root(spark, lake)
    seconds = float(os.environ.get("A100M_LEASE_SECONDS", DEFAULT_LEASE_SECONDS))
    lease = Lease(spark, lake, run_id, command, seconds)
    deadline = time.monotonic() + wait_seconds
    pause = 1.0
    while (busy := lease.try_acquire()) is not None:
        if time.monotonic() >= deadline:
            raise LakeBusyError.naming("{busy} ({wait_seconds=SECONDS})", busy=busy)
        # Each look at the journal is a Spark job: a waiter that polled every second would take
        # task slots from the holder it waits for, so it looks less often the longer it waits.
        time.sleep(min(pause, max(0.1, deadline - time.monotonic())))
        # ...but never much longer than a lease lasts, so a short lease is noticed soon after it ends.
        pause = min(pause * 2, MAX_WAIT_POLL_SECONDS, max(1.0, seconds / 4))
    with _held_lock:
        _held[key] = lease
    lease.start_renewing()
    try:
        if on_acquired is not None:
            on_acquired(lease)
        yield lease
    finally:
        with _held_lock:
            _held.pop(key, None)
        lease.release()


def held_lease(lake: str) -> Lease | None:
    """The lease this process holds on the lake, if any."""
    with _held_lock:
        return _held.get(table_path(lake, ""))
