"""The events snapshot reads the ids PostgreSQL held when the night began."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from movie_recs.lake.landing import read_postgres
from movie_recs.pipeline.tasks.active_users import _snapshot_query

# far above the ids the end-to-end tests' events use
FIRST_ID = 9_000_000_001
AS_OF = datetime(2026, 3, 1, tzinfo=UTC)
NOT_AFTER = AS_OF + timedelta(days=365)


@pytest.fixture
def events_table(pg):
    conn = pg.connect()
    yield conn
    with conn, conn.cursor() as cur:
        cur.execute("delete from rt_user_interactions where event_id >= %s", (FIRST_ID,))
    conn.close()


def _insert(conn, event_id: int, event_ts: datetime) -> None:
    with conn, conn.cursor() as cur:
        cur.execute(
            "insert into rt_user_interactions (event_id, user_id, movie_id, event_type, event_ts)"
            " values (%s, 1, 1, 'view', %s)",
            (event_id, event_ts),
        )


def test_an_event_committed_after_the_bounds_waits_for_the_next_night(events_table, spark, pg):
    before_as_of = AS_OF - timedelta(hours=1)
    _insert(events_table, FIRST_ID, before_as_of)
    _insert(events_table, FIRST_ID + 1, before_as_of)
    ids = (FIRST_ID, FIRST_ID + 1)  # the table's bounds when the night began
    _insert(events_table, FIRST_ID + 2, before_as_of)  # committed after that

    snapshot = read_postgres(
        spark, pg, _snapshot_query(AS_OF, NOT_AFTER, ids), split_by=("event_id", *ids)
    )
    # without the bounds in the query, the last range's read would take it too
    assert sorted(r.event_id for r in snapshot.collect()) == [FIRST_ID, FIRST_ID + 1]


def test_events_after_as_of_wait_and_future_ones_come_to_be_rejected(events_table, spark, pg):
    _insert(events_table, FIRST_ID, AS_OF + timedelta(hours=1))  # tomorrow night's
    _insert(events_table, FIRST_ID + 1, NOT_AFTER + timedelta(days=1))  # stamped in the future
    ids = (FIRST_ID, FIRST_ID + 1)

    snapshot = read_postgres(
        spark, pg, _snapshot_query(AS_OF, NOT_AFTER, ids), split_by=("event_id", *ids)
    )
    assert [r.event_id for r in snapshot.collect()] == [FIRST_ID + 1]
