"""What every task of a nightly run shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pyspark.sql import SparkSession

from movie_recs.services.postgres import PgSettings


def as_of_for(run_date: date) -> datetime:
    """A run for day D covers data up to D+1 00:00 UTC (Airflow's convention)."""
    return datetime.combine(run_date + timedelta(days=1), time(0), tzinfo=UTC)


@dataclass
class RunContext:
    run_id: str
    run_date: date
    target: str
    vars: dict[str, Any]
    pg: PgSettings
    spark: SparkSession
    model_version: str
    started_at: datetime
    # filled in by tasks, read by later ones (and by `status`)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def as_of(self) -> datetime:
        return as_of_for(self.run_date)

    @property
    def archive_cutoff(self) -> datetime:
        return self.as_of - timedelta(hours=float(self.vars["archive_after_hours"]))

    @property
    def window_start(self) -> datetime:
        return self.as_of - timedelta(days=float(self.vars["training_window_days"]))

    def run_values(self) -> dict[str, str]:
        """What dbt reads through its run_value macro (movie_recs.dbt.run_dbt)."""
        return {
            "as_of": self.as_of.strftime("%Y-%m-%d %H:%M:%S"),
            "model_version": self.model_version,
        }


@dataclass
class TaskResult:
    rows_in: int | None = None
    rows_out: int | None = None
    rows_rejected: int | None = None
    metrics: dict[str, float | str] = field(default_factory=dict)
