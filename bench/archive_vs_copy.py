"""Benchmark 4: archiving events vs `COPY ... TO STDOUT` plus a plain Delta write.

    .venv/bin/python bench/archive_vs_copy.py [EVENTS]      # default 1,000,000

Setup: EVENTS demo events over 30 days, all in PostgreSQL (nothing archived
yet). Then, same rows, events/s each:
- bare (first: it only reads): psql COPYs the events older than the archive
  cutoff (`archive_after_hours` before as_of) TO STDOUT into a file, and a PySpark
  script appends that file to a Delta table partitioned by event date (timed
  from its session being up, as the nightly's tasks are);
- pipeline: `nightly --force` stopped by the fault point after its archive
  task. The events' path is the snapshot step of the `active_users` task
  (the events read from PostgreSQL, every one classified, the snapshot
  written to the lake; its `events_snapshot_seconds`) and the `archive` task
  (rejects recorded, the archive appended to, the rows deleted from
  PostgreSQL); the whole tasks add the small landings (movies, serving logs)
  and the active users, and the JVM's first Delta writes; the archive task
  alone is what archiving adds to a night (the snapshot is landed and
  classified for the dbt models either way).
Prints events/s each way and pipeline / bare (target >= 0.8).
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from harness import (
    BARE_SESSION,
    ORCHESTRATE,
    demo_sizes,
    isolated_env,
    last_run_tasks,
    pg_env,
    run_measured,
)

from movie_recs.config import dbt_vars
from movie_recs.pipeline.context import as_of_for

# demo events, none pre-archived: the same generator and loader as demo-data
SETUP = r"""
import sys
from datetime import datetime, timedelta
from movie_recs.lake.spark import get_spark
from movie_recs.pipeline.nightly import prepare_services
from movie_recs.sources.loader import load_inputs
from movie_recs.sources.synthetic import DemoSpec, events_frames, movies_frame

users, movies, events, as_of = sys.argv[1:5]
spec = DemoSpec(int(users), int(movies), 30, int(events), 42)
as_of = datetime.fromisoformat(as_of)
load_inputs(get_spark("local"), prepare_services("local"), movies_frame(spec),
            events_frames(spec, as_of), as_of, timedelta(days=3650))
"""

DELTA_WRITE = (
    BARE_SESSION
    + r"""
import time
def write(frame, name):
    (frame.withColumn("event_date", F.to_date("event_ts")).write.format("delta")
        .mode("overwrite").partitionBy("event_date").save(f"{lake}/{name}"))
# warm up the JVM (the pipeline's events part runs after its first Delta writes)
write(spark.sql("select 1L as event_id, current_timestamp() as event_ts"), "bench-bare-warm-up")
started = time.perf_counter()
events = spark.read.csv(sys.argv[2], header=True, schema="event_id long, user_id long,"
                        " movie_id long, event_type string, rating double, event_ts timestamp")
write(events, "bench-bare-archive")
print(time.perf_counter() - started)
"""
)


def main(events: int) -> None:
    env = isolated_env("bench-archive", 55436)
    # the nightly's default run: yesterday, data up to midnight today
    as_of = as_of_for(datetime.now(UTC).date() - timedelta(days=1))
    run_measured([sys.executable, "-c", SETUP, *map(str, demo_sizes(events)), str(events),
                  as_of.isoformat()], env)  # fmt: skip
    cutoff = as_of - timedelta(hours=float(dbt_vars()["archive_after_hours"]))

    state = env["MOVIE_RECS_STATE"]
    csv = f"{state}/bare-events.csv"
    query = (
        "copy (select event_id, user_id, movie_id, event_type, rating, event_ts"
        " from rt_user_interactions"
        f" where event_ts < '{cutoff.isoformat()}')"
        " to stdout with csv header"
    )
    started = time.perf_counter()
    with open(csv, "w") as out:
        subprocess.run(["psql", "-qc", query], env=env | pg_env(env), stdout=out, check=True)
    t_copy = time.perf_counter() - started
    written = run_measured([sys.executable, "-c", DELTA_WRITE, f"{state}/lake", csv], env)
    t_delta = float(written.output.strip().splitlines()[-1])
    with open(csv) as rows:
        n_rows = sum(1 for _ in rows) - 1

    stopped = subprocess.run(
        [*ORCHESTRATE, "nightly", "--force"],
        env=env | {"MOVIE_RECS_FAULT": "after.archive"},
        capture_output=True,
    )
    assert stopped.returncode != 0, "the fault point after the archive task did not stop the run"
    tasks = last_run_tasks(env)
    t_landing, t_archive = tasks["active_users"]["seconds"], tasks["archive"]["seconds"]
    t_snapshot = tasks["active_users"]["details"]["events_snapshot_seconds"]
    n_archived = tasks["archive"]["rows_out"]

    bare_rate = n_rows / (t_copy + t_delta)
    print(f"bare: COPY TO STDOUT {t_copy:.1f} s + Delta write {t_delta:.1f} s, {n_rows:,} rows")
    print(f"      {bare_rate:,.0f} events/s")
    print(f"pipeline: {n_archived:,} events archived")
    for what, seconds in (
        (f"events' path: snapshot {t_snapshot:.1f} s + archive {t_archive:.1f} s",
         t_snapshot + t_archive),
        (f"whole tasks: active_users {t_landing:.1f} s + archive {t_archive:.1f} s",
         t_landing + t_archive),
        (f"archive task alone: {t_archive:.1f} s", t_archive),
    ):  # fmt: skip
        rate = n_archived / seconds
        print(f"  {what}: {rate:,.0f} events/s, ratio {rate / bare_rate:.2f}  (target >= 0.8)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
