"""Bulk loads into PostgreSQL with COPY (the fastest path psycopg2 offers)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

import pandas as pd

from movie_recs.identifiers import checked_identifier


def copy_rows(cur, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """COPY rows (tuples; None for NULL) into `table`; return how many were sent."""
    table = checked_identifier(table)
    column_list = ", ".join(checked_identifier(c) for c in columns)
    buffer = io.StringIO()
    count = 0
    for row in rows:
        buffer.write("\t".join(_copy_text(value) for value in row))
        buffer.write("\n")
        count += 1
    buffer.seek(0)
    cur.copy_expert(f"copy {table} ({column_list}) from stdin", buffer)
    return count


def copy_frame(cur, table: str, frame: pd.DataFrame) -> int:
    columns = list(frame.columns)
    rows = frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None)
    return copy_rows(cur, table, columns, rows)


def _copy_text(value) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def read_frame(conn, query: str, params: tuple = ()) -> pd.DataFrame:
    """A query's rows as a DataFrame (pandas' read_sql wants SQLAlchemy)."""
    with conn.cursor() as cur:
        cur.execute(query, params)
        return pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])
