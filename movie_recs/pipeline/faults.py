"""Named fault points, for tests that crash the run at a precise place.

`MOVIE_RECS_FAULT=<point>` makes the process kill itself (SIGKILL: no cleanup,
like a power cut) when it reaches that point. Unset in normal runs.
"""

from __future__ import annotations

import os
import signal

FAULT_ENV = "MOVIE_RECS_FAULT"


def fault_point(name: str) -> None:
    if os.environ.get(FAULT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
