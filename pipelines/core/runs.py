"""Run identity: every command that writes gets one run id, recorded on the rows it writes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique run id: UTC time to the second, then 8 random hex digits."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
