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
The split and the evaluated users are Spark queries over the whole matrix; the
baselines and the metrics run on the driver (pandas) over the evaluated users'
pairs only (`HeldOut`: at most `max_users` users, whatever the matrix's size),
where about thirty small Spark queries took some 13 s of a night at 1M events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F


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


def _flag_held_out(scores: DataFrame, spec: EvalSpec) -> DataFrame:
    """`scores` with a boolean `_is_test`."""
    if spec.split == "random":
        bucket = F.pmod(F.xxhash64("user_id", "movie_id", F.lit(spec.seed)), F.lit(10_000))
        return scores.withColumn("_is_test", bucket < F.lit(int(spec.test_fraction * 10_000)))
    latest_first = Window.partitionBy("user_id").orderBy(
        F.desc("last_event_at"), F.desc("movie_id")
    )
    per_user = Window.partitionBy("user_id")
    recency, n = F.row_number().over(latest_first), F.count("*").over(per_user)
    return scores.withColumn("_is_test", recency <= F.least(F.ceil(n * spec.test_fraction), n - 1))


def split_pairs(
    scores: DataFrame, spec: EvalSpec, cache: bool = False
) -> tuple[DataFrame, DataFrame]:
    """(train, test) user-movie pairs; `scores` needs user_id, movie_id, last_event_at.

    `cache`: split once, into memory, for both parts to read (the temporal
    split is a window over the whole matrix, which each part would otherwise
    compute again: about 1 s of a night at 1M events, 17 s at 25M).
    """
    flagged = _flag_held_out(scores, spec)
    if cache:
        flagged = flagged.cache()
    is_test = F.col("_is_test")
    return flagged.where(~is_test).drop("_is_test"), flagged.where(is_test).drop("_is_test")


def evaluation_users(train: DataFrame, test: DataFrame, spec: EvalSpec) -> DataFrame:
    users = test.select("user_id").distinct().join(train.select("user_id").distinct(), "user_id")
    ordered = Window.orderBy(F.xxhash64("user_id", F.lit(spec.seed)), "user_id")
    return (
        users.withColumn("_n", F.row_number().over(ordered))
        .where(F.col("_n") <= spec.max_users)
        .select("user_id")
    )


@dataclass(frozen=True)
class HeldOut:
    """The evaluated users' side of a split, on the driver: their ids (sorted),
    their training pairs (`seen`) and held-out pairs (`relevant`), and every
    training movie with its number of users, the most watched first."""

    users: np.ndarray
    seen: pd.DataFrame
    relevant: pd.DataFrame
    popularity: pd.DataFrame


def held_out(train: DataFrame, test: DataFrame, users: DataFrame) -> HeldOut:
    def pairs(split: DataFrame) -> pd.DataFrame:
        return split.join(users, "user_id").select("user_id", "movie_id").toPandas()

    return HeldOut(
        users=np.sort(users.select("user_id").toPandas()["user_id"].to_numpy()),
        seen=pairs(train),
        relevant=pairs(test),
        popularity=movie_popularity(train),
    )


def movie_popularity(train: DataFrame) -> pd.DataFrame:
    """(movie_id, n_users): training movies, the most watched first."""
    # the matrix has one row per user and movie, so its rows per movie are its
    # users (a distinct count costs 4 to 5 s more at 25M events)
    counts = train.groupBy("movie_id").agg(F.count("*").alias("n_users")).toPandas()
    return counts.sort_values(["n_users", "movie_id"], ascending=[False, True], ignore_index=True)


def _pair_keys(users, movies) -> np.ndarray:
    # ids are ints in [0, 2**31) (checked_matrix), so one int64 holds a pair
    return (np.asarray(users, np.int64) << 32) | np.asarray(movies, np.int64)


def _top_k_from_ordering(
    held: HeldOut, ordering: np.ndarray, k: int, starts: np.ndarray
) -> pd.DataFrame:
    """Top k unseen movies per user from a global ordering of movie ids.

    Each user walks the ordering from its start (wrapping around) for k +
    (movies they have seen) steps, so that k unseen ones remain; the list never
    touches the full catalogue per user.
    """
    n_movies = len(ordering)
    n_seen = held.seen.groupby("user_id").size().reindex(held.users, fill_value=0).to_numpy()
    steps = np.minimum(k + n_seen, n_movies)
    user = np.repeat(held.users, steps)
    step = np.arange(steps.sum()) - np.repeat(np.cumsum(steps) - steps, steps)
    movie = ordering[(np.repeat(starts, steps) + step) % max(n_movies, 1)]
    unseen = ~np.isin(_pair_keys(user, movie), _pair_keys(held.seen.user_id, held.seen.movie_id))
    lists = pd.DataFrame({"user_id": user[unseen], "movie_id": movie[unseen]})
    lists["rank"] = lists.groupby("user_id").cumcount() + 1
    return lists[lists["rank"] <= k].reset_index(drop=True)


def _seeded_hash(ids: np.ndarray, seed: int) -> np.ndarray:
    # a hash of (id, seed): pandas' hash key applies to strings only, not to ints
    pairs = pd.DataFrame({"id": np.asarray(ids, np.int64), "seed": seed})
    return pd.util.hash_pandas_object(pairs, index=False).to_numpy()


def popularity_top_k(held: HeldOut, k: int) -> pd.DataFrame:
    """(user_id, movie_id, rank): each user's k most watched unseen movies."""
    ordering = held.popularity["movie_id"].to_numpy()
    return _top_k_from_ordering(held, ordering, k, np.zeros(len(held.users), np.int64))


def random_top_k(held: HeldOut, k: int, seed: int) -> pd.DataFrame:
    """Each user: k unseen training movies in a seeded random order."""
    movies = np.sort(held.popularity["movie_id"].to_numpy())
    ordering = movies[np.argsort(_seeded_hash(movies, seed), kind="stable")]
    starts = (_seeded_hash(held.users, seed + 1) % max(len(movies), 1)).astype(np.int64)
    return _top_k_from_ordering(held, ordering, k, starts)


def ranking_metrics(lists: pd.DataFrame, held: HeldOut, ks: tuple[int, ...]) -> dict[str, float]:
    """Averages over the evaluated users of the ranking metrics at each k (names
    like `ndcg_at_10`), for lists of (user_id, movie_id, rank)."""
    n_users = len(held.users)
    n_relevant = held.relevant.groupby("user_id").size()
    hits = lists.merge(held.relevant, on=["user_id", "movie_id"]).sort_values(["user_id", "rank"])
    hits["gain"] = 1 / np.log2(hits["rank"] + 1)
    hits["precision"] = (hits.groupby("user_id").cumcount() + 1) / hits["rank"]
    ideal_dcg = np.cumsum(1 / np.log2(np.arange(2, max(ks) + 2)))

    metrics: dict[str, float] = {}
    for k in ks:
        top = hits[hits["rank"] <= k].groupby("user_id")
        per_user = pd.DataFrame(
            {"hits": top.size(), "dcg": top["gain"].sum(), "psum": top["precision"].sum()}
        ).reindex(n_relevant.index, fill_value=0)
        cut = np.minimum(k, n_relevant)
        sums = {
            f"precision_at_{k}": (per_user["hits"] / k).sum(),
            f"recall_at_{k}": (per_user["hits"] / n_relevant).sum(),
            f"ndcg_at_{k}": (per_user["dcg"] / ideal_dcg[cut - 1]).sum(),
            f"map_at_{k}": (per_user["psum"] / cut).sum(),
            f"hit_rate_at_{k}": (per_user["hits"] > 0).sum(),
        }
        metrics |= {name: _share(total, n_users) for name, total in sums.items()}

    n_catalog = len(held.popularity)
    popular = held.popularity["movie_id"].head(max(1, -(-n_catalog // 100)))  # the top 1%
    for k in ks:
        listed = lists.loc[lists["rank"] <= k, "movie_id"]
        metrics[f"catalog_coverage_at_{k}"] = _share(listed.nunique(), n_catalog)
        metrics[f"popular_share_at_{k}"] = _share(listed.isin(popular).sum(), len(listed))
    metrics["eval_user_coverage"] = _share(lists["user_id"].nunique(), n_users)
    return metrics


def _share(part, whole: int) -> float:
    return float(part) / whole if whole else 0.0


def rating_metrics(predictions: DataFrame, label: str = "score") -> dict[str, float | None]:
    """RMSE and MAE of `prediction` against `label` on held-out pairs (None if none)."""
    error = F.col("prediction").cast("double") - F.col(label).cast("double")
    row = predictions.agg(
        F.sqrt(F.mean(error**2)).alias("rmse"), F.mean(F.abs(error)).alias("mae")
    ).first()
    return {"rmse": row["rmse"], "mae": row["mae"]}
