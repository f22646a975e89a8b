"""Task 5: replace `batch_recommendations` atomically, then log the run's metrics.

One transaction streams the validated table version with COPY into a fresh
table without indexes, builds its keys once over the loaded rows, swaps it
in for `batch_recommendations` (drop, rename, the service's grants again) and
writes the run's metrics to `model_performance_logs`. Readers see the old
set until the commit and the new one after it: never a mix, never an empty
table. They wait only from the swap to the commit (milliseconds: the rows are
loaded before it); PostgreSQL looks the name up again after the wait, so
they then read the new table. Each row is written once. Spark's Python
workers format the columns that vary per row as CSV, an Arrow batch at a
time, the next read split while the current one loads (so the driver holds
at most two splits' text, not the set); the driver only passes the text on.
The model version and generation time every row shares are sent once, as the
loading table's column defaults.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.csv as pa_csv
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

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
PER_ROW = ["user_id", "rank", "movie_id", "score"]
COLUMNS = [*PER_ROW, "model_version", "generated_at"]
# Parquet bytes per read split (about 2 million rows, 60 MB of CSV text): the
# driver holds the text of two splits at most. A split is at least one of the
# table's Parquet row groups (up to 128 MB each).
SPLIT_KEY, SPLIT_BYTES = "spark.sql.files.maxPartitionBytes", 16 << 20
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


@dataclass(frozen=True)
class RecommendationSet:
    """A set as publish loads it: what varies per row as CSV text of PER_ROW, and
    what every row shares (the export gate checks it is one value per set)."""

    csv: Iterable[str]
    model_version: str | None  # None: an empty set
    generated_at: str | None  # ISO text with its UTC offset


def read_set(frame: DataFrame) -> RecommendationSet:
    """The set of a frame of COLUMNS, its rows formatted as they are read."""
    shared = frame.select(
        "model_version", F.date_format("generated_at", "yyyy-MM-dd HH:mm:ss.SSSSSSXXX")
    ).first()
    return RecommendationSet(csv_chunks(frame.select(*PER_ROW)), *(shared or (None, None)))


def csv_chunks(frame: DataFrame) -> Iterator[str]:
    """The frame's rows as CSV text without a header, a chunk per Arrow batch. Spark
    reads the table in splits of at most SPLIT_BYTES and formats the next split
    while the driver passes on the current one."""
    spark = frame.sparkSession
    run_python_workers_on_this_interpreter(spark)

    def to_csv(batches):
        for batch in batches:
            sink = pa.BufferOutputStream()
            pa_csv.write_csv(batch, sink, pa_csv.WriteOptions(include_header=False))
            yield pa.RecordBatch.from_pydict({"csv": [sink.getvalue().to_pybytes().decode()]})

    # the splits are fixed when the iterator starts; Spark's default packs a
    # small table into one split per core, which the driver would then hold
    default_split = spark.conf.get(SPLIT_KEY)
    spark.conf.set(SPLIT_KEY, str(SPLIT_BYTES))
    try:
        chunks = frame.mapInArrow(to_csv, "csv string").toLocalIterator(prefetchPartitions=True)
    finally:
        spark.conf.set(SPLIT_KEY, default_split)
    return (row.csv for row in chunks)


def replace_recommendations(
    pg: PgSettings, recommendations: RecommendationSet, run_id: str, metric_rows: list[tuple]
) -> int:
    """Swap in a new `batch_recommendations` set and the run's metrics in one
    transaction."""
    with pg.transaction() as cur:
        cur.execute(f"create table {NEXT} (like {TABLE} including defaults including constraints)")
        # the shared values are filled in by PostgreSQL, not sent on every row
        cur.execute(
            f"alter table {NEXT} alter column model_version set default %s,"
            " alter column generated_at set default %s::timestamptz",
            (recommendations.model_version, recommendations.generated_at),
        )
        n_rows = copy_lines(cur, NEXT, PER_ROW, recommendations.csv, csv=True)
        cur.execute(  # as the live table has them (migration 0001: none)
            f"alter table {NEXT} alter column model_version drop default,"
            " alter column generated_at drop default, "
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
        ctx.pg, read_set(frame), ctx.run_id, list(_metric_rows(ctx, metrics))
    )
    return TaskResult(rows_in=n_rows, rows_out=n_rows)
