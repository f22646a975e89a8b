"""ALS training, offline evaluation and top-k recommendation (Spark MLlib).

Called by the dbt Python model `fct_recommendations`; kept here, importable,
so that the same code is testable and benchmarkable outside dbt.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from py4j.protocol import Py4JJavaError
from pyspark.ml.recommendation import ALS, ALSModel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from movie_recs.model.evaluation import (
    EvalSpec,
    HeldOut,
    evaluation_users,
    held_out,
    popularity_top_k,
    random_top_k,
    ranking_metrics,
    rating_metrics,
    split_pairs,
)
from movie_recs.model.fold_in import fold_in_users
from movie_recs.model.records import ModelRecord, read_model_record, save_model_record
from movie_recs.model.top_k import DEFAULT_BLOCK_USERS, Factors, top_k_unseen
from movie_recs.model.unchanged_users import kept_lists, save_user_row_hashes, user_row_hashes

INT_MAX = 2**31 - 1

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlsParams:
    """The seed's explicit ALS by default; `implicit` learns preferences with
    confidence 1 + alpha * score (the matrix's score: the rating, or the
    capped sum of event weights). The nightly's vars select implicit."""

    rank: int = 10
    max_iter: int = 10
    reg_param: float = 0.1
    implicit: bool = False
    alpha: float = 1.0
    seed: int = 42
    top_k: int = 50
    # users scored at once by a top-k worker: its memory is this x movies scores
    block_users: int = DEFAULT_BLOCK_USERS

    @classmethod
    def from_vars(cls, get: Callable[[str], Any]) -> AlsParams:
        """From the dbt vars, through a getter (a dict's, or dbt.config.get)."""
        implicit = str(get("als_implicit")).lower() == "true"
        prefix = "als_implicit_" if implicit else "als_"
        return cls(
            rank=int(get(f"{prefix}rank")),
            max_iter=int(get("als_max_iter")),
            reg_param=float(get(f"{prefix}reg_param")),
            implicit=implicit,
            alpha=float(get("als_alpha")),
            seed=int(get("als_seed")),
            top_k=int(get("top_k")),
            block_users=int(get("top_k_block_users")),
        )


def checked_matrix(scores: DataFrame) -> tuple[DataFrame, int]:
    """The matrix with int ids, and its number of pairs. MLlib ALS takes int
    ids: refuse ids outside the int range instead of wrapping."""
    n_pairs, *bounds = scores.agg(
        F.count("*"), F.min("user_id"), F.max("user_id"), F.min("movie_id"), F.max("movie_id")
    ).first()
    if any(v is not None and (v < 0 or v > INT_MAX) for v in bounds):
        raise ValueError(f"user/movie ids must lie in [0, {INT_MAX}] for ALS, got {bounds}")
    return scores.select(
        F.col("user_id").cast("int").alias("user_id"),
        F.col("movie_id").cast("int").alias("movie_id"),
        F.col("score").cast("float").alias("score"),
        "last_event_at",
    ), n_pairs


def native_blas_loaded(spark: SparkSession) -> bool:
    """Whether this JVM's ALS runs on the machine's native BLAS (`make setup`
    installs OpenBLAS) rather than Spark's Java fallback: a fit takes 1.6 times
    as long on the fallback (BENCHMARKS.md, benchmark 2)."""
    try:
        spark._jvm.dev.ludovic.netlib.blas.NativeBLAS.getInstance()
        return True
    except Py4JJavaError:  # no libblas.so.3 on this machine
        return False


def _fit(params: AlsParams, ratings: DataFrame) -> ALSModel:
    # One ALS data block per core: each iteration's stages then run one task per
    # core. ALS's default, 10 blocks, makes hundreds of tiny tasks per iteration
    # on small data; against 8 blocks, 2 fit 25 % faster at 1M events and as
    # fast at 25M on 2 cores (BENCHMARKS.md, benchmark 2).
    blocks = ratings.sparkSession.sparkContext.defaultParallelism
    return ALS(
        rank=params.rank,
        maxIter=params.max_iter,
        regParam=params.reg_param,
        implicitPrefs=params.implicit,
        alpha=params.alpha,
        seed=params.seed,
        numUserBlocks=blocks,
        numItemBlocks=blocks,
        userCol="user_id",
        itemCol="movie_id",
        ratingCol="score",
        coldStartStrategy="drop",
    ).fit(ratings)


