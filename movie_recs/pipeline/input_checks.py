"""The landed inputs' checks, at the end of task 1: the events snapshot's
columns and types, its share of rejects, and the run's day's events against
recent nights' (Great Expectations suites in movie_recs.pipeline.expectations).

A failure stops the run before anything is archived, trained or published
(`on_input_check_failure: stop`, the default), or is logged as a warning and
counted in the task's details (`warn`).
"""

from __future__ import annotations

import logging
import math
import statistics
from datetime import date

from pyspark.sql import DataFrame

from movie_recs.pipeline.expectations import day_volume_suite, failed_expectations, snapshot_suite

log = logging.getLogger(__name__)

# the volume check waits for this many earlier nights, and compares with the
# median of at most RECENT_NIGHTS of them
MIN_RECENT_NIGHTS = 3
RECENT_NIGHTS = 7
# the key of the first task's details that records its day's event count
DAY_EVENTS = "day_events"


class InputChecksFailed(RuntimeError):
    """A check on the landed inputs failed; the message names every failed check."""

    def __init__(self, failures: list[str]) -> None:
        self.failures = failures
        super().__init__(
            "input checks failed (on_input_check_failure=warn lets the run go on): "
            + "; ".join(failures)
        )


def recent_day_events(pg, before: date) -> list[int]:
    """The day's event counts that succeeded first tasks recorded, latest
    attempt per run date, for the RECENT_NIGHTS run dates before `before`."""
    with pg.transaction() as cur:
        cur.execute(
            "select distinct on (run_date) (details->>%(key)s)::numeric::bigint"
            " from pipeline_runs where task = 'active_users' and status = 'succeeded'"
            " and details ? %(key)s and run_date < %(before)s"
            " order by run_date desc, attempt desc limit %(nights)s",
            {"key": DAY_EVENTS, "before": before, "nights": RECENT_NIGHTS},
        )
        return [count for (count,) in cur]


def forget_day_volumes(cur) -> None:
    """Drop the recorded day counts: replaced inputs start a new baseline."""
    cur.execute(
        "update pipeline_runs set details = details - %(key)s"
        " where task = 'active_users' and details ? %(key)s",
        {"key": DAY_EVENTS},
    )


def day_events_range(recent: list[int], ratio: float) -> tuple[int, int] | None:
    """The counts a normal day may have: recent nights' median divided and
    multiplied by `ratio`; None until MIN_RECENT_NIGHTS nights are recorded,
    or while their median is 0 (nothing to compare with)."""
    median = statistics.median(recent) if len(recent) >= MIN_RECENT_NIGHTS else 0
    if median == 0:
        return None
    return math.floor(median / ratio), math.ceil(median * ratio)


def check_inputs(
    snapshot: DataFrame, day_events: DataFrame, recent: list[int], run_vars: dict
) -> list[str]:
    """Run the input suites; raise InputChecksFailed, or return the failures
    (logged) when the run is configured to warn."""
    failures = failed_expectations(snapshot, snapshot_suite(float(run_vars["max_reject_share"])))
    expected = day_events_range(recent, float(run_vars["input_volume_ratio"]))
    if expected:
        failures += failed_expectations(day_events, day_volume_suite(*expected))
    if failures and run_vars["on_input_check_failure"] == "stop":
        raise InputChecksFailed(failures)
    for failure in failures:
        log.warning("input check failed (on_input_check_failure=warn): %s", failure)
    return failures
