"""Task 6 (after publishing): CTR and A/B metrics from serving logs and feedback.

Builds the dbt models tagged `analytics` (on the logs and feedback landed by
task 1), sets aside feedback that matches no serve in `rejected_events`, and
writes the A/B window's per-variant metrics to `model_performance_logs`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from pyspark.sql import functions as F

from movie_recs.db.metrics import replace_run_metrics
from movie_recs.db.rejects import record_rejects
from movie_recs.dbt import WITHOUT_UNIT_TESTS, run_dbt
from movie_recs.pipeline.context import RunContext, TaskResult

log = logging.getLogger(__name__)

SOURCE_TABLE = "recommendation_feedback"
# the analytics models with their tests, and the serving logs' source tests
DBT_SELECTION = ("--select", "tag:analytics")
LOGGED_COLUMNS = (
    "trials",
    "successes",
    "rate",
    "ci_low",
    "ci_high",
    "abs_lift",
    "rel_lift",
    "p_value",
)


def _rejects(ctx: RunContext) -> list[tuple]:
    """(feedback_id, reason, payload) of the feedback that matches no serve."""
    payload = F.struct("feedback_id", "serve_id", "user_id", "movie_id", "action", "feedback_at")
    rows = ctx.spark.table("movie_recs.int_feedback_rejected").select(
        F.col("feedback_id").cast("string"), "reason", F.to_json(payload)
    )
    return [tuple(row) for row in rows.collect()]


def _variant_metrics(ctx: RunContext) -> list[tuple]:
    spark = ctx.spark
    results = spark.table("movie_recs.fct_ab_test_results").collect()
    served_versions = dict(
        spark.table("movie_recs.fct_impressions")
        .groupBy("variant")
        .agg(F.max_by("model_version", "served_at"))
        .collect()
    )
    computed_at = datetime.now(UTC)
    rows = []
    for result in results:
        for column in LOGGED_COLUMNS:
            value = result[column]
            rows.append(
                (
                    ctx.run_id,
                    served_versions.get(result["variant"], "unknown"),
                    result["variant"],
                    f"{result['metric']}_{column}" if column != "rate" else result["metric"],
                    None if value is None else float(value),
                    result["window_start"].replace(tzinfo=UTC),
                    result["window_end"].replace(tzinfo=UTC),
                    computed_at,
                )
            )
    return rows


def _warn_if_control_unserved(ctx: RunContext) -> None:
    """fct_ab_test_results compares every variant with the control, so without
    the control's impressions in the window it is empty: say why."""
    window_start = ctx.as_of - timedelta(days=int(ctx.vars["ab_window_days"]))
    served = (
        ctx.spark.table("movie_recs.fct_impressions")
        .where((F.col("served_at") >= window_start) & (F.col("served_at") < ctx.as_of))
        .select("variant")
        .distinct()
        .collect()
    )
    if served:
        log.warning(
            "no A/B results: the control variant %r (var ab_control_variant) has no"
            " impressions in the window; variants served: %s",
            ctx.vars["ab_control_variant"],
            ", ".join(sorted(row["variant"] for row in served)),
        )


def run(ctx: RunContext) -> TaskResult:
    run_dbt(
        ["build", *DBT_SELECTION, *WITHOUT_UNIT_TESTS],
        ctx.target,
        ctx.vars,
        ctx.run_values(),
    )
    n_rejected = record_rejects(ctx.pg, SOURCE_TABLE, ctx.run_id, _rejects(ctx))
    metrics = _variant_metrics(ctx)
    if not metrics:
        _warn_if_control_unserved(ctx)
    with ctx.pg.transaction() as cur:
        replace_run_metrics(cur, ctx.run_id, metrics, per_variant=True)
    n_impressions = ctx.spark.table("movie_recs.fct_impressions").count()
    return TaskResult(
        rows_in=n_impressions,
        rows_out=len(metrics),
        rows_rejected=n_rejected,
        metrics={"feedback_rejected": float(n_rejected)},
    )
