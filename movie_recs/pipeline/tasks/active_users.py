"""Task 1: land the run's inputs and find the active users.

Lands `movies`, the new rows of `recommendation_logs` and
`recommendation_feedback`, and a snapshot of `rt_user_interactions` up to `as_of` (plus
any event stamped in the future, to be rejected), classifies every event once
(movie_recs.pipeline.event_rules), writes the users with a usable event in
the training window, from the snapshot and the archive, to
`pipeline.active_users`, and checks the landed events
(movie_recs.pipeline.input_checks). Later tasks and the dbt models read only these
landed tables, so the whole run sees one consistent snapshot.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from pyspark.sql import functions as F

from movie_recs.config import event_weights
from movie_recs.lake.archive import archived_events, archived_in_window
from movie_recs.lake.landing import (
    LANDING_SCHEMA,
    land_new_rows,
    land_snapshot,
    landing_path,
    read_postgres,
)
from movie_recs.lake.spark import lake_root
from movie_recs.pipeline.context import RunContext, TaskResult
from movie_recs.pipeline.event_rules import EVENT_COLUMNS, classify_events
from movie_recs.pipeline.input_checks import DAY_EVENTS, check_inputs, recent_day_events

EVENTS_SNAPSHOT = f"{LANDING_SCHEMA}.rt_user_interactions"
ACTIVE_USERS = "pipeline.active_users"


def _snapshot_query(as_of: datetime, not_after: datetime, ids: tuple[int, int]) -> str:
    # The bounds are datetimes and integers computed by the run, never user text.
    return (
        f"(select {', '.join(EVENT_COLUMNS)} from rt_user_interactions"
        f" where (event_ts < '{as_of.isoformat()}'::timestamptz"
        f" or event_ts > '{not_after.isoformat()}'::timestamptz)"
        f" and event_id between {int(ids[0])} and {int(ids[1])}) as snapshot"
    )


def _event_id_bounds(pg) -> tuple[int, int]:
    """The table's lowest and highest event id (0, 0 when empty): the ids the
    snapshot reads, and where its parallel reads split them."""
    with pg.transaction() as cur:
        cur.execute("select min(event_id), max(event_id) from rt_user_interactions")
        lowest, highest = cur.fetchone()
    return lowest or 0, highest or 0


def _day_events(ctx: RunContext, snapshot):
    """The ids of the run's day's events: in the snapshot, and archived already
    (all of them for a night run two or more days late), each once."""
    day_start = ctx.as_of - timedelta(days=1)
    in_day = (F.col("event_ts") >= F.lit(day_start)) & (F.col("event_ts") < F.lit(ctx.as_of))
    return (
        snapshot.where(in_day & ~F.col("is_archived"))
        .select("event_id")
        .union(archived_in_window(ctx.spark, day_start, ctx.as_of).select("event_id"))
    )


def run(ctx: RunContext) -> TaskResult:
    spark = ctx.spark
    started = time.perf_counter()
    land_snapshot(spark, ctx.pg, "movies")
    # what the service served and what users did, for the analytics task
    serves_landed = land_new_rows(spark, ctx.pg, "recommendation_logs", "serve_id")
    feedback_landed = land_new_rows(spark, ctx.pg, "recommendation_feedback", "feedback_id")
    landings_seconds = time.perf_counter() - started
    started = time.perf_counter()
    not_after = datetime.now(UTC) + timedelta(minutes=float(ctx.vars["future_tolerance_minutes"]))
    # Each id range is read in its own transaction: an event committed meanwhile
    # may miss the snapshot; it stays in PostgreSQL (only moved ids are
    # deleted) and comes with the next night's.
    ids = _event_id_bounds(ctx.pg)
    events = read_postgres(
        spark, ctx.pg, _snapshot_query(ctx.as_of, not_after, ids), split_by=("event_id", *ids)
    )
    # Only archived events within the snapshot's ids can share an id with it.
    # With ids from a sequence those are the archive's last days: Delta skips
    # the other files by their event_id statistics, instead of the whole
    # archive being joined with the snapshot.
    classified = classify_events(
        events,
        spark.table(f"{LANDING_SCHEMA}.movies"),
        archived_events(spark).where(F.col("event_id").between(*ids)),
        event_types=sorted(event_weights()),
        rating_min=float(ctx.vars["rating_min"]),
        rating_max=float(ctx.vars["rating_max"]),
        not_after=not_after,
    ).withColumn("_landed_at", F.current_timestamp())
    (
        classified.write.format("delta")
        .mode("overwrite")
        .option("overwriteSchema", "true")
        .option("path", landing_path(spark, "rt_user_interactions"))
        .saveAsTable(EVENTS_SNAPSHOT)
    )
    # the events' part of the task, which benchmark 4 compares with a bare copy
    snapshot_seconds = time.perf_counter() - started

    started = time.perf_counter()
    snapshot = spark.table(EVENTS_SNAPSHOT)
    in_window = (F.col("event_ts") >= F.lit(ctx.window_start)) & (
        F.col("event_ts") < F.lit(ctx.as_of)
    )
    usable_users = snapshot.where(F.col("reject_reason").isNull() & in_window).select("user_id")
    archived_users = archived_in_window(spark, ctx.window_start, ctx.as_of).select("user_id")
    active = (
        usable_users.union(archived_users)
        .distinct()
        .select(
            "user_id",
            F.lit(ctx.run_date).alias("run_date"),
            F.lit(ctx.as_of).alias("as_of"),
        )
    )
    spark.sql("create schema if not exists pipeline")
    (
        active.write.format("delta")
        .mode("overwrite")
        .option("overwriteSchema", "true")
        .option("path", f"{lake_root(spark)}/pipeline/active_users")
        .saveAsTable(ACTIVE_USERS)
    )
    active_users_seconds = time.perf_counter() - started

    started = time.perf_counter()
    counts = snapshot.groupBy(F.col("reject_reason").isNull().alias("usable")).count().collect()
    by_usable = {row["usable"]: row["count"] for row in counts}
    day = _day_events(ctx, snapshot).cache()
    input_failures = check_inputs(snapshot, day, recent_day_events(ctx.pg, ctx.run_date), ctx.vars)
    n_day = day.count()
    day.unpersist()
    input_checks_seconds = time.perf_counter() - started
    n_active = spark.table(ACTIVE_USERS).count()
    return TaskResult(
        rows_in=sum(by_usable.values()),
        rows_out=n_active,
        rows_rejected=by_usable.get(False, 0),
        metrics={
            "active_users": float(n_active),
            # the run's day's events, which later nights' volume check compares with
            DAY_EVENTS: float(n_day),
            "input_check_failures": float(len(input_failures)),
            "serves_landed": float(serves_landed),
            "feedback_landed": float(feedback_landed),
            # where the task's time goes (BENCHMARKS.md, benchmarks 4 and 5)
            "landings_seconds": round(landings_seconds, 1),
            "events_snapshot_seconds": round(snapshot_seconds, 1),
            "active_users_seconds": round(active_users_seconds, 1),
            "input_checks_seconds": round(input_checks_seconds, 1),
        },
    )
