"""Replace the pipeline's inputs with a data set: catalogue and events.

The last `archive_after_hours` before `as_of` go to PostgreSQL
`rt_user_interactions` (where the online service would have written them);
older events go straight to the lake's archive, as if earlier nights had
archived them. Earlier inputs (events, rejects, archive) are cleared first.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from movie_recs.db.copy import copy_frame
from movie_recs.lake.archive import ARCHIVE_TABLE, ensure_archive_table
from movie_recs.pipeline.input_checks import forget_day_volumes
from movie_recs.services.postgres import PgSettings
from movie_recs.settings import state_dir

log = logging.getLogger(__name__)
LOAD_RUN_ID = "initial-load"


@dataclass
class LoadCounts:
    movies: int = 0
    events: int = 0
    to_postgres: int = 0
    to_archive: int = 0


def load_inputs(
    spark: SparkSession,
    pg: PgSettings,
    movies: pd.DataFrame,
    event_chunks: Iterable[pd.DataFrame],
    as_of: datetime,
    archive_after: timedelta,
) -> LoadCounts:
    counts = LoadCounts(movies=len(movies))
    cutoff = pd.Timestamp(as_of - archive_after)
    conn = pg.connect()
    try:
        with conn, conn.cursor() as cur:
            cur.execute("truncate movies, rt_user_interactions, rejected_events")
            # the input checks compare a night's volume with nights since this load
            forget_day_volumes(cur)
            copy_frame(cur, "movies", movies[["movie_id", "title", "genres"]])
        ensure_archive_table(spark)
        spark.sql(f"delete from {ARCHIVE_TABLE}")
        for chunk in event_chunks:
            counts.events += len(chunk)
            recent = chunk[chunk["event_ts"] >= cutoff]
            older = chunk[chunk["event_ts"] < cutoff]
            if len(recent):
                with conn, conn.cursor() as cur:
                    counts.to_postgres += copy_frame(cur, "rt_user_interactions", recent)
            if len(older):
                _append_to_archive(spark, older)
                counts.to_archive += len(older)
            log.info("loaded %d events", counts.events)
    finally:
        conn.close()
    return counts


def _append_to_archive(spark: SparkSession, events: pd.DataFrame) -> None:
    """Append a chunk through a local Parquet file: createDataFrame(pandas) would
    ship the whole chunk inside Spark tasks, which does not scale to millions."""
    frame = events.assign(
        event_date=events["event_ts"].dt.date,
        archived_at=pd.Timestamp.now(tz="UTC"),
        run_id=LOAD_RUN_ID,
    )
    with tempfile.TemporaryDirectory(dir=state_dir()) as staging:
        path = f"{staging}/chunk.parquet"
        frame.to_parquet(path, index=False)
        schema = spark.table(ARCHIVE_TABLE).schema
        chunk = spark.read.parquet(f"file://{path}").withColumn(
            "rating",
            F.nanvl("rating", F.lit(None)),  # pandas' NaN means "no rating"
        )
        chunk.select([chunk[f.name].cast(f.dataType) for f in schema.fields]).write.format(
            "delta"
        ).mode("append").saveAsTable(ARCHIVE_TABLE)
