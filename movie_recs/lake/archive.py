"""The event archive: `<lake>/archived-events/`, Delta, partitioned by event date.

Registered as `lake.archived_events`. Writes are MERGEs on the event id, so
writing the same events twice (a rerun after a crash) adds nothing.
"""

from __future__ import annotations

from datetime import date

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


def merge_into_archive(spark: SparkSession, events: DataFrame, run_id: str) -> None:
    """Insert events whose id is not archived yet (same date partition)."""
    ensure_archive_table(spark)
    staged = events.select(
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
    staged.createOrReplaceTempView("_events_to_archive")
    spark.sql(
        f"""
        merge into {ARCHIVE_TABLE} as archive
        using _events_to_archive as incoming
        on archive.event_date = incoming.event_date and archive.event_id = incoming.event_id
        when not matched then insert *
        """
    )
    spark.catalog.dropTempView("_events_to_archive")


def drop_expired_partitions(spark: SparkSession, keep_from: date) -> int:
    """Delete archive partitions older than `keep_from`; return the events removed."""
    ensure_archive_table(spark)
    expired = spark.table(ARCHIVE_TABLE).where(F.col("event_date") < F.lit(keep_from)).count()
    if expired:
        spark.sql(f"delete from {ARCHIVE_TABLE} where event_date < date'{keep_from.isoformat()}'")
    return expired
