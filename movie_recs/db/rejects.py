"""`rejected_events`: input set aside with a reason, once per source row."""

from __future__ import annotations

from collections.abc import Iterable

from psycopg2.extras import execute_values

from movie_recs.services.postgres import PgSettings


def record_rejects(pg: PgSettings, source_table: str, run_id: str, rows: Iterable[tuple]) -> int:
    """Insert (source_key, reason, payload_json) rows; a row already recorded is skipped.

    Returns how many rows were given (recorded now or before)."""
    sent = 0

    def with_context():
        nonlocal sent
        for key, reason, payload in rows:
            sent += 1
            yield (source_table, key, reason, payload, run_id)

    with pg.transaction() as cur:
        execute_values(
            cur,
            "insert into rejected_events (source_table, source_key, reason, payload, run_id)"
            " values %s on conflict (source_table, source_key) do nothing",
            with_context(),
            page_size=5_000,
        )
    return sent
