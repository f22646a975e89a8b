"""Benchmark: the synthetic generator alone (no database, no lake), by event count.

    .venv/bin/python bench/generate_events.py 1000000 25000000

Prints events, seconds, events per second and peak memory (RSS) per size.
Users and movies scale like MovieLens-25M (160k users, 60k movies at 25M).
"""

from __future__ import annotations

import resource
import sys
import time
from datetime import UTC, datetime

from harness import demo_sizes

from movie_recs.sources.synthetic import DemoSpec, events_frames, movies_frame


def run(n_events: int) -> None:
    users, movies = demo_sizes(n_events)
    spec = DemoSpec(users=users, movies=movies, days=30, events=n_events, seed=1)
    started = time.perf_counter()
    movies_frame(spec)
    generated = sum(len(chunk) for chunk in events_frames(spec, datetime(2026, 1, 1, tzinfo=UTC)))
    seconds = time.perf_counter() - started
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(f"{generated:>11,} events  {seconds:7.1f} s  {generated / seconds:>10,.0f} ev/s  "
          f"peak RSS {peak_gb:.2f} GB")  # fmt: skip


if __name__ == "__main__":
    for size in sys.argv[1:] or ["1000000"]:
        run(int(size))
