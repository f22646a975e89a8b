"""Benchmark 5: an incremental night vs a full refresh of the same state.

    .venv/bin/python bench/incremental_vs_full.py [EVENTS]      # default 1,000,000

On fresh demo data (30 days, MovieLens-25M's proportions):
1. the night before yesterday runs in full (it publishes the base model);
2. incremental: yesterday's night with `als_refit_every_days=7`: one new day
   of events on top of the history, the users folded into night 1's item
   factors (no evaluation, no refit); users whose matrix rows did not
   change keep night 1's lists, the others are re-scored;
3. full refresh: the same night again with a full refit every night
   (`als_refit_every_days=1`), as every night runs by default.
Every night runs with `--force`, since an earlier run of the benchmark may
have published the same dates.
Prints both wall times, their per-task times, and incremental / full (target
<= 0.3). The full refresh runs second, so it finds the new day archived
already: if anything, that flatters it.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

from harness import ORCHESTRATE, demo_data_argv, isolated_env, last_run, run_measured


def main(events: int) -> None:
    env = isolated_env("bench-incremental", 55437)
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    run_measured(demo_data_argv(events), env)
    night = [*ORCHESTRATE, "nightly", "--force", "--run-date"]  # dates an earlier run published
    run_measured([*night, str(yesterday - timedelta(days=1))], env)
    timed = {}
    for name, extra in (
        ("incremental", ["--var", "als_refit_every_days=7"]),
        ("full refresh", ["--var", "als_refit_every_days=1"]),
    ):
        since = datetime.now(UTC)
        run = run_measured([*night, str(yesterday), *extra], env)
        record = last_run(env)  # both nights are one run id: its attempts since `since`
        tasks = [t for t in record["tasks"] if datetime.fromisoformat(t["started_at"]) >= since]
        timed[name] = run.seconds
        per_task = ", ".join(f"{t['task']} {t['seconds']:.0f}" for t in tasks)
        print(f"{name:<13} {run.seconds:7.1f} s   ({per_task})")
        metrics = record["metrics"]
        if "rescored_users" in metrics:
            print(f"{'':<13} re-scored {metrics['rescored_users']:.0f} of"
                  f" {metrics['matrix_users']:.0f} users")  # fmt: skip
        folded = metrics.get("folded_in") == 1.0
        assert folded == (name == "incremental"), f"{name}: folded_in is {folded}"
    print(f"ratio incremental / full {timed['incremental'] / timed['full refresh']:.2f}"
          "   (target <= 0.3)")  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
