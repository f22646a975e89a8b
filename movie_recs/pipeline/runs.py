"""Bookkeeping in PostgreSQL: `pipeline_runs` rows and the one-run-at-a-time lock."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import psycopg2

from movie_recs.pipeline.context import TaskResult
from movie_recs.services.postgres import PgSettings

# pg_advisory_lock key of the nightly run ("nite")
NIGHTLY_LOCK_KEY = 0x6E697465


class LockHeld(RuntimeError):
    pass


class NightlyLock:
    """A session-level advisory lock, held on its own connection for the whole run.

    Released when the connection closes, including when the process dies.
    """

    def __init__(self, pg: PgSettings) -> None:
        self.pg = pg
        self.conn = None

    def __enter__(self) -> NightlyLock:
        self._acquire("another nightly run holds the lock; refusing to start a second one")
        return self

    def _acquire(self, refusal: str) -> None:
        self.conn = self.pg.connect()
        self.conn.autocommit = True
        with self.conn.cursor() as cur:
            cur.execute("select pg_try_advisory_lock(%s)", (NIGHTLY_LOCK_KEY,))
            if not cur.fetchone()[0]:
                self.conn.close()
                raise LockHeld(f"{refusal} (pg_advisory_lock {NIGHTLY_LOCK_KEY})")

    def ensure_held(self) -> None:
        """Take the lock again if its connection was lost (PostgreSQL restarted).

        A restart releases advisory locks; without this, a second run could
        start while this one goes on.
        """
        try:
            with self.conn.cursor() as cur:
                cur.execute("select 1")
            return
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            self.conn.close()
        self._acquire("lost the lock when PostgreSQL restarted and another run took it")

    def __exit__(self, *exc) -> None:
        self.conn.close()


class RunRecorder:
    """Writes one `pipeline_runs` row per task attempt, committed immediately."""

    def __init__(self, pg: PgSettings, run_id: str, run_date: date) -> None:
        self.pg = pg
        self.run_id = run_id
        self.run_date = run_date

    def _execute(self, sql: str, params: tuple):
        with self.pg.transaction() as cur:
            cur.execute(sql, params)
            return cur.fetchone() if cur.description else None

    def start(self, task: str) -> int:
        (attempt,) = self._execute(
            "insert into pipeline_runs (run_id, run_date, task, attempt, status, started_at)"
            " select %s, %s, %s, coalesce(max(attempt), 0) + 1, 'running', %s"
            " from pipeline_runs where run_id = %s and task = %s returning attempt",
            (self.run_id, self.run_date, task, datetime.now(UTC), self.run_id, task),
        )
        return attempt

    def finish(
        self,
        task: str,
        attempt: int,
        status: str,
        result: TaskResult | None = None,
        error: str | None = None,
    ) -> None:
        result = result or TaskResult()
        self._execute(
            "update pipeline_runs set status = %s, finished_at = %s, rows_in = %s,"
            " rows_out = %s, rows_rejected = %s, details = %s, error = %s"
            " where run_id = %s and task = %s and attempt = %s",
            (
                status,
                datetime.now(UTC),
                result.rows_in,
                result.rows_out,
                result.rows_rejected,
                json.dumps(result.metrics) if result.metrics else None,
                error,
                self.run_id,
                task,
                attempt,
            ),
        )

    def latest_attempts(self) -> dict[str, tuple[str, dict[str, Any] | None]]:
        """Per task of this run: the status and recorded details of its latest attempt."""
        with self.pg.transaction() as cur:
            cur.execute(
                "select distinct on (task) task, status, details from pipeline_runs"
                " where run_id = %s order by task, attempt desc",
                (self.run_id,),
            )
            return {task: (status, details) for task, status, details in cur}

    def close_abandoned(self) -> int:
        """Mark attempts left 'running' by a process that died as failed.

        Only called while holding the nightly lock, so no live run owns them.
        """
        with self.pg.transaction() as cur:
            cur.execute(
                "update pipeline_runs set status = 'failed', finished_at = now(),"
                " error = 'abandoned: the process ended without recording an outcome'"
                " where status = 'running'"
            )
            return cur.rowcount


def last_published_full_fit(pg: PgSettings, before: date, within_days: int) -> str | None:
    """The model version of the latest run dated in the `within_days` days before
    `before` whose train task refitted (did not fold in) and whose publish succeeded."""
    with pg.transaction() as cur:
        cur.execute(
            "select train.details->>'model_version' from pipeline_runs as train"
            " join pipeline_runs as publish on publish.run_id = train.run_id"
            "  and publish.task = 'publish' and publish.status = 'succeeded'"
            " where train.task = 'train' and train.status = 'succeeded'"
            "  and not train.details ? 'folded_in'"
            "  and train.run_date < %(day)s and train.run_date > %(day)s - %(within)s"
            " order by train.run_date desc, train.finished_at desc limit 1",
            {"day": before, "within": within_days},
        )
        row = cur.fetchone()
    return row[0] if row else None
