"""What makes an interaction event unusable, as one Spark expression per reason.

Bad events are expected: each is set aside with the first reason that applies,
in the order below, and the run goes on.
"""

from __future__ import annotations

from datetime import datetime

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from movie_recs.model.als import INT_MAX

EVENT_COLUMNS = ["event_id", "user_id", "movie_id", "event_type", "rating", "event_ts"]

REJECT_REASONS = (
    "null_user_id",
    "null_movie_id",
    "id_out_of_range",
    "unknown_event_type",
    "future_timestamp",
    "rating_not_a_number",
    "rating_out_of_range",
    "unknown_movie",
    "duplicate_event_id",
)


def _same_event(left: str, right: str) -> Column:
    return F.expr(
        " and ".join(f"{left}.{c} <=> {right}.{c}" for c in EVENT_COLUMNS if c != "event_id")
    )


def classify_events(
    events: DataFrame,
    movies: DataFrame,
    archived: DataFrame,
    *,
    event_types: list[str],
    rating_min: float,
    rating_max: float,
    not_after: datetime,
) -> DataFrame:
    """`events` plus `reject_reason` (null when valid) and `is_archived`.

    `is_archived` marks an event already in the archive with the same content
    (a rerun after a crash); the same id with other content is a duplicate.
    """
    known_movies = movies.select(F.col("movie_id").alias("_known_movie_id")).distinct()
    archived_keys = archived.select(*EVENT_COLUMNS).alias("a")
    joined = (
        events.alias("e")
        .join(known_movies, F.col("e.movie_id") == F.col("_known_movie_id"), "left")
        .join(archived_keys, F.col("e.event_id") == F.col("a.event_id"), "left")
    )
    in_archive = F.col("a.event_id").isNotNull()
    same_as_archived = in_archive & _same_event("e", "a")
    is_rate = F.col("e.event_type") == F.lit("rate")
    rating = F.col("e.rating")
    rules = [
        ("null_user_id", F.col("e.user_id").isNull()),
        ("null_movie_id", F.col("e.movie_id").isNull()),
        # MLlib ALS takes int ids: one outside would stop every night's training
        (
            "id_out_of_range",
            ~F.col("e.user_id").between(0, INT_MAX) | ~F.col("e.movie_id").between(0, INT_MAX),
        ),
        ("unknown_event_type", ~F.coalesce(F.col("e.event_type").isin(event_types), F.lit(False))),
        ("future_timestamp", F.col("e.event_ts") > F.lit(not_after)),
        ("rating_not_a_number", is_rate & F.isnan(rating)),
        (
            "rating_out_of_range",
            is_rate & (rating.isNull() | (rating < rating_min) | (rating > rating_max)),
        ),
        ("unknown_movie", F.col("_known_movie_id").isNull()),
        ("duplicate_event_id", in_archive & ~same_as_archived),
    ]
    reason = F.lit(None).cast("string")
    for name, condition in reversed(rules):
        reason = F.when(condition, F.lit(name)).otherwise(reason)
    return joined.select(
        *[F.col(f"e.{c}").alias(c) for c in EVENT_COLUMNS],
        reason.alias("reject_reason"),
        same_as_archived.alias("is_archived"),
    )
