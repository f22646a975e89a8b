"""Top k unseen movies per user from ALS's factors, scored a block of users at a time.

MLlib's recommendForUserSubset cannot leave out the movies a user has seen, so
it would have to be asked for k + (the most movies any user has seen)
candidates for every user: thousands each at MovieLens-25M. Here Spark's Python
workers score a block of users against every movie (numpy), blank out what each
of them has seen and keep the k best. A worker holds one block's scores,
`block_users` x movies, whatever the number of users or events; the full user x
movie score matrix never exists.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from functools import partial
from typing import NamedTuple

import numpy as np
import pyarrow as pa
from pyspark.ml.recommendation import ALSModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from movie_recs.lake.spark import run_python_workers_on_this_interpreter

DEFAULT_BLOCK_USERS = 256
OUTPUT_SCHEMA = "user_id int, rank int, movie_id int, score float"


class Factors(NamedTuple):
    """Users' and items' (id, features), as ALSModel's userFactors and itemFactors."""

    users: DataFrame
    items: DataFrame

    @classmethod
    def of(cls, model: ALSModel) -> Factors:
        return cls(model.userFactors, model.itemFactors)


def top_k_unseen(
    factors: Factors,
    scores: DataFrame,
    users: DataFrame,
    k: int,
    block_users: int = DEFAULT_BLOCK_USERS,
) -> DataFrame:
    """(user_id, rank, movie_id, score): each of `users` with factors gets its k
    best-scored movies absent from `scores` (fewer if fewer are unseen). Ties
    are broken by the smaller movie id."""
    spark = scores.sparkSession
    run_python_workers_on_this_interpreter(spark)
    catalogue = spark.sparkContext.broadcast(catalogue_arrays(factors.items))

    users = users.select("user_id").distinct()
    seen = (
        scores.join(users, "user_id")
        .groupBy("user_id")
        .agg(F.collect_list("movie_id").alias("seen"))
    )
    return (
        factors.users.select(F.col("id").alias("user_id"), "features")
        .join(users, "user_id")
        .join(seen, "user_id", "left")
        .mapInArrow(partial(_score_batches, catalogue, k, block_users), OUTPUT_SCHEMA)
    )


def catalogue_arrays(item_factors: DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The items' ids (ascending) and factors as numpy arrays, for the workers."""
    items = item_factors.orderBy("id").toPandas()
    vectors = np.stack(items["features"].to_list()).astype(np.float32)
    return items["id"].to_numpy(np.int32), vectors


def _score_batches(catalogue, k: int, block_users: int, batches) -> Iterator[pa.RecordBatch]:
    item_ids, item_vectors = catalogue.value
    for batch in batches:
        for start in range(0, batch.num_rows, block_users):
            yield top_k_block(batch.slice(start, block_users), item_ids, item_vectors, k)


def top_k_block(
    block: pa.RecordBatch, item_ids: np.ndarray, item_vectors: np.ndarray, k: int
) -> pa.RecordBatch:
    """One block of (user_id, features, seen) rows to its users' top-k rows."""
    n_users, n_items = block.num_rows, len(item_ids)
    user_vectors = block.column("features").flatten().to_numpy(zero_copy_only=False)
    scores = user_vectors.astype(np.float32).reshape(n_users, -1) @ item_vectors.T

    seen = block.column("seen")
    seen_ids = seen.flatten().to_numpy(zero_copy_only=False)
    seen_rows = np.repeat(np.arange(n_users), seen.value_lengths().fill_null(0).to_numpy())
    seen_cols = np.minimum(np.searchsorted(item_ids, seen_ids), n_items - 1)
    known = item_ids[seen_cols] == seen_ids
    scores[seen_rows[known], seen_cols[known]] = -np.inf

    kept = min(k, n_items)
    # The candidates: each row's finite scores at or above a lower bound of
    # its k-th best (a seen movie's -inf is below the lowest float). Ties can
    # give a row more than k, so they are ranked by score, then the smaller
    # movie id, and k kept.
    floor = np.maximum(_kth_best_lower_bound(scores, kept), np.finfo(scores.dtype).min)
    rows, cols = np.divmod(np.flatnonzero(scores >= floor[:, None]), n_items)
    best_scores = scores[rows, cols]
    order = np.lexsort((item_ids[cols], -best_scores, rows))
    rows, cols, best_scores = rows[order], cols[order], best_scores[order]
    ranks = np.arange(len(rows)) - np.searchsorted(rows, rows) + 1
    top = ranks <= kept

    user_ids = block.column("user_id").to_numpy(zero_copy_only=False)
    return pa.RecordBatch.from_arrays(
        [
            pa.array(user_ids[rows[top]], pa.int32()),
            pa.array(ranks[top].astype(np.int32)),
            pa.array(item_ids[cols[top]], pa.int32()),
            pa.array(best_scores[top], pa.float32()),
        ],
        names=["user_id", "rank", "movie_id", "score"],
    )


def _kth_best_lower_bound(scores: np.ndarray, k: int) -> np.ndarray:
    """Per row, the k-th best score among every `selection_stride`-th movie:
    never above the row's own k-th best, so every movie of its top k scores at
    least that."""
    sample = scores[:, :: selection_stride(scores.shape[1], k)]
    return np.partition(sample, sample.shape[1] - k, axis=1)[:, sample.shape[1] - k]


def selection_stride(n_movies: int, k: int) -> int:
    """Partitioning a row of every movie was a block's largest cost; a sample
    of every stride-th movie costs that share of it, and lets about k * stride
    candidates per row through to the sort. Balancing the two gives a stride
    growing with the square root of movies per k: 4 for MovieLens-25M's
    60,000 movies and k = 50, 1 (the exact k-th best) for small catalogues
    (`bench/top_k_block.py`)."""
    return max(1, math.isqrt(n_movies // (64 * k)))
