"""Bulk loads into PostgreSQL with COPY (the fastest path psycopg2 offers)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

import pandas as pd

from movie_recs.identifiers import checked_identifier

# characters psycopg2 asks for per read (its default, 8 KiB, costs a call per 8 KiB)
READ_SIZE = 1 << 20


def copy_rows(cur, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """COPY rows (tuples; None for NULL) into `table`; return how many were sent.

    The rows are streamed: memory holds one read buffer, not the whole set.
    """
    lines = ("\t".join(map(copy_text, row)) + "\n" for row in rows)
    return copy_lines(cur, table, columns, lines)


def copy_lines(
    cur, table: str, columns: Sequence[str], lines: Iterable[str], csv: bool = False
) -> int:
    """COPY text already in COPY's text format (or CSV with `csv`), streamed; each
    piece one or more whole lines. Returns the rows loaded."""
    table = checked_identifier(table)
    column_list = ", ".join(checked_identifier(c) for c in columns)
    options = " with (format csv)" if csv else ""
    cur.copy_expert(
        f"copy {table} ({column_list}) from stdin{options}", _CopyStream(lines), size=READ_SIZE
    )
    return cur.rowcount


class _CopyStream(io.TextIOBase):
    """COPY's text, piece by piece as psycopg2 reads it. A piece longer than a
    read is handed out in slices, without copying its rest on every read."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self._pending = ""
        self._offset = 0  # how much of _pending has been read

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> str:
        available = len(self._pending) - self._offset
        if size < 0 or available < size:
            parts = [self._pending[self._offset :]]
            while size < 0 or available < size:
                line = next(self._lines, None)
                if line is None:
                    break
                parts.append(line)
                available += len(line)
            self._pending, self._offset = "".join(parts), 0
        end = len(self._pending) if size < 0 else self._offset + size
        text = self._pending[self._offset : end]
        self._offset += len(text)
        return text


def copy_frame(cur, table: str, frame: pd.DataFrame) -> int:
    columns = list(frame.columns)
    rows = frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None)
    return copy_rows(cur, table, columns, rows)


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(value) -> str:
    """One value in COPY's text format."""
    kind = type(value)
    if kind is int or kind is float:  # the bulk of every load, formatted fastest
        return str(value)
    if value is None:
        return r"\N"
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value).translate(_ESCAPES)


def read_frame(cur, query: str, params: tuple = ()) -> pd.DataFrame:
    """A query's rows as a DataFrame (pandas' read_sql wants SQLAlchemy)."""
    cur.execute(query, params)
    return pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])
