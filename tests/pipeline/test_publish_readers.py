"""Readers during a publish see the old set or the new one: never a mix, a part, or nothing."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from movie_recs.pipeline.tasks.publish import replace_recommendations

USERS, TOP_K = 2_000, 50


def recommendations(version: str):
    now = datetime.now(UTC)
    return (
        (user, rank, rank * 7 + user % 5, 1.0 / rank, version, now)
        for user in range(1, USERS + 1)
        for rank in range(1, TOP_K + 1)
    )


def test_readers_never_see_a_mix_or_a_partial_set(pg):
    replace_recommendations(pg, recommendations("v0"), "readers-test", [])
    seen: list[tuple] = []
    stop = threading.Event()

    def read_in_a_loop():
        conn = pg.connect()
        conn.autocommit = True  # each query its own snapshot, as the online service reads
        with conn.cursor() as cur:
            while not stop.is_set():
                cur.execute(
                    "select count(*), count(distinct model_version), min(model_version)"
                    " from batch_recommendations"
                )
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

    assert len(seen) > 10, "the reader did not get to read during the publishes"
    versions = {version for _, _, version in seen}
    assert len(versions) >= 2, "no publish happened while the reader was reading"
    for count, n_versions, version in seen:
        assert (count, n_versions) == (USERS * TOP_K, 1), f"saw {count} rows of {version}"
    with pg.connect() as conn, conn.cursor() as cur:
        cur.execute("delete from batch_recommendations")
