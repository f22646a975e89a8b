"""Task 5: replace `batch_recommendations` atomically, then log the run's metrics.

One transaction deletes the old set, streams the validated table version
into `batch_recommendations` with COPY and writes the run's metrics to
`model_performance_logs`. Readers (READ COMMITTED or stricter) see the old
set until the commit and the new one after it: never a mix, never an empty
table, and they are never blocked (MVCC). Each row is written once, and the
client formats rows while the server ingests the previous ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from movie_recs.db.copy import copy_rows
from movie_recs.db.metrics import replace_run_metrics
from movie_recs.pipeline.context import RunContext, TaskResult
from movie_recs.pipeline.faults import fault_point
from movie_recs.pipeline.tasks.train import RECOMMENDATIONS_TABLE
from movie_recs.services.postgres import PgSettings

COLUMNS = ["user_id", "rank", "movie_id", "score", "model_version", "generated_at"]


def _metric_rows(ctx: RunContext, metrics: dict[str, float]):
    computed_at = datetime.now(UTC)
    for name, value in sorted(metrics.items()):
        yield (
            ctx.run_id,
            ctx.model_version,
            None,
            name,
            value,
            ctx.window_start,
            ctx.as_of,
            computed_at,
        )


def replace_recommendations(
    pg: PgSettings, rows: Iterable[tuple], run_id: str, metric_rows: list[tuple]
) -> int:
    """Swap in a new `batch_recommendations` set and the run's metrics in one transaction."""
    conn = pg.connect()
    try:
        with conn, conn.cursor() as cur:
            cur.execute("delete from batch_recommendations")
            n_rows = copy_rows(cur, "batch_recommendations", COLUMNS, rows)
            fault_point("publish.before_commit")
            replace_run_metrics(cur, run_id, metric_rows, per_variant=False)
            fault_point("publish.metrics_before_commit")
    finally:
        conn.close()
    return n_rows


def run(ctx: RunContext) -> TaskResult:
    version = ctx.facts["recommendations_version"]
    frame = ctx.spark.read.option("versionAsOf", version).table(RECOMMENDATIONS_TABLE)
    rows = (tuple(row) for row in frame.select(*COLUMNS).toLocalIterator())
    metrics = {
        k: float(v)
        for k, v in ctx.facts.items()
        if isinstance(v, int | float) and k != "recommendations_version"
    }
    n_rows = replace_recommendations(ctx.pg, rows, ctx.run_id, list(_metric_rows(ctx, metrics)))
    return TaskResult(rows_in=n_rows, rows_out=n_rows)
