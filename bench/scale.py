"""Scale: the nightly on demo data of growing size (issue #7, "Scale").

    .venv/bin/python bench/scale.py 1000000 5000000 25000000

Users and movies grow with the events in MovieLens-25M's proportions (25M
events: 160,000 users, 60,000 movies). Per size: `demo-data` (generate, COPY
into PostgreSQL, the history into the lake's archive) and then
`nightly --force`, each a fresh process timed with the peak memory of its
process tree; the nightly's per-task times come from its run record. Prints a
Markdown row per size and the growth exponent b of nightly seconds ~ events^b
(least squares on the logs); appends each size's record to
<state>/scale.jsonl as it finishes.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from harness import (
    ORCHESTRATE,
    demo_data_argv,
    demo_sizes,
    isolated_env,
    last_run_tasks,
    run_measured,
)


def run_size(events: int, env: dict) -> dict:
    users, movies = demo_sizes(events)
    demo = run_measured(demo_data_argv(events), env)
    nightly = run_measured([*ORCHESTRATE, "nightly", "--force"], env)
    return {
        "events": events,
        "users": users,
        "movies": movies,
        "demo_data_s": round(demo.seconds, 1),
        "demo_data_peak_gb": round(demo.peak_rss_bytes / 1e9, 2),
        "nightly_s": round(nightly.seconds, 1),
        "nightly_peak_gb": round(nightly.peak_rss_bytes / 1e9, 2),
        "tasks_s": {name: task["seconds"] for name, task in last_run_tasks(env).items()},
    }


def growth_exponent(points: list[tuple[float, float]]) -> float:
    xs, ys = zip(*((math.log(x), math.log(y)) for x, y in points), strict=True)
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )


def main(sizes: list[int]) -> None:
    env = isolated_env("bench-scale", 55433)
    records = []
    for events in sizes:
        record = run_size(events, env)
        records.append(record)
        with (Path(env["MOVIE_RECS_STATE"]) / "scale.jsonl").open("a") as out:
            out.write(json.dumps(record) + "\n")
        tasks = ", ".join(f"{name} {s:.0f}" for name, s in record["tasks_s"].items())
        print(
            f"| {events:,} | {record['users']:,} | {record['movies']:,} "
            f"| {record['demo_data_s']:.0f} | {record['nightly_s']:.0f} "
            f"| {record['nightly_peak_gb']:.2f} | {tasks} |",
            flush=True,
        )
    if len(records) > 1:
        exponent = growth_exponent([(r["events"], r["nightly_s"]) for r in records])
        print(f"nightly seconds ~ events^{exponent:.2f}")


if __name__ == "__main__":
    main([int(size) for size in sys.argv[1:]])
