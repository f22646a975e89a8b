"""Readers during a publish see the old set or the new one: never a mix, a part, or
nothing; the published rows are the lake's rows, value for value."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import psycopg2
import pytest

from movie_recs.pipeline.tasks.publish import (
    COLUMNS,
    SPLIT_BYTES,
    SPLIT_KEY,
    RecommendationSet,
    csv_chunks,
    read_set,
    replace_recommendations,
)
from movie_recs.services.postgres import LocalPostgres

USERS, TOP_K = 2_000, 50


def recommendations(version: str, extra: str = "") -> RecommendationSet:
    """A set as publish gets it."""
    lines = (
        f"{user},{rank},{rank * 7 + user % 5},{1.0 / rank!r}\n"
        for user in range(1, USERS + 1)
        for rank in range(1, TOP_K + 1)
    )
    return RecommendationSet([*lines, extra], version, datetime.now(UTC).isoformat())


def test_readers_never_see_a_mix_or_a_partial_set(pg):
    replace_recommendations(pg, recommendations("v0"), "readers-test", [])
    seen: list[tuple] = []
    errors: list[Exception] = []
    stop = threading.Event()

    def read_in_a_loop():
        conn = pg.connect()
        conn.autocommit = True  # each query its own snapshot, as the online service reads
        with conn.cursor() as cur:
            while not stop.is_set():
                try:
                    cur.execute(
                        "select count(*), count(distinct model_version), min(model_version)"
                        " from batch_recommendations"
                    )
                except psycopg2.Error as error:  # e.g. the swapped-out table not found
                    errors.append(error)
                    break
                seen.append(cur.fetchone())
        conn.close()

    reader = threading.Thread(target=read_in_a_loop)
    reader.start()
    try:
        for publish in range(1, 4):
            replace_recommendations(pg, recommendations(f"v{publish}"), "readers-test", [])
    finally:
        stop.set()
        reader.join(timeout=60)

    assert not errors, f"a reader failed during a publish: {errors}"
    assert len(seen) > 10, "the reader did not get to read during the publishes"
    versions = {version for _, _, version in seen}
    assert len(versions) >= 2, "no publish happened while the reader was reading"
    for count, n_versions, version in seen:
        assert (count, n_versions) == (USERS * TOP_K, 1), f"saw {count} rows of {version}"
    with pg.transaction() as cur:
        cur.execute("delete from batch_recommendations")


def test_the_swapped_in_set_keeps_its_keys_and_the_services_read_grant(pg):
    replace_recommendations(pg, recommendations("v1"), "keys-test", [])
    with pg.transaction() as cur:
        cur.execute("select indexname from pg_indexes where tablename = 'batch_recommendations'")
        assert {name for (name,) in cur.fetchall()} == {
            "batch_recommendations_pkey",
            "batch_recommendations_user_id_movie_id_key",
        }
        cur.execute(  # the defaults that carried the set's shared values are gone
            "select column_name from information_schema.columns"
            " where table_name = 'batch_recommendations' and column_default is not null"
        )
        assert cur.fetchall() == []
    service = LocalPostgres().service_settings().connect()
    try:
        with service.cursor() as cur:
            cur.execute("select count(distinct model_version) from batch_recommendations")
            assert cur.fetchone() == (1,)
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute("delete from batch_recommendations")
    finally:
        service.close()


def test_a_set_breaking_a_key_is_refused_whole_and_the_old_set_stays(pg):
    replace_recommendations(pg, recommendations("v1"), "keys-test", [])
    twice = recommendations("v2", extra="1,1,999,0.5\n")
    with pytest.raises(psycopg2.errors.UniqueViolation):
        replace_recommendations(pg, twice, "keys-test", [])
    with pg.transaction() as cur:
        cur.execute("select count(*), min(model_version) from batch_recommendations")
        assert cur.fetchone() == (USERS * TOP_K, "v1")
        cur.execute("select to_regclass('batch_recommendations_next')")
        assert cur.fetchone() == (None,)


def test_the_published_rows_are_the_lakes_value_for_value(spark, pg):
    at = datetime(2026, 3, 1, 23, 59, 58, 123456, tzinfo=UTC)
    version = 'als "quoted", with a comma\tand a tab'
    rows = [
        (1, 1, 10, 1.0 / 3, version, at),
        (1, 2, 11, -1.25e-300, version, at),
        (2, 1, 10, 7.0, version, at),
    ]
    frame = spark.createDataFrame(rows, "user_id long, rank int, movie_id long, score double,"
                                  " model_version string, generated_at timestamp")  # fmt: skip
    assert replace_recommendations(pg, read_set(frame), "exact-test", []) == len(rows)
    with pg.transaction() as cur:
        cur.execute(f"select {', '.join(COLUMNS)} from batch_recommendations order by 1, 2")
        assert cur.fetchall() == rows
        cur.execute("delete from batch_recommendations")


def test_an_empty_set_replaces_the_old_one(spark, pg):
    replace_recommendations(pg, recommendations("v1"), "empty-test", [])
    frame = spark.createDataFrame([], "user_id long, rank int, movie_id long, score double,"
                                  " model_version string, generated_at timestamp")  # fmt: skip
    assert replace_recommendations(pg, read_set(frame), "empty-test", []) == 0
    with pg.transaction() as cur:
        cur.execute("select count(*) from batch_recommendations")
        assert cur.fetchone() == (0,)


def test_formatting_leaves_the_sessions_split_size_as_it_was(spark):
    before = spark.conf.get(SPLIT_KEY)
    assert before != str(SPLIT_BYTES)
    assert "".join(csv_chunks(spark.range(1, 4).toDF("n"))) == "1\n2\n3\n"
    assert spark.conf.get(SPLIT_KEY) == before
