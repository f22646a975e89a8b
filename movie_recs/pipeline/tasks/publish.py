"""Task 5: replace `batch_recommendations` atomically, then log the run's metrics.

One transaction streams the validated table version with COPY into a fresh
table without indexes, builds its keys once over the loaded rows, swaps it
in for `batch_recommendations` (drop, rename, the service's grants again) and
writes the run's metrics to `model_performance_logs`. Readers see the old
set until the commit and the new one after it: never a mix, never an empty
table. They wait only from the swap to the commit (milliseconds: the rows are
loaded before it); PostgreSQL looks the name up again after the wait, so
they then read the new table. Each row is written once. Spark's Python
workers format the rows as CSV, an Arrow batch at a time, one table file after
another (so the driver holds one file's text, not the set); the driver only
passes the text on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from pyspark.sql import DataFrame

from movie_recs.db.copy import copy_lines
from movie_recs.db.metrics import replace_run_metrics
from movie_recs.db.migrate import apply_grants
from movie_recs.lake.spark import run_python_workers_on_this_interpreter
from movie_recs.pipeline.context import RunContext, TaskResult
from movie_recs.pipeline.faults import fault_point
from movie_recs.pipeline.tasks.train import RECOMMENDATIONS_TABLE
from movie_recs.services.postgres import PgSettings

TABLE = "batch_recommendations"
NEXT = "batch_recommendations_next"
COLUMNS = ["user_id", "rank", "movie_id", "score", "model_version", "generated_at"]
# the constraints' names on the live table, given back to them after the swap
KEYS = {"pkey": "primary key (user_id, rank)", "user_id_movie_id_key": "unique (user_id, movie_id)"}


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


def csv_chunks(frame: DataFrame) -> Iterator[str]:
    """The frame's rows as CSV text without a header, a chunk per Arrow batch."""
    run_python_workers_on_this_interpreter(frame.sparkSession)

    def to_csv(batches):
        for batch in batches:
            sink = pa.BufferOutputStream()
            pa_csv.write_csv(
                zoned_times_as_text(batch), sink, pa_csv.WriteOptions(include_header=False)
            )
            yield pa.RecordBatch.from_pydict({"csv": [sink.getvalue().to_pybytes().decode()]})

    return (row.csv for row in frame.mapInArrow(to_csv, "csv string").toLocalIterator())


def zoned_times_as_text(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Zoned timestamps as UTC text ("2026-03-01 23:59:58.123456Z", as Arrow's CSV
    writer would put them): formatted without the zone lookup, which made them
    20 times slower than every other column together."""
    columns = []
    for column in batch.columns:
        if pa.types.is_timestamp(column.type) and column.type.tz:
            utc = pc.cast(column.cast(pa.timestamp(column.type.unit)), pa.string())
            column = pc.binary_join_element_wise(utc, "Z", "")
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def replace_recommendations(
    pg: PgSettings, csv: Iterable[str], run_id: str, metric_rows: list[tuple]
) -> int:
    """Swap in a new `batch_recommendations` set (CSV text of COLUMNS) and the run's
    metrics in one transaction."""
    conn = pg.connect()
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                f"create table {NEXT} (like {TABLE} including defaults including constraints)"
            )
            n_rows = copy_lines(cur, NEXT, COLUMNS, csv, csv=True)
            cur.execute(
                f"alter table {NEXT} "
                + ", ".join(f"add constraint {NEXT}_{name} {key}" for name, key in KEYS.items())
            )
            fault_point("publish.before_commit")
            cur.execute(f"drop table {TABLE}")  # readers wait from here to the commit
            cur.execute(f"alter table {NEXT} rename to {TABLE}")
            for name in KEYS:
                cur.execute(f"alter index {NEXT}_{name} rename to {TABLE}_{name}")
            apply_grants(cur)
            replace_run_metrics(cur, run_id, metric_rows, per_variant=False)
            fault_point("publish.metrics_before_commit")
    finally:
        conn.close()
    return n_rows


def run(ctx: RunContext) -> TaskResult:
    version = ctx.facts["recommendations_version"]
    frame = ctx.spark.read.option("versionAsOf", version).table(RECOMMENDATIONS_TABLE)
    metrics = {
        k: float(v)
        for k, v in ctx.facts.items()
        if isinstance(v, int | float) and k != "recommendations_version"
    }
    n_rows = replace_recommendations(
        ctx.pg, csv_chunks(frame.select(*COLUMNS)), ctx.run_id, list(_metric_rows(ctx, metrics))
    )
    return TaskResult(rows_in=n_rows, rows_out=n_rows)
