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

from collections.abc import Iterator
from functools import partial
from typing import NamedTuple

import numpy as np
import pyarrow as pa
from numpy.lib.stride_tricks import as_strided
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
    if items.empty:
        # e.g. every movie with factors has left the catalogue (landing.movies)
        raise ValueError("no movie with factors is left to score: nothing to recommend")
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
    floor = np.maximum(kth_best_lower_bound(scores, kept), np.finfo(scores.dtype).min)
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


def kth_best_lower_bound(scores: np.ndarray, k: int) -> np.ndarray:
    """Per row, a lower bound of its k-th best score. The movies are dealt
    into `group_count` groups (movie j into group j mod groups), and the bound
    is the k-th best of the groups' maxima: the k groups with the highest
    maxima hold k different movies scoring at least it, so no row's k-th best
    is below it. The maxima are element-wise maxima of consecutive runs of
    movies, a fraction of the cost of partitioning every movie; only the
    maxima are partitioned."""
    n_users, n_movies = scores.shape
    groups = group_count(n_movies, k)
    whole = n_movies // groups
    row_stride, movie_stride = scores.strides
    # a view: `whole` consecutive runs of `groups` movies per row
    runs = as_strided(
        scores, (n_users, whole, groups), (row_stride, groups * movie_stride, movie_stride),
        writeable=False,
    )  # fmt: skip
    maxima = runs.max(axis=1)
    rest = scores[:, whole * groups :]
    np.maximum(maxima[:, : rest.shape[1]], rest, out=maxima[:, : rest.shape[1]])
    return np.partition(maxima, groups - k, axis=1)[:, groups - k]


def group_count(n_movies: int, k: int) -> int:
    """How many groups the movies are dealt into for the bound: 8 k, so that
    a row's k best rarely share a group and a few more than k movies reach the
    bound; every movie its own group (the exact k-th best) in catalogues of up
    to 8 k movies (`bench/top_k_block.py`)."""
    return min(n_movies, 8 * k)
