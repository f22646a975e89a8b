"""Shared checks for the end-to-end tests (local and s3 targets)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pyspark.sql import functions as F

from movie_recs.config import dbt_vars

# One of each kind of bad event, injected next to the generated ones, some
# recent (hours before the first night's as_of) and some old enough to archive.
BAD_EVENTS = {
    # event_id: (user_id, movie_id, event_type, rating, hours before as_of, expected reason)
    90_000_001: (None, 1, "view", None, 3, "null_user_id"),
    90_000_002: (1, None, "view", None, 60, "null_movie_id"),
    90_000_008: (-1, 1, "view", None, 3, "id_out_of_range"),  # an "anonymous" user
    90_000_003: (1, 1, "purchase", None, 3, "unknown_event_type"),
    90_000_004: (1, 999_999, "view", None, 60, "unknown_movie"),
    90_000_005: (1, 1, "rate", 9.0, 3, "rating_out_of_range"),
    90_000_006: (1, 1, "rate", float("nan"), 60, "rating_not_a_number"),
    # stamped two days after the wall clock
    90_000_007: (1, 1, "view", None, None, "future_timestamp"),
    # id 1 is the oldest generated event, already in the archive with other content
    1: (1, 2, "click", None, 3, "duplicate_event_id"),
}


class Checks:
    def __init__(self, pg, spark, lake_root: str) -> None:
        self.pg = pg
        self.spark = spark
        self.lake = lake_root

    def sql(self, query: str, params: tuple = ()):
        with self.pg.transaction() as cur:
            cur.execute(query, params)
            return cur.fetchall()

    def inject_bad_events(self) -> int:
        as_of = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        future = datetime.now(UTC) + timedelta(days=2)
        with self.pg.transaction() as cur:
            for event_id, (user, movie, kind, rating, hours_ago, _) in BAD_EVENTS.items():
                event_ts = future if hours_ago is None else as_of - timedelta(hours=hours_ago)
                cur.execute(
                    "insert into rt_user_interactions"
                    " (event_id, user_id, movie_id, event_type, rating, event_ts)"
                    " values (%s, %s, %s, %s, %s, %s)",
                    (event_id, user, movie, kind, rating, event_ts),
                )
        return len(BAD_EVENTS)

    def delta(self, path: str):
        return self.spark.read.format("delta").load(f"{self.lake}/{path}")

    def archived_count(self) -> int:
        return self.delta("archived-events").count()

    def events_everywhere(self, since: datetime) -> int:
        """Events in PostgreSQL + archive + rejects + expired by retention since `since`.

        Conservation: this equals every event written since then.
        """
        (in_pg,) = self.sql("select count(*) from rt_user_interactions")[0]
        (rejected,) = self.sql(
            "select count(*) from rejected_events where source_table = 'rt_user_interactions'"
        )[0]
        (expired,) = self.sql(
            "select coalesce(sum((details->>'archive_events_expired')::numeric), 0)"
            " from pipeline_runs where task = 'archive' and started_at >= %s",
            (since,),
        )[0]
        return in_pg + self.archived_count() + rejected + int(expired)

    def assert_recommendations_complete(self, top_k: int = 50) -> str:
        """Every active user: exactly top_k unique movies unseen in the night's
        training window (an older event may still be archived: a night simulated
        ahead of the clock expires partitions as of today). Returns the model version."""
        recs = self.sql("select user_id, rank, movie_id, model_version from batch_recommendations")
        versions = {r[3] for r in recs}
        assert len(versions) == 1, f"mixed model versions {versions}"
        active_rows = self.delta("pipeline/active_users").collect()
        active = {r["user_id"] for r in active_rows}
        as_of = active_rows[0]["as_of"].replace(tzinfo=UTC)  # Spark gives UTC, naive
        window = (as_of - timedelta(days=dbt_vars()["training_window_days"]), as_of)
        by_user: dict[int, list] = {}
        for user, rank, movie, _ in recs:
            by_user.setdefault(user, []).append((rank, movie))
        assert set(by_user) == active
        archived = self.delta("archived-events").where(
            (F.col("event_ts") >= window[0]) & (F.col("event_ts") < window[1])
        )
        seen = {(r["user_id"], r["movie_id"]) for r in archived.collect()} | set(
            self.sql(
                "select user_id, movie_id from rt_user_interactions"
                " where event_ts >= %s and event_ts < %s",
                window,
            )
        )
        for user, items in by_user.items():
            assert sorted(rank for rank, _ in items) == list(range(1, top_k + 1)), user
            movies = [movie for _, movie in items]
            assert len(set(movies)) == top_k
            assert not any((user, m) in seen for m in movies), f"user {user} got a seen movie"
        return versions.pop()

    def published_set(self) -> tuple:
        """What readers see in `batch_recommendations`: versions, rows, users, a checksum."""
        return self.sql(
            "select array_agg(distinct model_version), count(*), count(distinct user_id),"
            " sum(hashtext(user_id || ':' || rank || ':' || movie_id)::numeric)"
            " from batch_recommendations"
        )[0]

    def metrics(self, run_id: str) -> dict[str, float]:
        rows = self.sql(
            "select metric_name, metric_value from model_performance_logs where run_id = %s",
            (run_id,),
        )
        return dict(rows)

    def task_statuses(self, run_id: str) -> list[tuple[str, int, str]]:
        return self.sql(
            "select task, attempt, status from pipeline_runs where run_id = %s"
            " order by started_at, attempt",
            (run_id,),
        )


@pytest.fixture(scope="session")
def lake_root(fresh_state):
    return str(fresh_state / "lake")


@pytest.fixture(scope="session")
def checks(pg, spark, lake_root):
    return Checks(pg, spark, lake_root)


@pytest.fixture(scope="session")
def s3_checks(pg, spark, s3):
    """Checks over the lake in the bucket, read through s3a by the test's Spark."""
    hadoop = spark.sparkContext._jsc.hadoopConfiguration()
    for key, value in {
        "fs.s3a.endpoint": s3.endpoint_url,
        "fs.s3a.access.key": s3.access_key,
        "fs.s3a.secret.key": s3.secret_key,
        "fs.s3a.endpoint.region": s3.region,
        "fs.s3a.path.style.access": "true",
        "fs.s3a.connection.ssl.enabled": "false",
    }.items():
        hadoop.set(key, value)
    return Checks(pg, spark, f"s3a://{s3.bucket}/lake")


@pytest.fixture(scope="session")
def bad_events():
    return BAD_EVENTS
