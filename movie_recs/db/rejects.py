"""`rejected_events`: input set aside with a reason, once per source row."""

from __future__ import annotations

from collections.abc import Iterable

from psycopg2.extras import execute_values

from movie_recs.services.postgres import PgSettings


def record_rejects(pg: PgSettings, source_table: str, run_id: str, rows: Iterable[tuple]) -> None:
    """Insert (source_key, reason, payload_json) rows; a row already recorded is skipped."""
    conn = pg.connect()
    try:
        with conn, conn.cursor() as cur:
            execute_values(
                cur,
                "insert into rejected_events (source_table, source_key, reason, payload, run_id)"
                " values %s on conflict (source_table, source_key) do nothing",
                ((source_table, key, reason, payload, run_id) for key, reason, payload in rows),
                page_size=5_000,
            )
    finally:
        conn.close()
