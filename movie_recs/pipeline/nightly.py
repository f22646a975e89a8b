"""The nightly run: five named tasks, then analytics, each recorded and retried.

Exit codes, like dbt's: 0 published; 1 an input check, a gate or a dbt test
failed (or another run holds the lock); 2 PostgreSQL refused the connection, a
service stayed unreachable through the retries, or an unexpected error (a bad
var never gets here: orchestrate.py refuses it with 2). Nothing is published after a failure, except
one in the analytics task, which runs after publishing: its log line says so.

A rerun of a date resumes at the first task that did not succeed (`--force`:
from the start); retries within a run are for service faults only.
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

from movie_recs.config import dbt_vars
from movie_recs.db.migrate import migrate
from movie_recs.dbt import DbtFailed
from movie_recs.lake.archive import DuplicateEventIds
from movie_recs.lake.spark import get_spark
from movie_recs.pipeline.context import RunContext, TaskResult
from movie_recs.pipeline.faults import fault_point
from movie_recs.pipeline.input_checks import InputChecksFailed
from movie_recs.pipeline.runs import LockHeld, NightlyLock, RunRecorder
from movie_recs.pipeline.service_errors import failed_service, refused_by_postgres
from movie_recs.pipeline.tasks import active_users, analytics, archive, publish, train, validate
from movie_recs.services.postgres import ensure_postgres
from movie_recs.services.s3 import ensure_s3
from movie_recs.settings import lake_on_s3

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
    Step("validate", validate.run),
    Step("publish", publish.run),
    Step("analytics", analytics.run, retries=1),
]

# failed checks: exit 1 with their message, not a traceback
HANDLED = (InputChecksFailed, validate.GateFailed, DbtFailed, DuplicateEventIds)
BACKOFF_S = float(os.environ.get("MOVIE_RECS_RETRY_BACKOFF_S", "5"))


def prepare_services(target: str):
    """Start (or find) PostgreSQL and, for a lake on S3, the object store."""
    pg = ensure_postgres()
    migrate(pg)
    if lake_on_s3(target):
        os.environ.update(ensure_s3().env())
    return pg


def resume_point(latest: dict[str, tuple[str, dict | None]]) -> tuple[int, dict[str, Any]]:
    """Where a rerun of a run date starts, and the facts it inherits.

    At the first task whose latest attempt did not succeed; the details the
    tasks before it recorded (metrics, model version, the validated table
    version) are carried over. After a failed gate that is `validate`: the same
    model is checked again (against the rerun's vars); `--force` retrains.
    `len(STEPS)`: the date is complete.
    """
    index = next(
        (i for i, step in enumerate(STEPS) if latest.get(step.name, ("",))[0] != "succeeded"),
        len(STEPS),
    )
    facts: dict[str, Any] = {}
    for step in STEPS[:index]:
        facts.update(latest[step.name][1] or {})
    return index, facts


def run_step(ctx: RunContext, recorder: RunRecorder, lock: NightlyLock, step: Step) -> None:
    unrecorded: tuple[int, str] | None = None  # a failure PostgreSQL was down to record
    for attempt_no in range(step.retries + 1):
        attempt = None
        started = time.monotonic()
        try:
            lock.ensure_held()
            if unrecorded:
                recorder.finish(step.name, unrecorded[0], "failed", error=unrecorded[1])
                unrecorded = None
            attempt = recorder.start(step.name)
            result = step.run(ctx)
        except BaseException as exc:
            service = failed_service(exc)
            error = (f"{service} unreachable: {exc}" if service else str(exc))[:4000]
            if attempt is not None and not _try_finish(recorder, step.name, attempt, error):
                unrecorded = (attempt, error)
            if service is None or attempt_no == step.retries:
                raise
            wait = BACKOFF_S * 2**attempt_no
            log.warning(
                "run=%s task=%s attempt=%s: %s unreachable, retry in %.0fs: %s",
                ctx.run_id,
                step.name,
                attempt,
                service,
                wait,
                str(exc).splitlines()[0][:300],
            )
            time.sleep(wait)
            continue
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


def _try_finish(recorder: RunRecorder, task: str, attempt: int, error: str) -> bool:
    """Record a failed attempt; False if PostgreSQL is down (a later attempt records
    it, or the next run closes it as abandoned)."""
    try:
        recorder.finish(task, attempt, "failed", error=error)
        return True
    except psycopg2.Error as exc:
        log.warning("could not record the failed attempt of %s yet: %s", task, exc)
        return False


def run_nightly(
    run_date: date,
    target: str = "local",
    force: bool = False,
    var_overrides: dict[str, Any] | None = None,
) -> int:
    run_id = f"nightly-{run_date.isoformat()}"
    run_vars = dbt_vars(var_overrides)  # a bad var stops the run before anything starts
    done: list[str] = []
    try:
        pg = prepare_services(target)
        recorder = RunRecorder(pg, run_id, run_date)
        with NightlyLock(pg) as lock:
            recorder.close_abandoned()
            start, facts = (0, {}) if force else resume_point(recorder.latest_attempts())
            if start == len(STEPS):
                log.info("run=%s already completed; nothing to do (use --force to rerun)", run_id)
                return EXIT_OK
            if start:
                log.info("run=%s resuming at task %s", run_id, STEPS[start].name)
            done += [step.name for step in STEPS[:start]]  # by earlier attempts
            started_at = datetime.now(UTC)
            ctx = RunContext(
                run_id=run_id,
                run_date=run_date,
                target=target,
                vars=run_vars,
                pg=pg,
                spark=get_spark(target),
                # a resumed run keeps the version its (succeeded) train step built
                model_version=facts.pop("model_version", None)
                or f"als-{run_date:%Y%m%d}-{started_at:%H%M%S}",
                started_at=started_at,
                facts=facts,
            )
            for step in STEPS[start:]:
                run_step(ctx, recorder, lock, step)
                done.append(step.name)
                fault_point(f"after.{step.name}")
                if step.name == "publish":
                    log.info("run=%s published model %s", run_id, ctx.model_version)
            return EXIT_OK
    except LockHeld as exc:
        log.error("%s", exc)
        return EXIT_FAILED_CHECK
    except Exception as exc:
        service = failed_service(exc)
        if service:
            log.error(
                "run=%s stopped: %s is unreachable (retried with backoff), %s: %s",
                run_id,
                service,
                _outcome(done),
                str(exc).splitlines()[0][:500],
            )
            return EXIT_ERROR
        if refused_by_postgres(exc):
            log.error("run=%s stopped: PostgreSQL refused the connection: %s", run_id, exc)
            return EXIT_ERROR
        if isinstance(exc, HANDLED):
            log.error("run=%s stopped, %s: %s", run_id, _outcome(done), exc)
            return EXIT_FAILED_CHECK
        log.exception("run=%s failed with an unexpected error, %s", run_id, _outcome(done))
        return EXIT_ERROR


def _outcome(done: list[str]) -> str:
    return "the new list was published" if "publish" in done else "nothing published"
