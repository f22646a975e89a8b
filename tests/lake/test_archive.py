"""Appending to the event archive is idempotent per landed snapshot, an id
archived twice is found, and a window's events are those stamped inside it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from movie_recs.lake.archive import (
    ARCHIVE_TABLE,
    DuplicateEventIds,
    append_to_archive,
    archived_in_window,
    check_ids_archived_once,
)

EVENTS_SCHEMA = (
    "event_id long, user_id long, movie_id long, event_type string, rating double,"
    " event_ts timestamp"
)
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


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


def test_an_id_archived_twice_is_found_within_the_checked_range(archive_lake):
    spark = archive_lake
    append_to_archive(spark, _events(spark, [1, 2, 3]), "run-1", source=("snapshot", 1))
    check_ids_archived_once(spark, 1, 3)
    # a second snapshot that brings event 3 again, as a classification bug would
    append_to_archive(spark, _events(spark, [3, 4, 5]), "run-2", source=("snapshot", 2))

    check_ids_archived_once(spark, 4, 10)  # both copies of 3 lie outside
    for low, high in ((3, 3), (1, 5), (-(2**63), 2**63 - 1)):
        with pytest.raises(DuplicateEventIds, match=r"more than once: \[3\]") as raised:
            check_ids_archived_once(spark, low, high)
        assert raised.value.ids == [3]


def test_a_window_holds_the_events_stamped_inside_it(archive_lake):
    spark = archive_lake
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC)
    tick = timedelta(microseconds=1)
    stamps = {
        1: start - tick,  # the day before the window
        2: start,
        3: start + timedelta(hours=13),
        4: end - tick,
        5: end,  # as_of itself is after the window
        6: end + timedelta(days=1),
    }
    events = spark.createDataFrame(
        [(i, 7, 10, "view", None, ts) for i, ts in stamps.items()], EVENTS_SCHEMA
    )
    append_to_archive(spark, events, "run-1", source=("snapshot", 1))

    def window_ids(start, end):
        frame = archived_in_window(spark, start, end)
        return sorted(row[0] for row in frame.select("event_id").collect())

    def users_plan(start, end) -> str:
        view = "archived_window_users"  # dropped again: the session is the worker's
        archived_in_window(spark, start, end).select("user_id").createOrReplaceTempView(view)
        try:
            return spark.sql(f"explain select * from {view}").first()[0]
        finally:
            spark.catalog.dropTempView(view)

    # whole UTC days, however the bounds are written: the partitions alone,
    # event_ts not read
    plus_two = timezone(timedelta(hours=2))
    for bounds in ((start, end), (start.astimezone(plus_two), end.astimezone(plus_two))):
        assert window_ids(*bounds) == [2, 3, 4]
        assert "event_ts" not in users_plan(*bounds)
    # bounds within a day, as in a quarter-day window (30.25 days): the timestamps
    assert window_ids(start + timedelta(hours=12), end) == [3, 4]
    assert window_ids(start - timedelta(hours=6), end) == [1, 2, 3, 4]
    assert "event_ts" in users_plan(start - timedelta(hours=6), end)
