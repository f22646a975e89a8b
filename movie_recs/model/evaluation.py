"""Offline evaluation of top-k lists: the split, the baselines and the metrics.

Protocol (docs/QUALITY.md):
- split: per user, the latest `test_fraction` of their movies (by last event)
  are held out, at least one movie stays in training ("temporal", the
  default); or a seeded hash of (user, movie) picks them ("random"). Both are
  deterministic.
- every held-out movie is relevant; lists exclude the movies a user has in
  training; users evaluated: those with held-out movies and a training history
  (a deterministic sample of at most `max_users`).
- metrics at k, averaged over evaluated users, with the definitions of
  Spark's RankingMetrics: precision (hits / k), recall (hits / relevant), NDCG
  (binary gains), MAP (precision at each hit / min(k, relevant)), hit rate;
  plus catalogue coverage, the share of users given a list, and the share of
  recommendations from the 1% most popular movies.
All in Spark DataFrame operations: nothing is collected per user.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

RANKING_METRICS = ("precision", "recall", "ndcg", "map", "hit_rate")
BASELINES = ("popularity", "random")


@dataclass(frozen=True)
class EvalSpec:
    split: str = "temporal"
    test_fraction: float = 0.2
    seed: int = 42
    ks: tuple[int, ...] = (10, 50)
    max_users: int = 10_000

    @classmethod
    def from_vars(cls, get: Callable[[str], Any]) -> EvalSpec:
        return cls(
            split=str(get("eval_split")),
            test_fraction=float(get("test_fraction")),
            seed=int(get("als_seed")),
            max_users=int(get("eval_max_users")),
        )

    def __post_init__(self) -> None:
        if self.split not in ("temporal", "random"):
            raise ValueError(f"eval split must be 'temporal' or 'random', not {self.split!r}")
        if not 0 < self.test_fraction < 1:
            raise ValueError(f"test_fraction must lie in (0, 1), got {self.test_fraction}")


def split_pairs(scores: DataFrame, spec: EvalSpec) -> tuple[DataFrame, DataFrame]:
    """(train, test) user-movie pairs; `scores` needs user_id, movie_id, last_event_at."""
    if spec.split == "random":
        bucket = F.pmod(F.xxhash64("user_id", "movie_id", F.lit(spec.seed)), F.lit(10_000))
        is_test = bucket < F.lit(int(spec.test_fraction * 10_000))
        return scores.where(~is_test), scores.where(is_test)
    latest_first = Window.partitionBy("user_id").orderBy(
        F.desc("last_event_at"), F.desc("movie_id")
    )
    per_user = Window.partitionBy("user_id")
    ranked = (
        scores.withColumn("_recency", F.row_number().over(latest_first))
        .withColumn("_n", F.count("*").over(per_user))
        .withColumn(
            "_is_test",
            F.col("_recency") <= F.least(F.ceil(F.col("_n") * spec.test_fraction), F.col("_n") - 1),
        )
    )
    columns = scores.columns
    return (
        ranked.where(~F.col("_is_test")).select(*columns),
        ranked.where(F.col("_is_test")).select(*columns),
    )


def evaluation_users(train: DataFrame, test: DataFrame, spec: EvalSpec) -> DataFrame:
    users = test.select("user_id").distinct().join(train.select("user_id").distinct(), "user_id")
    ordered = Window.orderBy(F.xxhash64("user_id", F.lit(spec.seed)), "user_id")
    return (
        users.withColumn("_n", F.row_number().over(ordered))
        .where(F.col("_n") <= spec.max_users)
        .select("user_id")
    )


def _top_k_from_ordering(
    train: DataFrame, users: DataFrame, ordering: DataFrame, k: int, rotate: bool
) -> DataFrame:
    """Top k unseen movies per user from a global ordering (position, movie_id).

    Each user walks the ordering from position 0 (or, with `rotate`, from an
    offset hashed from the user id) for k + (movies they have seen) steps, so
    that k unseen ones remain; the list never touches the full catalogue per user.
    """
    n_movies = ordering.count()
    seen = train.join(users, "user_id").select("user_id", "movie_id")
    steps = (
        users.join(seen.groupBy("user_id").count(), "user_id", "left")
        .select(
            "user_id",
            F.least(F.lit(k) + F.coalesce("count", F.lit(0)), F.lit(n_movies)).alias("_steps"),
        )
        .withColumn(
            "_start",
            F.pmod(F.xxhash64("user_id"), F.lit(n_movies)) if rotate else F.lit(0).cast("long"),
        )
    )
    walked = steps.select(
        "user_id",
        F.explode(F.sequence(F.lit(0), F.col("_steps") - 1)).alias("_step"),
        "_start",
    )
    position = F.pmod(F.col("_start") + F.col("_step"), F.lit(n_movies)).alias("position")
    walked = walked.select("user_id", "_step", position)
    unseen = walked.join(ordering, "position").join(seen, ["user_id", "movie_id"], "left_anti")
    by_step = Window.partitionBy("user_id").orderBy("_step")
    return (
        unseen.withColumn("rank", F.row_number().over(by_step))
        .where(F.col("rank") <= k)
        .select("user_id", "rank", "movie_id", (-F.col("rank")).cast("float").alias("score"))
    )


def movie_popularity(train: DataFrame) -> DataFrame:
    """(position, movie_id, n_users): training movies, the most watched first."""
    counts = train.groupBy("movie_id").agg(F.countDistinct("user_id").alias("n_users"))
    order = Window.orderBy(F.desc("n_users"), F.asc("movie_id"))
    return counts.withColumn("position", F.row_number().over(order) - 1)


def popularity_top_k(train: DataFrame, users: DataFrame, k: int) -> DataFrame:
    ordering = movie_popularity(train).select("position", "movie_id")
    return _top_k_from_ordering(train, users, ordering, k, rotate=False)


def random_top_k(train: DataFrame, users: DataFrame, k: int, seed: int) -> DataFrame:
    """Each user: k unseen training movies in a seeded random order."""
    movies = train.select("movie_id").distinct()
    order = Window.orderBy(F.xxhash64("movie_id", F.lit(seed)), "movie_id")
    ordering = movies.withColumn("position", F.row_number().over(order) - 1)
    return _top_k_from_ordering(train, users, ordering, k, rotate=True)


def ranking_metrics(
    recommendations: DataFrame,
    test: DataFrame,
    users: DataFrame,
    train: DataFrame,
    ks: tuple[int, ...],
) -> dict[str, float]:
    """Averages over `users` of the ranking metrics at each k (names like `ndcg_at_10`)."""
    relevant = test.join(users, "user_id").select("user_id", "movie_id")
    n_relevant = relevant.groupBy("user_id").agg(F.count("*").alias("n_rel"))
    hits = (
        recommendations.join(relevant, ["user_id", "movie_id"])
        .withColumn(
            "hits_so_far",
            F.count("*").over(Window.partitionBy("user_id").orderBy("rank")),
        )
        .select("user_id", "rank", "hits_so_far")
    )
    n_users = users.count()
    popularity = movie_popularity(train)
    n_catalog = popularity.count()
    n_popular = max(1, -(-n_catalog // 100))  # the top 1%, at least one movie
    popular = popularity.where(F.col("position") < n_popular).select(
        "movie_id", F.lit(True).alias("is_popular")
    )

    # per user, for every k at once: hits, DCG and the sum of precisions at hits
    per_k = [
        agg(F.when(F.col("rank") <= k, value)).alias(f"{name}_{k}")
        for k in ks
        for name, agg, value in (
            ("hits", F.count, F.lit(1)),
            ("dcg", F.sum, 1 / F.log2(F.col("rank") + 1)),
            ("psum", F.sum, F.col("hits_so_far") / F.col("rank")),
        )
    ]
    per_user = (
        users.join(n_relevant, "user_id")
        .join(hits.groupBy("user_id").agg(*per_k), "user_id", "left")
        .fillna(0)
    )
    scores = []
    for k in ks:
        n_hits, idcg = (
            F.col(f"hits_{k}"),
            F.expr(
                f"aggregate(sequence(1, least({k}, n_rel)), 0D, (acc, i) -> acc + 1 / log2(i + 1))"
            ),
        )
        scores += [
            F.sum(n_hits / k).alias(f"precision_at_{k}"),
            F.sum(n_hits / F.col("n_rel")).alias(f"recall_at_{k}"),
            F.sum(F.col(f"dcg_{k}") / idcg).alias(f"ndcg_at_{k}"),
            F.sum(F.col(f"psum_{k}") / F.least(F.lit(k), F.col("n_rel"))).alias(f"map_at_{k}"),
            F.sum((n_hits > 0).cast("double")).alias(f"hit_rate_at_{k}"),
        ]
    sums = per_user.agg(*scores).first().asDict()
    metrics = {name: (total or 0.0) / n_users if n_users else 0.0 for name, total in sums.items()}

    in_top = {k: F.col("rank") <= k for k in ks}
    movie, is_popular = F.col("movie_id"), F.col("is_popular")
    counts = (
        recommendations.join(popular, "movie_id", "left")
        .agg(
            F.countDistinct("user_id").alias("users"),
            *(F.countDistinct(F.when(in_top[k], movie)).alias(f"movies_{k}") for k in ks),
            *(F.count(F.when(in_top[k], 1)).alias(f"rows_{k}") for k in ks),
            *(F.count(F.when(in_top[k], is_popular)).alias(f"popular_{k}") for k in ks),
        )
        .first()
    )
    for k in ks:
        movies, rows = counts[f"movies_{k}"], counts[f"rows_{k}"]
        metrics[f"catalog_coverage_at_{k}"] = movies / n_catalog if n_catalog else 0.0
        metrics[f"popular_share_at_{k}"] = counts[f"popular_{k}"] / rows if rows else 0.0
    metrics["eval_user_coverage"] = counts["users"] / n_users if n_users else 0.0
    return metrics


def rating_metrics(predictions: DataFrame, label: str = "score") -> dict[str, float | None]:
    """RMSE and MAE of `prediction` against `label` on held-out pairs (None if none)."""
    error = F.col("prediction").cast("double") - F.col(label).cast("double")
    row = predictions.agg(
        F.sqrt(F.mean(error**2)).alias("rmse"), F.mean(F.abs(error)).alias("mae")
    ).first()
    return {"rmse": row["rmse"], "mae": row["mae"]}
