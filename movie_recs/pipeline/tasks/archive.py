"""Task 2: move events older than `archive_after_hours` (48) out of PostgreSQL,
exactly once.

From the run's classified snapshot (task 1):
1. rejected events go to PostgreSQL `rejected_events` with their reason
   (unique per event: a rerun inserts nothing new);
2. usable events older than the cutoff, not archived yet, are appended to the
   Delta archive, once per snapshot (a rerun of the same snapshot appends
   nothing; a new snapshot knows what is archived);
3. only then, once no id among them is in the archive twice, are exactly
   those event ids deleted from `rt_user_interactions`.
A crash between any two steps leaves each event in PostgreSQL, or in its
destination, or both; the rerun completes the move, so nothing is lost or
duplicated. Finally, archive partitions past the retention are dropped.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pyarrow.compute as pc
from pyspark.sql import functions as F

from movie_recs.db.copy import copy_lines
from movie_recs.db.rejects import record_rejects
from movie_recs.lake.archive import (
    append_to_archive,
    check_ids_archived_once,
    drop_expired_partitions,
)
from movie_recs.lake.landing import table_version
from movie_recs.pipeline.context import RunContext, TaskResult
from movie_recs.pipeline.event_rules import EVENT_COLUMNS
from movie_recs.pipeline.faults import fault_point
from movie_recs.pipeline.tasks.active_users import EVENTS_SNAPSHOT

SOURCE_TABLE = "rt_user_interactions"


def retention_start(as_of: datetime, retention_days: int, now: datetime | None = None) -> date:
    """The first day the archive keeps: `retention_days` before the run's as_of,
    never counted from a day the clock has not reached. A run date in the
    future (a typo, or a night simulated ahead) then drops nothing the real
    date still keeps."""
    today = (now or datetime.now(UTC)).date()
    return min(as_of.date(), today) - timedelta(days=retention_days)


def _record_rejects(ctx: RunContext, rejected) -> int:
    rows = rejected.select(
        F.col("event_id").cast("string"),
        "reject_reason",
        F.to_json(F.struct(*EVENT_COLUMNS)),
    ).toLocalIterator()
    return record_rejects(ctx.pg, SOURCE_TABLE, ctx.run_id, (tuple(r) for r in rows))


def id_ranges(ids: np.ndarray) -> np.ndarray:
    """The runs of consecutive integers in `ids`, as (lowest, highest) rows:
    together exactly the given ids. A night's moved ids are mostly a few long
    runs (ids grow with time), so PostgreSQL deletes a few ranges instead of
    joining a million ids."""
    ids = np.unique(ids)
    if not len(ids):
        return np.empty((0, 2), dtype=np.int64)
    breaks = np.flatnonzero(np.diff(ids) != 1)
    return np.column_stack((ids[np.r_[0, breaks + 1]], ids[np.r_[breaks, len(ids) - 1]]))


def _check_and_delete(ctx: RunContext, ids: np.ndarray) -> int:
    """Delete the moved ids from PostgreSQL once the archive holds none of them
    twice. Only a night's append can add a duplicate, and every id it appends
    is among these, so the archive is checked within their range rather than
    whole (the dbt source test, which plain `dbt build` runs, reads every
    archived event). A failed check deletes nothing: the events stay in
    PostgreSQL, so every later night checks them again until it is fixed."""
    if len(ids):
        check_ids_archived_once(ctx.spark, int(ids.min()), int(ids.max()))
    return _delete_from_postgres(ctx, ids)


def _delete_from_postgres(ctx: RunContext, ids: np.ndarray) -> int:
    """Delete the given event ids (moved elsewhere) from rt_user_interactions."""
    ranges = id_ranges(ids)
    with ctx.pg.transaction() as cur:
        cur.execute("create temporary table moved_ids (low bigint, high bigint) on commit drop")
        copy_lines(cur, "moved_ids", ["low", "high"], (f"{a}\t{b}\n" for a, b in ranges))
        cur.execute(
            "delete from rt_user_interactions as events using moved_ids"
            " where events.event_id between moved_ids.low and moved_ids.high"
        )
        return cur.rowcount


def run(ctx: RunContext) -> TaskResult:
    spark = ctx.spark
    snapshot = spark.table(EVENTS_SNAPSHOT)
    rejected = snapshot.where(F.col("reject_reason").isNotNull())
    old = F.col("event_ts") < F.lit(ctx.archive_cutoff)
    old_usable = snapshot.where(F.col("reject_reason").isNull() & old)

    n_rejected = _record_rejects(ctx, rejected)
    fault_point("archive.after_rejects")
    append_to_archive(
        spark,
        old_usable.where(~F.col("is_archived")),
        ctx.run_id,
        source=table_version(spark, EVENTS_SNAPSHOT),
    )
    fault_point("archive.after_lake_write")
    # Every id leaving PostgreSQL (the rejected and the old usable events) in
    # one read of the snapshot, through Arrow: a night's ids are a few MB of
    # longs; `usable` counts the archived ones.
    moved = (
        snapshot.where(F.col("reject_reason").isNotNull() | old)
        .select("event_id", F.col("reject_reason").isNull().alias("usable"))
        .toArrow()
    )
    n_deleted = _check_and_delete(ctx, moved.column("event_id").to_numpy())
    n_archived = pc.sum(moved.column("usable")).as_py() or 0
    fault_point("archive.after_postgres_delete")

    keep_from = retention_start(ctx.as_of, int(ctx.vars["archive_retention_days"]))
    n_expired = drop_expired_partitions(spark, keep_from)
    return TaskResult(
        rows_in=n_archived + n_rejected,
        rows_out=n_archived,
        rows_rejected=n_rejected,
        metrics={
            "events_archived": float(n_archived),
            "events_rejected": float(n_rejected),
            "events_deleted_from_postgres": float(n_deleted),
            "archive_events_expired": float(n_expired),
        },
    )
