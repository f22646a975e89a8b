"""Landing the online service's new rows: a late commit comes with the next
landing, and nothing is landed twice."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pyspark.sql import functions as F

from movie_recs.lake.landing import LANDING_SCHEMA, LATE_COMMIT_IDS, land_new_rows

# far above the ids the end-to-end tests' feedback uses
FIRST = 9_200_000_001
TABLE = "recommendation_feedback"


@pytest.fixture
def landing(spark, pg, tmp_path):
    """`landing.recommendation_feedback` in a lake of the test's own."""
    from movie_recs.lake.spark import LAKE_ROOT_KEY

    lake = spark.conf.get(LAKE_ROOT_KEY)
    spark.conf.set(LAKE_ROOT_KEY, str(tmp_path))
    yield spark
    spark.sql(f"drop table if exists {LANDING_SCHEMA}.{TABLE}")
    spark.conf.set(LAKE_ROOT_KEY, lake)
    with pg.transaction() as cur:
        cur.execute(f"delete from {TABLE} where feedback_id >= %s", (FIRST - 2 * LATE_COMMIT_IDS,))


def commit(pg, *ids: int) -> None:
    with pg.transaction() as cur:
        for feedback_id in ids:
            cur.execute(
                f"insert into {TABLE} (feedback_id, serve_id, user_id, movie_id, action,"
                " feedback_at) values (%s, 1, 1, 1, 'click', %s)",
                (feedback_id, datetime.now(UTC)),
            )


def landed_ids(spark) -> list[int]:
    rows = spark.table(f"{LANDING_SCHEMA}.{TABLE}").where(
        F.col("feedback_id") >= FIRST - 2 * LATE_COMMIT_IDS
    )
    return sorted(r.feedback_id for r in rows.select("feedback_id").collect())


def test_a_late_commit_is_landed_next_time_and_nothing_twice(landing, pg):
    spark = landing
    commit(pg, FIRST, FIRST + 1, FIRST + 3)
    land_new_rows(spark, pg, TABLE, "feedback_id")
    assert landed_ids(spark) == [FIRST, FIRST + 1, FIRST + 3]

    # FIRST + 2 commits after FIRST + 3 was landed, as concurrent writers do
    commit(pg, FIRST + 2, FIRST + 4)
    assert land_new_rows(spark, pg, TABLE, "feedback_id") == 2
    assert landed_ids(spark) == [FIRST + i for i in range(5)]

    assert land_new_rows(spark, pg, TABLE, "feedback_id") == 0
    assert landed_ids(spark) == [FIRST + i for i in range(5)]


def test_a_commit_later_than_the_lookback_is_not_landed(landing, pg):
    """The limit of the late-commit lookback, as documented."""
    spark = landing
    commit(pg, FIRST)
    land_new_rows(spark, pg, TABLE, "feedback_id")
    too_late = FIRST - LATE_COMMIT_IDS - 1
    commit(pg, too_late, FIRST - LATE_COMMIT_IDS + 1)
    assert land_new_rows(spark, pg, TABLE, "feedback_id") == 1
    assert too_late not in landed_ids(spark)
