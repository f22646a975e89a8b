"""The landed inputs' checks: what each kind of bad snapshot does to the run."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from pyspark.sql import types as T

from movie_recs.config import dbt_vars
from movie_recs.lake.archive import append_to_archive
from movie_recs.pipeline.input_checks import (
    InputChecksFailed,
    check_inputs,
    day_events_range,
    forget_day_volumes,
    recent_day_events,
)
from movie_recs.pipeline.tasks.active_users import _day_events

SNAPSHOT = T.StructType(
    [
        T.StructField("event_id", T.LongType()),
        T.StructField("user_id", T.LongType()),
        T.StructField("movie_id", T.LongType()),
        T.StructField("event_type", T.StringType()),
        T.StructField("rating", T.DoubleType()),
        T.StructField("event_ts", T.TimestampType()),
        T.StructField("reject_reason", T.StringType()),
    ]
)
AT = datetime(2026, 11, 30, 12, tzinfo=UTC)


def snapshot(spark, n_good: int, n_rejected: int = 0, schema=SNAPSHOT):
    rows = [(i, 1, 1, "view", None, AT, None) for i in range(n_good)]
    rows += [(n_good + i, None, 1, "view", None, AT, "null_user_id") for i in range(n_rejected)]
    return spark.createDataFrame(rows, schema)


def run_vars(**overrides):
    return dbt_vars(overrides)


def test_a_clean_snapshot_passes(spark):
    frame = snapshot(spark, 96, 4)  # 4 % rejected, under the default 5 %
    assert check_inputs(frame, frame, [100, 100, 100], run_vars()) == []


def test_the_checks_leave_the_snapshot_uncached(spark):
    """Great Expectations caches a batch unless told not to, and never releases it."""
    frame = snapshot(spark, 96, 4)
    check_inputs(frame, frame, [100, 100, 100], run_vars())
    assert not frame.is_cached


def test_an_empty_snapshot_passes_until_recent_nights_say_otherwise(spark):
    empty = snapshot(spark, 0)
    assert check_inputs(empty, empty, [], run_vars()) == []
    with pytest.raises(InputChecksFailed, match=r"between 20 and 500.*observed 0"):
        check_inputs(empty, empty, [100, 90, 110], run_vars())


def test_too_many_rejects_stop_the_run_or_warn(spark):
    frame = snapshot(spark, 90, 10)
    with pytest.raises(InputChecksFailed) as failed:
        check_inputs(frame, frame, [], run_vars())
    (failure,) = failed.value.failures
    assert "rejected events at most 0.05 of the snapshot (max_reject_share)" in failure
    assert check_inputs(frame, frame, [], run_vars(on_input_check_failure="warn")) == [failure]
    assert check_inputs(frame, frame, [], run_vars(max_reject_share=0.1)) == []


def test_a_column_of_another_type_or_a_missing_column_stops_the_run(spark):
    as_text = T.StructType(
        [T.StructField(f.name, T.StringType()) if f.name == "rating" else f for f in SNAPSHOT]
    )
    frame = snapshot(spark, 10, schema=as_text)
    with pytest.raises(InputChecksFailed) as failed:
        check_inputs(frame, frame, [], run_vars())
    assert failed.value.failures == [
        "expect_column_values_to_be_of_type({'column': 'rating', 'type_': 'DoubleType'}):"
        " observed StringType"
    ]
    without_movie = snapshot(spark, 10).drop("movie_id")
    with pytest.raises(InputChecksFailed, match="expect_table_columns_to_match_set"):
        check_inputs(without_movie, without_movie, [], run_vars())


@pytest.mark.parametrize(
    ("day_events", "passes"), [(19, False), (20, True), (100, True), (500, True), (501, False)]
)
def test_the_days_volume_against_recent_nights(spark, day_events, passes):
    frame = snapshot(spark, day_events)
    recent = [100, 80, 120, 100]  # median 100, input_volume_ratio 5: 20 to 500
    if passes:
        assert check_inputs(frame, frame, recent, run_vars()) == []
    else:
        with pytest.raises(InputChecksFailed, match=f"observed {day_events}"):
            check_inputs(frame, frame, recent, run_vars())


def test_the_volume_check_waits_for_three_recorded_nights_with_events():
    assert day_events_range([100, 100], 5.0) is None
    assert day_events_range([0, 0, 5], 5.0) is None  # a median of 0: nothing to compare with
    assert day_events_range([100, 300, 200], 5.0) == (40, 1000)
    assert day_events_range([7, 9, 1000, 8], 2.0) == (4, 17)  # a median: one odd night moves little


TONIGHT = date(2033, 6, 10)


@pytest.fixture
def first_tasks(pg, record_attempt):
    """Record first-task attempts: (days before tonight, status, day_events, attempt)."""

    def record(days_before: int, status: str, day_events: int | None, attempt: int = 1) -> None:
        day = TONIGHT - timedelta(days=days_before)
        details = {} if day_events is None else {"day_events": float(day_events)}
        record_attempt(f"input-test-{day}", day, "active_users", status, details, attempt)

    yield record
    with pg.transaction() as cur:
        cur.execute("delete from pipeline_runs where run_id like 'input-test-%'")


def test_recent_nights_are_the_latest_succeeded_attempt_of_each_earlier_date(pg, first_tasks):
    first_tasks(0, "succeeded", 999)  # tonight itself (a --force rerun): not a recent night
    first_tasks(1, "succeeded", 10)
    first_tasks(1, "succeeded", 11, attempt=2)  # the later attempt counts
    first_tasks(2, "failed", 500)
    first_tasks(3, "succeeded", None)  # recorded before the count existed
    for days in range(4, 12):
        first_tasks(days, "succeeded", days)
    assert recent_day_events(pg, TONIGHT) == [11, 4, 5, 6, 7, 8, 9]


def test_replaced_inputs_start_a_new_baseline(pg, first_tasks):
    for days in range(1, 5):
        first_tasks(days, "succeeded", 100)
    with pg.transaction() as cur:  # what demo-data and load-movielens do
        forget_day_volumes(cur)
    assert recent_day_events(pg, TONIGHT) == []
    first_tasks(0, "succeeded", 7)  # a night after the load counts again
    assert recent_day_events(pg, TONIGHT + timedelta(days=1)) == [7]


def test_the_days_events_include_those_archived_already(archive_lake):
    """A night run two days late finds its day archived: the count is the same."""
    spark = archive_lake
    as_of = datetime(2026, 12, 1, tzinfo=UTC)
    day = as_of - timedelta(hours=12)
    rows = [
        (1, 1, 1, "view", None, day, None, False),  # in PostgreSQL only
        (2, 1, 1, "view", None, day, "unknown_movie", False),  # a reject counts too
        (3, 1, 1, "view", None, day, None, True),  # archived already: counted once
        (4, 1, 1, "view", None, as_of - timedelta(days=2), None, False),  # another day
    ]
    with_flag = T.StructType([*SNAPSHOT.fields, T.StructField("is_archived", T.BooleanType())])
    snapshot = spark.createDataFrame(rows, with_flag)
    archived = spark.createDataFrame(  # 6 is the next day's
        [(i, 1, 1, "view", None, at) for i, at in ((3, day), (5, day), (6, as_of))],
        "event_id long, user_id long, movie_id long, event_type string, rating double,"
        " event_ts timestamp",
    )
    append_to_archive(spark, archived, "run", source=("test", 1))
    ctx = SimpleNamespace(spark=spark, as_of=as_of)
    assert sorted(r.event_id for r in _day_events(ctx, snapshot).collect()) == [1, 2, 3, 5]
