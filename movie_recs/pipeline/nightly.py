"""The nightly run: five named tasks, then analytics, each recorded and retried.

Exit codes, like dbt's: 0 published; 1 a gate or a dbt test failed (or
another run holds the lock): nothing published; 2 an unexpected error.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import psycopg2
from py4j.protocol import Py4JNetworkError

from movie_recs.config import dbt_vars
from movie_recs.db.migrate import migrate
from movie_recs.dbt import DbtFailed
from movie_recs.lake.spark import get_spark
from movie_recs.pipeline.context import RunContext, TaskResult
from movie_recs.pipeline.faults import fault_point
from movie_recs.pipeline.runs import LockHeld, NightlyLock, RunRecorder
from movie_recs.pipeline.tasks import active_users, analytics, archive, publish, train, validate
from movie_recs.services.postgres import ensure_postgres
from movie_recs.services.s3 import ensure_s3

log = logging.getLogger("movie_recs.nightly")

EXIT_OK, EXIT_FAILED_CHECK, EXIT_ERROR = 0, 1, 2


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[RunContext], TaskResult]
    retries: int = 2


STEPS = [
    Step("active_users", active_users.run),
    Step("archive", archive.run),
    Step("train", train.run, retries=1),
    Step("validate", validate.run, retries=0),
    Step("publish", publish.run),
    Step("analytics", analytics.run, retries=1),
]

# Failures worth another attempt: lost connections to PostgreSQL or the JVM.
TRANSIENT = (psycopg2.OperationalError, Py4JNetworkError, ConnectionError, TimeoutError)
HANDLED = (validate.GateFailed, DbtFailed)
BACKOFF_S = float(os.environ.get("MOVIE_RECS_RETRY_BACKOFF_S", "5"))


def prepare_services(target: str):
    """Start (or find) PostgreSQL and, for the s3 target, the object store."""
    pg = ensure_postgres()
    migrate(pg)
    if target == "s3":
        os.environ.update(ensure_s3().env())
    return pg


def run_step(ctx: RunContext, recorder: RunRecorder, step: Step) -> None:
    for attempt_no in range(step.retries + 1):
        attempt = recorder.start(step.name)
        started = time.monotonic()
        try:
            result = step.run(ctx)
        except TRANSIENT as exc:
            recorder.finish(step.name, attempt, "failed", error=f"transient: {exc}"[:4000])
            if attempt_no == step.retries:
                raise
            wait = BACKOFF_S * 2**attempt_no
            log.warning(
                "run=%s task=%s attempt=%d transient failure, retry in %.0fs: %s",
                ctx.run_id,
                step.name,
                attempt,
                wait,
                exc,
            )
            time.sleep(wait)
            continue
        except BaseException as exc:
            recorder.finish(step.name, attempt, "failed", error=str(exc)[:4000])
            raise
        ctx.facts.update(result.metrics)
        recorder.finish(step.name, attempt, "succeeded", result)
        log.info(
            "run=%s task=%s attempt=%d succeeded in %.1fs rows_in=%s rows_out=%s rejected=%s",
            ctx.run_id,
            step.name,
            attempt,
            time.monotonic() - started,
            result.rows_in,
            result.rows_out,
            result.rows_rejected,
        )
        return


def run_nightly(
    run_date: date,
    target: str = "local",
    force: bool = False,
    var_overrides: dict[str, Any] | None = None,
) -> int:
    run_id = f"nightly-{run_date.isoformat()}"
    done: list[str] = []
    try:
        pg = prepare_services(target)
        recorder = RunRecorder(pg, run_id, run_date)
        with NightlyLock(pg):
            recorder.close_abandoned()
            if recorder.already_completed(STEPS[-1].name) and not force:
                log.info("run=%s already completed; nothing to do (use --force to rerun)", run_id)
                return EXIT_OK
            started_at = datetime.now(UTC)
            ctx = RunContext(
                run_id=run_id,
                run_date=run_date,
                target=target,
                vars=dbt_vars(var_overrides),
                pg=pg,
                spark=get_spark(target),
                model_version=f"als-{run_date:%Y%m%d}-{started_at:%H%M%S}",
                started_at=started_at,
            )
            for step in STEPS:
                run_step(ctx, recorder, step)
                done.append(step.name)
                fault_point(f"after.{step.name}")
                if step.name == "publish":
                    log.info("run=%s published model %s", run_id, ctx.model_version)
            return EXIT_OK
    except LockHeld as exc:
        log.error("%s", exc)
        return EXIT_FAILED_CHECK
    except HANDLED as exc:
        log.error("run=%s stopped, %s: %s", run_id, _outcome(done), exc)
        return EXIT_FAILED_CHECK
    except Exception:
        log.exception("run=%s failed with an unexpected error, %s", run_id, _outcome(done))
        return EXIT_ERROR


def _outcome(done: list[str]) -> str:
    return "the new list was published" if "publish" in done else "nothing published"
