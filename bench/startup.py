"""Benchmark 6: the share of a small nightly spent starting up, not computing.

    .venv/bin/python bench/startup.py [EVENTS]      # default 20,000

On fresh demo data, runs `nightly --force` twice, each as a fresh process
(the second as every night after the first: dbt reuses the first's parse),
and splits each one's wall time into:
- before the first task: Python imports, services check, migrations, the JVM
  and the SparkSession with its metastore;
- dbt's own start, per dbt invocation: from "Running with dbt" to its first
  node (adapter, project parse or partial parse, graph);
- the rest: the tasks' work (including dbt's per-node overhead).
Start-up is the first two; the share is start-up / wall time.
"""

from __future__ import annotations

import re
import sys
import time
from datetime import UTC, datetime, timedelta

from harness import ORCHESTRATE, demo_data_argv, isolated_env, last_run_tasks, run_measured

from movie_recs.settings import PROJECT_ROOT

DBT_LOG = PROJECT_ROOT / "logs" / "dbt.log"
STAMP = re.compile(r"(\d\d:\d\d:\d\d\.\d+) \[\w+ *\] \[[^\]]*\]: (.*)")


def dbt_starts(since: datetime) -> list[float]:
    """Seconds from each "Running with dbt" after `since` to that invocation's first node."""
    starts, pending = [], None
    for line in DBT_LOG.read_text(errors="replace").splitlines():
        match = STAMP.search(line)
        if not match:
            continue
        clock = datetime.strptime(match[1], "%H:%M:%S.%f").time()
        at = datetime.combine(since.date(), clock, UTC)
        if at < since - timedelta(seconds=1):
            continue
        if match[2].startswith("Running with dbt"):
            pending = at
        elif pending and re.match(r"1 of \d+ START", match[2]):
            starts.append((at - pending).total_seconds())
            pending = None
    return starts


def main(events: int) -> None:
    env = isolated_env("bench-startup", 55434)
    run_measured(demo_data_argv(events), env)
    # the first night parses the dbt project in full; the next reuses its parse
    for night in ("first night in this state", "the night after"):
        since = datetime.now(UTC)
        started = time.time()
        nightly = run_measured([*ORCHESTRATE, "nightly", "--force"], env)
        tasks = last_run_tasks(env)
        first_task = min(datetime.fromisoformat(t["started_at"]) for t in tasks.values())
        before_tasks = first_task.timestamp() - started
        dbt = dbt_starts(since)
        startup = before_tasks + sum(dbt)
        print(f"{night}: nightly on {events:,} events  {nightly.seconds:6.1f} s")
        print(f"  before the first task         {before_tasks:6.1f} s")
        print(f"  dbt start per invocation      {', '.join(f'{s:.1f}' for s in dbt)} s")
        print(f"  start-up share                {startup / nightly.seconds:6.1%}")
        for name, task in tasks.items():
            print(f"    task {name:<14} {task['seconds']:6.1f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
