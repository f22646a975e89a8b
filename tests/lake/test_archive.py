"""Appending to the event archive is idempotent per landed snapshot."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from movie_recs.lake.archive import ARCHIVE_TABLE, append_to_archive
from movie_recs.lake.spark import LAKE_ROOT_KEY

EVENTS_SCHEMA = (
    "event_id long, user_id long, movie_id long, event_type string, rating double,"
    " event_ts timestamp"
)
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def archive_lake(spark, tmp_path):
    """The archive in a lake of the test's own (the session's lake is the e2e tests')."""
    lake = spark.conf.get(LAKE_ROOT_KEY)
    spark.conf.set(LAKE_ROOT_KEY, str(tmp_path))
    yield spark
    spark.sql(f"drop table if exists {ARCHIVE_TABLE}")
    spark.conf.set(LAKE_ROOT_KEY, lake)


def _events(spark, ids):
    return spark.createDataFrame([(i, 7, 10, "view", None, T0) for i in ids], EVENTS_SCHEMA)


def _archived_ids(spark):
    return sorted(row[0] for row in spark.table(ARCHIVE_TABLE).select("event_id").collect())


def test_the_same_snapshot_is_appended_once(archive_lake):
    spark = archive_lake
    append_to_archive(spark, _events(spark, [1, 2, 3]), "run-1", source=("snapshot", 4))
    # a retried or resumed archive task moves the same snapshot again
    append_to_archive(spark, _events(spark, [1, 2, 3]), "run-1", source=("snapshot", 4))
    assert _archived_ids(spark) == [1, 2, 3]
    # the next snapshot (a new version of the landed table) appends what it brings
    append_to_archive(spark, _events(spark, [4, 5]), "run-2", source=("snapshot", 5))
    assert _archived_ids(spark) == [1, 2, 3, 4, 5]
    # a re-created landed table (a new id) starts its versions again
    append_to_archive(spark, _events(spark, [6]), "run-3", source=("recreated", 0))
    assert _archived_ids(spark) == [1, 2, 3, 4, 5, 6]
    partitions = {row[0] for row in spark.table(ARCHIVE_TABLE).select("event_date").collect()}
    assert partitions == {T0.date()}
