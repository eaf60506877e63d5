"""Named failpoints for crash tests: the process ends on the spot, as under kill -9.

`failpoint(name)` does nothing unless the environment variable A100M_FAILPOINT names it (set by a
test, in the child process it starts); then it ends the process with os._exit, so no `finally`,
no `except` and no atexit handler runs. Names: `after_commit_<stage>_<table>` after each table
commit, `after_journal_<state>_<stage>` after each journal row.
"""

from __future__ import annotations

import os
import sys

FAILPOINT_VARIABLE = "A100M_FAILPOINT"
KILLED_EXIT_CODE = 137  # what a shell reports for a process killed by SIGKILL


def failpoint(name: str) -> None:
    if os.environ.get(FAILPOINT_VARIABLE) == name:
        sys.stderr.write(f"failpoint {name}: ending the process now\n")
        sys.stderr.flush()
        os._exit(KILLED_EXIT_CODE)
