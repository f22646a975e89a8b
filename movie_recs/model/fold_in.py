"""User factors solved against a trained model's item factors ("fold-in").

ALS ends each iteration by solving every user's factors, by least squares,
against the item factors. Solving them again on tonight's matrix gives every
user (new users too) factors consistent with an earlier model at the cost of
one half-iteration instead of a whole fit: what an incremental night does
between full refits. Movies the model has no factors for are left out until
the next full fit; a user with none of its movies known gets no factors (and
so no recommendations, as ALS's cold-start "drop").

The normal equations are MLlib's own (ALS-WR regularisation, lambda times the
user's number of positive ratings); for implicit preferences with confidence
1 + alpha * |score| (Hu, Koren and Volinsky).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from functools import partial

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from movie_recs.lake.spark import run_python_workers_on_this_interpreter
from movie_recs.model.top_k import catalogue_arrays

OUTPUT_SCHEMA = "id int, features array<float>"


def fold_in_users(
    item_factors: DataFrame,
    scores: DataFrame,
    *,
    reg_param: float,
    implicit: bool,
    alpha: float,
    block_users: int,
) -> DataFrame:
    """(id, features) for every user in `scores` (user_id, movie_id, score),
    given the items' (id, features): the same shape as ALSModel.userFactors."""
    spark = scores.sparkSession
    run_python_workers_on_this_interpreter(spark)
    item_ids, item_vectors = catalogue_arrays(item_factors)
    vectors = item_vectors.astype(np.float64)
    catalogue = spark.sparkContext.broadcast((item_ids, vectors, vectors.T @ vectors))
    histories = scores.groupBy("user_id").agg(
        F.collect_list(F.struct("movie_id", "score")).alias("history")
    )
    solve = partial(_solve_batches, catalogue, reg_param, implicit, alpha, block_users)
    return histories.mapInArrow(solve, OUTPUT_SCHEMA)


def _solve_batches(
    catalogue, reg_param, implicit, alpha, block_users, batches
) -> Iterator[pa.RecordBatch]:
    item_ids, item_vectors, yty = catalogue.value
    for batch in batches:
        for start in range(0, batch.num_rows, block_users):
            block = batch.slice(start, block_users)
            users = block.column("user_id").to_numpy(zero_copy_only=False)
            histories = block.column("history")
            offsets = histories.offsets.to_numpy() - histories.offsets[0].as_py()
            flat = histories.flatten()
            movies = flat.field("movie_id").to_numpy(zero_copy_only=False)
            scores = flat.field("score").to_numpy(zero_copy_only=False).astype(np.float64)
            solve = partial(
                solve_user, item_ids=item_ids, item_vectors=item_vectors, yty=yty,
                reg_param=reg_param, implicit=implicit, alpha=alpha,
            )  # fmt: skip
            solved = [solve(movies[i:j], scores[i:j]) for i, j in itertools.pairwise(offsets)]
            kept = [n for n, factor in enumerate(solved) if factor is not None]
            if not kept:
                continue
            factors = np.stack([solved[n] for n in kept]).astype(np.float32)
            yield pa.RecordBatch.from_arrays(
                [
                    pa.array(users[kept], pa.int32()),
                    pa.ListArray.from_arrays(
                        np.arange(0, factors.size + 1, factors.shape[1], dtype=np.int32),
                        pa.array(factors.ravel()),
                    ),
                ],
                names=["id", "features"],
            )


def solve_user(
    movies: np.ndarray,
    scores: np.ndarray,
    item_ids: np.ndarray,
    item_vectors: np.ndarray,
    yty: np.ndarray,
    reg_param: float,
    implicit: bool,
    alpha: float,
) -> np.ndarray | None:
    """One user's factors from their (movie, score) pairs; None when none of the
    movies has factors or, for implicit preferences, none is positive."""
    positions = np.minimum(np.searchsorted(item_ids, movies), len(item_ids) - 1)
    known = item_ids[positions] == movies
    vectors, scores = item_vectors[positions[known]], scores[known]
    rank = item_vectors.shape[1]
    if implicit:
        extra_confidence = alpha * np.abs(scores)
        positive = scores > 0
        lhs = yty + vectors.T @ (extra_confidence[:, None] * vectors)
        rhs = vectors.T @ np.where(positive, 1.0 + extra_confidence, 0.0)
        n_explicit = int(positive.sum())
    else:
        lhs = vectors.T @ vectors
        rhs = vectors.T @ scores
        n_explicit = len(scores)
    if n_explicit == 0:  # nothing to learn from (MLlib would give zeros)
        return None
    return np.linalg.solve(lhs + reg_param * n_explicit * np.eye(rank), rhs)
