"""The event archive: `<lake>/archived-events/`, Delta, partitioned by event date.

Registered as `lake.archived_events`. Each event id is in it once: events
already archived are told apart when the snapshot is classified
(movie_recs.pipeline.event_rules), and one snapshot's events are appended once.
The archive task checks the ids it moves before deleting them from
PostgreSQL; the loaders (movie_recs.sources) number the events they archive.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from movie_recs.lake.spark import lake_root

ARCHIVE_TABLE = "lake.archived_events"

ARCHIVE_DDL = """
create table if not exists {table} (
    event_id bigint not null,
    user_id bigint,
    movie_id bigint,
    event_type string,
    rating double,
    event_ts timestamp,
    event_date date,
    archived_at timestamp,
    run_id string
)
using delta
partitioned by (event_date)
location '{location}'
"""


def ensure_archive_table(spark: SparkSession) -> None:
    spark.sql("create schema if not exists lake")
    location = f"{lake_root(spark)}/archived-events"
    spark.sql(ARCHIVE_DDL.format(table=ARCHIVE_TABLE, location=location))


def archived_events(spark: SparkSession) -> DataFrame:
    ensure_archive_table(spark)
    return spark.table(ARCHIVE_TABLE)


def archived_in_window(spark: SparkSession, start: datetime, end: datetime) -> DataFrame:
    """Archived events with start <= event_ts < end. Between UTC midnights (the
    nightly's window: whole days up to a run's as_of) the partition column, the
    UTC date of event_ts, says it alone: Spark then neither reads event_ts nor
    filters rows, and the active users' scan of 25M archived events takes about
    3 s less (BENCHMARKS.md, benchmark 5)."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if start.time() == end.time() == time(0):
        column, start, end = F.col("event_date"), start.date(), end.date()
    else:
        column = F.col("event_ts")
    return archived_events(spark).where((column >= F.lit(start)) & (column < F.lit(end)))


def append_to_archive(
    spark: SparkSession, events: DataFrame, run_id: str, source: tuple[str, int]
) -> None:
    """Append events not archived yet, once per `source`: the (table id, version)
    of the landed snapshot they were classified from.

    Delta records that version with the commit (its idempotent writes,
    txnAppId/txnVersion), so moving the same snapshot again (a retried or
    resumed task, whose snapshot predates its own first append) adds nothing;
    a new snapshot is classified against the archive afresh.
    """
    ensure_archive_table(spark)
    source_table_id, source_version = source
    (
        events.select(
            "event_id",
            "user_id",
            "movie_id",
            "event_type",
            "rating",
            "event_ts",
            F.to_date("event_ts").alias("event_date"),
            F.current_timestamp().alias("archived_at"),
            F.lit(run_id).alias("run_id"),
        )
        .write.format("delta")
        .mode("append")
        .option("txnAppId", f"movie-recs-archive-from-{source_table_id}")
        .option("txnVersion", str(source_version))
        .saveAsTable(ARCHIVE_TABLE)
    )


class DuplicateEventIds(RuntimeError):
    """The archive holds an event id more than once."""

    def __init__(self, ids: list[int]) -> None:
        self.ids = ids
        super().__init__(f"the event archive holds these event ids more than once: {ids}")


def check_ids_archived_once(spark: SparkSession, low: int, high: int) -> None:
    """Raise DuplicateEventIds if an event id between `low` and `high` is in the
    archive more than once (naming at most ten). Both copies of a duplicate
    share its id, so a range of ids is checked completely; Delta reads only
    the files whose `event_id` statistics overlap it (with ids that grow with
    time, the latest appends'), instead of every archived event."""
    ensure_archive_table(spark)
    twice = (
        spark.table(ARCHIVE_TABLE)
        .where(F.col("event_id").between(low, high))
        .groupBy("event_id")
        .count()
        .where(F.col("count") > 1)
        .orderBy("event_id")
        .limit(10)
        .collect()
    )
    if twice:
        raise DuplicateEventIds([row["event_id"] for row in twice])


def drop_expired_partitions(spark: SparkSession, keep_from: date) -> int:
    """Delete archive partitions older than `keep_from`; return the events removed."""
    ensure_archive_table(spark)
    deleted = spark.sql(
        f"delete from {ARCHIVE_TABLE} where event_date < date'{keep_from.isoformat()}'"
    ).first()
    return deleted["num_affected_rows"]