def global_mean_rmse(train: DataFrame, test: DataFrame) -> float:
    """RMSE of predicting the training mean for every held-out pair: the bar ALS must clear."""
    mean = train.agg(F.mean("score")).first()[0]
    if mean is None or test.isEmpty():
        return float("nan")
    return test.select(F.sqrt(F.mean((F.col("score") - F.lit(mean)) ** 2))).first()[0]


def model_metrics(
    train: DataFrame,
    test: DataFrame,
    users: DataFrame,
    held: HeldOut,
    params: AlsParams,
    spec: EvalSpec,
) -> dict:
    """Fit on `train`, score the held-out `test` for the evaluated `users`: ranking
    metrics, and rating metrics for explicit ALS (implicit ALS predicts preferences,
    not ratings)."""
    model = _fit(params, train)
    metrics: dict = {"rmse": None, "mae": None}
    if not params.implicit:
        metrics |= rating_metrics(model.transform(test))
    lists = top_k_unseen(Factors.of(model), train, users, max(spec.ks), params.block_users)
    metrics |= ranking_metrics(lists.toPandas(), held, spec.ks)
    metrics["eval_users"] = float(len(held.users))
    return metrics


def baseline_metrics(train: DataFrame, test: DataFrame, held: HeldOut, spec: EvalSpec) -> dict:
    """The same scores for the popularity and random lists, prefixed with their name."""
    k = max(spec.ks)
    metrics = {"rmse_global_mean": global_mean_rmse(train, test)}
    for name, lists in (
        ("popularity", popularity_top_k(held, k)),
        ("random", random_top_k(held, k, spec.seed)),
    ):
        scores = ranking_metrics(lists, held, spec.ks)
        metrics |= {f"{name}_{metric}": value for metric, value in scores.items()}
    return metrics


def evaluate(train: DataFrame, test: DataFrame, params: AlsParams, spec: EvalSpec) -> dict:
    """Model and baselines on one split: model metrics unprefixed (`ndcg_at_10`),
    the baselines' with their name (`popularity_ndcg_at_10`, `random_ndcg_at_10`)."""
    users = evaluation_users(train, test, spec).cache()
    try:
        held = held_out(train, test, users)
        return model_metrics(train, test, users, held, params, spec) | baseline_metrics(
            train, test, held, spec
        )
    finally:
        users.unpersist()


