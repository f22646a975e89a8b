"""Each kind of bad event gets its reason; good events and reruns pass."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from movie_recs.pipeline.event_rules import REJECT_REASONS, classify_events

T0 = datetime(2026, 2, 27, 12, 0, tzinfo=UTC)
NOT_AFTER = datetime(2026, 3, 1, tzinfo=UTC)
EVENTS_SCHEMA = (
    "event_id long, user_id long, movie_id long, event_type string, rating double,"
    " event_ts timestamp"
)

# event_id -> (row, expected reason or None)
CASES = {
    "valid_view": ((1, 7, 10, "view", None, T0), None),
    "valid_rating": ((2, 7, 10, "rate", 4.5, T0), None),
    "null_user_id": ((3, None, 10, "view", None, T0), "null_user_id"),
    "null_movie_id": ((4, 7, None, "view", None, T0), "null_movie_id"),
    "negative_user_id": ((13, -1, 10, "view", None, T0), "id_out_of_range"),
    "user_id_past_int": ((14, 2**31, 10, "view", None, T0), "id_out_of_range"),
    "movie_id_past_int": ((15, 7, 2**31, "view", None, T0), "id_out_of_range"),
    "unknown_event_type": ((5, 7, 10, "purchase", None, T0), "unknown_event_type"),
    "null_event_type": ((6, 7, 10, None, None, T0), "unknown_event_type"),
    "future_timestamp": (
        (7, 7, 10, "view", None, datetime(2030, 1, 1, tzinfo=UTC)),
        "future_timestamp",
    ),
    "rating_not_a_number": ((8, 7, 10, "rate", float("nan"), T0), "rating_not_a_number"),
    "rating_above_range": ((9, 7, 10, "rate", 7.0, T0), "rating_out_of_range"),
    "rating_below_range": ((10, 7, 10, "rate", 0.0, T0), "rating_out_of_range"),
    "rating_missing": ((11, 7, 10, "rate", None, T0), "rating_out_of_range"),
    "unknown_movie": ((12, 7, 999, "view", None, T0), "unknown_movie"),
    "duplicate_event_id": ((100, 7, 11, "click", None, T0), "duplicate_event_id"),
    "already_archived_same_event": ((101, 7, 10, "view", None, T0), None),
}


@pytest.fixture(scope="module")
def classified_rows(spark):
    events = spark.createDataFrame([row for row, _ in CASES.values()], EVENTS_SCHEMA)
    movies = spark.createDataFrame([(10,), (11,)], "movie_id long")
    archived = spark.createDataFrame(
        [(100, 7, 10, "view", None, T0), (101, 7, 10, "view", None, T0)], EVENTS_SCHEMA
    )
    return classify_events(
        events,
        movies,
        archived,
        event_types=["view", "click", "watchlist", "watch", "rate"],
        rating_min=0.5,
        rating_max=5.0,
        not_after=NOT_AFTER,
    ).collect()


@pytest.fixture(scope="module")
def classified(classified_rows):
    return {row["event_id"]: row for row in classified_rows}


@pytest.mark.parametrize("case", CASES)
def test_reason(classified, case):
    (event_id, *_), expected = CASES[case]
    assert classified[event_id]["reject_reason"] == expected


def test_every_event_is_classified_once(classified_rows):
    ids = sorted(row["event_id"] for row in classified_rows)
    assert ids == sorted(event_id for (event_id, *_), _ in CASES.values())


def test_every_reason_is_exercised(classified):
    given = {row["reject_reason"] for row in classified.values()} - {None}
    assert given == set(REJECT_REASONS)


def test_rerun_of_an_archived_event_is_marked_not_rejected(classified):
    assert classified[101]["is_archived"] is True
    assert classified[100]["is_archived"] is False
