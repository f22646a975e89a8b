"""Named fault points, for tests that break the run at a precise place.

`MOVIE_RECS_FAULT=<point>` makes the process kill itself (SIGKILL: no cleanup,
like a power cut) when it reaches that point. `MOVIE_RECS_FAULT=pause:<point>`
makes it write its pid to the file named by `MOVIE_RECS_FAULT_MARKER` and wait
there until that file is removed (once per process), so a test can stop or
restart a service at that moment. Several faults: a comma-separated list.
Unset in normal runs.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

FAULT_ENV = "MOVIE_RECS_FAULT"
MARKER_ENV = "MOVIE_RECS_FAULT_MARKER"
MAX_PAUSE_S = 600


_paused: set[str] = set()


def fault_point(name: str) -> None:
    for fault in os.environ.get(FAULT_ENV, "").split(","):
        action, _, point = fault.strip().rpartition(":")
        if point != name:
            continue
        if action != "pause":
            os.kill(os.getpid(), signal.SIGKILL)
        if name not in _paused:
            _paused.add(name)
            _pause(Path(os.environ[MARKER_ENV]))


def _pause(marker: Path) -> None:
    marker.write_text(str(os.getpid()))
    deadline = time.monotonic() + MAX_PAUSE_S
    while marker.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
