"""ALS training, evaluation and top-k recommendation (Spark MLlib).

Called by the dbt Python model `fct_recommendations`; kept here, importable,
so that the same code is testable and benchmarkable outside dbt.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

from pyspark.ml.evaluation import RegressionEvaluator
from pyspark.ml.recommendation import ALS, ALSModel
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

INT_MAX = 2**31 - 1


@dataclass(frozen=True)
class AlsParams:
    rank: int = 10
    max_iter: int = 10
    reg_param: float = 0.1
    seed: int = 42
    test_fraction: float = 0.2
    top_k: int = 50


def _checked_int_ids(scores: DataFrame) -> DataFrame:
    """MLlib ALS takes int ids: refuse ids outside the int range instead of wrapping."""
    bounds = scores.agg(
        F.min("user_id"), F.max("user_id"), F.min("movie_id"), F.max("movie_id")
    ).first()
    if any(v is not None and (v < 0 or v > INT_MAX) for v in bounds):
        raise ValueError(f"user/movie ids must lie in [0, {INT_MAX}] for ALS, got {bounds}")
    return scores.select(
        F.col("user_id").cast("int").alias("user_id"),
        F.col("movie_id").cast("int").alias("movie_id"),
        F.col("score").cast("float").alias("score"),
    )


def split(scores: DataFrame, params: AlsParams) -> tuple[DataFrame, DataFrame]:
    """Deterministic train/test split: a hash of (user, movie, seed) picks the test pairs."""
    bucket = F.pmod(F.xxhash64("user_id", "movie_id", F.lit(params.seed)), F.lit(10_000))
    is_test = bucket < F.lit(int(params.test_fraction * 10_000))
    return scores.where(~is_test), scores.where(is_test)


def _als(params: AlsParams) -> ALS:
    return ALS(
        rank=params.rank,
        maxIter=params.max_iter,
        regParam=params.reg_param,
        seed=params.seed,
        userCol="user_id",
        itemCol="movie_id",
        ratingCol="score",
        coldStartStrategy="drop",
    )


def global_mean_rmse(train: DataFrame, test: DataFrame) -> float:
    """RMSE of predicting the training mean for every held-out pair: the bar ALS must clear."""
    mean = train.agg(F.mean("score")).first()[0]
    if mean is None or test.isEmpty():
        return float("nan")
    return test.select(F.sqrt(F.mean((F.col("score") - F.lit(mean)) ** 2))).first()[0]


def evaluate_rmse(train: DataFrame, test: DataFrame, params: AlsParams) -> float:
    model = _als(params).fit(train)
    predictions = model.transform(test)
    if predictions.isEmpty():
        return float("nan")
    evaluator = RegressionEvaluator(metricName="rmse", labelCol="score", predictionCol="prediction")
    return evaluator.evaluate(predictions)


def top_k_unseen(
    model: ALSModel, scores: DataFrame, users: DataFrame, k: int, n_movies: int
) -> DataFrame:
    """Top k movies per user, movies the user interacted with excluded.

    Asks ALS for k + (the most movies any of these users has seen), so that k
    unseen ones remain; ALS computes these blockwise, never the full matrix.
    """
    seen = scores.join(users, "user_id").select("user_id", "movie_id")
    max_seen = seen.groupBy("user_id").count().agg(F.max("count")).first()[0] or 0
    candidates = min(k + max_seen, n_movies)
    recommended = model.recommendForUserSubset(users, candidates).select(
        "user_id", F.explode("recommendations").alias("rec")
    )
    unseen = recommended.select(
        "user_id", F.col("rec.movie_id").alias("movie_id"), F.col("rec.rating").alias("score")
    ).join(seen, ["user_id", "movie_id"], "left_anti")
    by_score = Window.partitionBy("user_id").orderBy(F.desc("score"), F.asc("movie_id"))
    return (
        unseen.withColumn("rank", F.row_number().over(by_score))
        .where(F.col("rank") <= k)
        .select("user_id", "rank", "movie_id", "score")
    )


def train_and_recommend(
    spark: SparkSession,
    scores: DataFrame,
    active_users: DataFrame,
    params: AlsParams,
    model_dir: str,
) -> tuple[DataFrame, dict]:
    """Evaluate on a held-out split, refit on everything, recommend, save the model."""
    scores = _checked_int_ids(scores).cache()
    n_pairs = scores.count()
    if n_pairs == 0:
        raise ValueError("the user-movie matrix is empty: nothing to train on")
    train, test = split(scores, params)
    rmse = evaluate_rmse(train, test, params)
    baseline_rmse = global_mean_rmse(train, test)

    model = _als(params).fit(scores)
    model.write().overwrite().save(f"{model_dir}/als")
    n_movies = scores.select("movie_id").distinct().count()
    users = active_users.select(F.col("user_id").cast("int").alias("user_id")).distinct()
    recommendations = top_k_unseen(model, scores, users, params.top_k, n_movies)

    metrics = {
        "rmse": rmse,
        "rmse_global_mean": baseline_rmse,
        "matrix_pairs": float(n_pairs),
        "matrix_users": float(scores.select("user_id").distinct().count()),
        "matrix_movies": float(n_movies),
        "test_pairs": float(test.count()),
    }
    metrics = {
        k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in metrics.items()
    }
    spark.createDataFrame(
        [(json.dumps(asdict(params)), json.dumps(metrics))], "params string, metrics string"
    ).write.format("delta").mode("overwrite").save(f"{model_dir}/metrics")
    return recommendations, metrics


def read_model_metrics(spark: SparkSession, model_dir: str) -> dict:
    row = spark.read.format("delta").load(f"{model_dir}/metrics").first()
    return json.loads(row["metrics"])