def train_and_recommend(
    spark: SparkSession,
    scores: DataFrame,
    active_users: DataFrame,
    params: AlsParams,
    spec: EvalSpec,
    model_dir: str,
    base_model_dir: str | None = None,
    previous: DataFrame | None = None,
    catalogue: DataFrame | None = None,
) -> tuple[DataFrame, dict]:
    """The top k per active user, and the run's metrics, saved with its model.

    Only movies in `catalogue` (movie_id; None: every movie with factors) are
    recommended: a movie that left it keeps its factors and its pairs in the
    matrix, but is no longer a candidate, and a kept list holding it is
    re-scored. The movies with factors left out are saved with the model: a
    night on which one of last night's is a candidate again keeps no lists.

    A full night evaluates on a held-out split, refits on everything and saves
    the model. An incremental night (`base_model_dir`, a full night's model
    with the same parameters) folds tonight's users into that model's item
    factors instead, and that model's evaluation stands for tonight's; users
    whose matrix rows are unchanged keep their lists from `previous`, last
    night's recommendations (movie_recs.model.unchanged_users).
    """
    matrix, n_pairs = checked_matrix(scores)
    if n_pairs == 0:
        raise ValueError("the user-movie matrix is empty: nothing to train on")
    users = active_users.select(F.col("user_id").cast("int").alias("user_id")).distinct()
    if catalogue is not None:
        catalogue = catalogue.where(F.col("movie_id").between(0, INT_MAX)).select(
            F.col("movie_id").cast("int").alias("movie_id")
        )
    base = read_model_record(spark, base_model_dir) if base_model_dir else None
    folding_in = base is not None and _same_model(base.params, params)
    # a full fit's evaluation and fit pass over the whole matrix many times; a
    # fold-in night caches only the re-scored users' pairs (below)
    scores = matrix if folding_in else matrix.cache()
    rows = user_row_hashes(scores).cache()
    kept = None
    if folding_in:
        items = ALSModel.load(f"{base_model_dir}/als").itemFactors
        left_out = left_out_movies(items, catalogue)
        kept = kept_lists(
            previous, rows, users,
            model_dir=model_dir, base_model_dir=base_model_dir, top_k=params.top_k,
            left_out=left_out,
        )  # fmt: skip
        if kept is not None:
            users = users.join(kept.users, "user_id", "left_anti")
        # cached and counted first, so that Spark knows their size: the joins
        # below broadcast them while they fit its threshold, instead of
        # shuffling the whole matrix
        users = users.cache()
        n_rescored = users.count()
        # folding in and ranking need only the re-scored users' pairs: on most
        # nights a small share of the matrix
        scores = scores.select("user_id", "movie_id", "score").join(users, "user_id").cache()
        factors, metrics = _fold_in(scores, items, params, base.metrics)
        metrics["rescored_users"] = float(n_rescored)
    else:
        factors, metrics = _full_fit(scores, params, spec, model_dir)
        base_model_dir = None
        left_out = left_out_movies(factors.items, catalogue)
    if catalogue is not None:
        items = factors.items.join(catalogue.withColumnRenamed("movie_id", "id"), "id", "left_semi")
        factors = Factors(factors.users, items)
    recommendations = top_k_unseen(factors, scores, users, params.top_k, params.block_users)
    if kept is not None:
        recommendations = recommendations.unionByName(kept.lists)

    n_movies = matrix.select("movie_id").distinct().count()
    metrics |= {
        "matrix_pairs": float(n_pairs),
        "matrix_users": float(rows.count()),
        "matrix_movies": float(n_movies),
    }
    metrics = {
        k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in metrics.items()
    }
    save_user_row_hashes(rows, model_dir)
    described = asdict(params) | {
        "eval": asdict(spec),
        "base_model_dir": base_model_dir,
        "left_out_movies": left_out,
    }
    save_model_record(spark, model_dir, ModelRecord(described, metrics))
    return recommendations, metrics


def _full_fit(
    scores: DataFrame, params: AlsParams, spec: EvalSpec, model_dir: str
) -> tuple[Factors, dict]:
    if not native_blas_loaded(scores.sparkSession):
        log.warning("no native BLAS (libblas.so.3) in this JVM: ALS runs on Java's, slower")
    train, test = split_pairs(scores, spec, cache=True)
    started = time.perf_counter()
    metrics = evaluate(train, test, params, spec)
    # what the evaluation adds to a night (benchmark 1 compares the rest)
    metrics["evaluation_seconds"] = round(time.perf_counter() - started, 1)
    metrics["test_pairs"] = float(test.count())
    model = _fit(params, scores)
    model.write().overwrite().save(f"{model_dir}/als")
    return Factors.of(model), metrics


# what a fold-in must share with the model it folds into
MODEL_DEFINING = ("rank", "max_iter", "reg_param", "implicit", "alpha", "seed")


def _same_model(base_params: dict, params: AlsParams) -> bool:
    return base_params.get("base_model_dir") is None and all(
        base_params[name] == getattr(params, name) for name in MODEL_DEFINING
    )


def left_out_movies(items: DataFrame, catalogue: DataFrame | None) -> list[int]:
    """The movies with factors (`items`' id) that are not candidates: not in
    `catalogue` (movie_id). Few on most nights: those that left it."""
    if catalogue is None:
        return []
    left = items.join(catalogue.withColumnRenamed("movie_id", "id"), "id", "left_anti")
    return sorted(row.id for row in left.select("id").collect())


def _fold_in(
    scores: DataFrame, items: DataFrame, params: AlsParams, evaluated: dict
) -> tuple[Factors, dict]:
    """The re-scored users' factors, from their pairs (`scores`) and the base
    model's item factors."""
    user_factors = fold_in_users(
        items,
        scores,
        reg_param=params.reg_param,
        implicit=params.implicit,
        alpha=params.alpha,
        block_users=params.block_users,
    )
    metrics = {
        k: v
        for k, v in evaluated.items()
        if not k.startswith("matrix_") and k != "evaluation_seconds"
    }
    return Factors(user_factors, items), metrics | {"folded_in": 1.0}
