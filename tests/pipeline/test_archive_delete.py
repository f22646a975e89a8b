"""The archive task deletes exactly the moved event ids from PostgreSQL, as ranges,
and none while the archive holds one of them twice."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from movie_recs.lake.archive import DuplicateEventIds, append_to_archive
from movie_recs.pipeline.tasks.archive import _check_and_delete, _delete_from_postgres, id_ranges

# far above the ids the end-to-end tests' events use
FIRST_ID = 9_100_000_001


def _expand(ranges: np.ndarray) -> list[int]:
    return [i for low, high in ranges for i in range(low, high + 1)]


@pytest.mark.parametrize("seed", range(5))
def test_ranges_cover_exactly_the_ids(seed):
    rng = np.random.default_rng(seed)
    ids = rng.choice(np.arange(10_000, 12_000), size=1_500, replace=True)
    ranges = id_ranges(ids)
    assert _expand(ranges) == sorted(set(ids.tolist()))
    # maximal runs: no two ranges touch, so no range could be merged with the next
    assert all(ranges[1:, 0] > ranges[:-1, 1] + 1)


def test_no_ids_no_ranges():
    assert id_ranges(np.array([], dtype=np.int64)).shape == (0, 2)


@pytest.fixture
def events_table(pg):
    conn = pg.connect()
    with conn, conn.cursor() as cur:
        cur.execute(
            "insert into rt_user_interactions (event_id, user_id, movie_id, event_type, event_ts)"
            " select id, 1, 1, 'view', now() from generate_series(%s, %s) as id",
            (FIRST_ID, FIRST_ID + 99),
        )
    yield conn
    with conn, conn.cursor() as cur:
        cur.execute("delete from rt_user_interactions where event_id >= %s", (FIRST_ID,))
    conn.close()


def _ids_in_postgres(conn) -> list[int]:
    with conn.cursor() as cur:
        cur.execute("select event_id from rt_user_interactions where event_id >= %s", (FIRST_ID,))
        return sorted(row[0] for row in cur.fetchall())


def test_only_the_moved_ids_are_deleted(events_table, pg):
    moved = [FIRST_ID + i for i in (*range(0, 40), 41, *range(50, 60), 99)]

    assert _delete_from_postgres(SimpleNamespace(pg=pg), np.array(moved)) == len(moved)
    assert _ids_in_postgres(events_table) == sorted(
        set(range(FIRST_ID, FIRST_ID + 100)) - set(moved)
    )


def test_an_id_archived_twice_deletes_nothing(events_table, pg, archive_lake):
    spark = archive_lake
    moved = np.arange(FIRST_ID, FIRST_ID + 10)
    events = spark.range(FIRST_ID, FIRST_ID + 10).selectExpr(
        "id as event_id", "1L as user_id", "1L as movie_id", "'view' as event_type",
        "cast(null as double) as rating", "timestamp'2026-03-01 12:00:00' as event_ts",
    )  # fmt: skip
    append_to_archive(spark, events, "run-1", source=("snapshot", 1))
    # a second append of one of them, as a classification bug would make
    append_to_archive(spark, events.where(f"event_id = {FIRST_ID + 4}"), "run-2", ("snapshot", 2))
    ctx = SimpleNamespace(pg=pg, spark=spark)

    with pytest.raises(DuplicateEventIds):
        _check_and_delete(ctx, moved)
    # the events stay in PostgreSQL: the next night moves and checks them again
    assert _ids_in_postgres(events_table) == list(range(FIRST_ID, FIRST_ID + 100))
    # ids whose range holds no duplicate are deleted
    assert _check_and_delete(ctx, moved[:4]) == 4
    assert _ids_in_postgres(events_table) == list(range(FIRST_ID + 4, FIRST_ID + 100))
