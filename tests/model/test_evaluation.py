"""The offline evaluation: splits, baselines, and metrics that agree with Spark's own."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest
from pyspark.ml.evaluation import RegressionEvaluator
from pyspark.ml.recommendation import ALS
from pyspark.mllib.evaluation import RankingMetrics
from pyspark.sql import functions as F

from movie_recs.model.als import AlsParams, evaluate
from movie_recs.model.evaluation import (
    EvalSpec,
    evaluation_users,
    held_out,
    popularity_top_k,
    random_top_k,
    ranking_metrics,
    rating_metrics,
    split_pairs,
)
from movie_recs.model.top_k import Factors, top_k_unseen
from movie_recs.pipeline.tasks.validate import offline_metric_failures

T0 = datetime(2026, 1, 1)
N_USERS, N_MOVIES = 40, 60


@pytest.fixture(scope="module")
def scores(spark):
    """A matrix with structure (taste groups) so that ALS has something to learn."""
    rows = []
    for user in range(1, N_USERS + 1):
        for movie in range(1, N_MOVIES + 1):
            if (user * 7 + movie * 3) % 5 < 2 or (movie % 4 == user % 4 and movie % 3):
                score = 4.5 if movie % 4 == user % 4 else 1.0 + (user + movie) % 3
                rows.append((user, movie, float(score), T0 + timedelta(hours=user * movie % 97)))
    return spark.createDataFrame(
        rows, "user_id int, movie_id int, score float, last_event_at timestamp"
    ).cache()


def test_temporal_split_holds_out_each_users_latest(scores):
    spec = EvalSpec(split="temporal", test_fraction=0.2)
    train, test = split_pairs(scores, spec)
    assert train.count() + test.count() == scores.count()
    assert train.join(test, ["user_id", "movie_id"]).count() == 0
    latest_train = dict(train.groupBy("user_id").agg(F.max("last_event_at")).collect())
    earliest_test = dict(test.groupBy("user_id").agg(F.min("last_event_at")).collect())
    for user, first_held_out in earliest_test.items():
        assert first_held_out >= latest_train[user]  # nothing in training is newer
    per_user = {r[0]: r[1] for r in scores.groupBy("user_id").count().collect()}
    held = {r[0]: r[1] for r in test.groupBy("user_id").count().collect()}
    for user, n in per_user.items():
        assert held.get(user, 0) == min(math.ceil(n * 0.2), n - 1)
    again = split_pairs(scores, spec)[1]
    assert sorted(again.collect()) == sorted(test.collect())


def test_temporal_split_by_hand(spark):
    """20 % of each user's movies, rounded up, and always one left to train on:
    1 movie -> 0 held out, 5 -> 1, 6 -> 2; the latest ones."""
    rows = [
        (user, movie, 1.0, T0 + timedelta(days=movie))
        for user, n in ((1, 1), (2, 5), (3, 6))
        for movie in range(1, n + 1)
    ]
    pairs = spark.createDataFrame(
        rows, "user_id int, movie_id int, score float, last_event_at timestamp"
    )
    _, test = split_pairs(pairs, EvalSpec(split="temporal", test_fraction=0.2))
    assert sorted((r.user_id, r.movie_id) for r in test.collect()) == [(2, 5), (3, 5), (3, 6)]


def test_random_split_is_seeded_and_disjoint(scores):
    train, test = split_pairs(scores, EvalSpec(split="random", seed=3))
    assert train.count() + test.count() == scores.count()
    assert 0.1 < test.count() / scores.count() < 0.3
    same = split_pairs(scores, EvalSpec(split="random", seed=3))[1]
    other = split_pairs(scores, EvalSpec(split="random", seed=4))[1]
    assert sorted(same.collect()) == sorted(test.collect())
    assert sorted(other.collect()) != sorted(test.collect())


@pytest.mark.parametrize("split", ["temporal", "random"])
def test_a_cached_split_has_the_same_parts(scores, split):
    spec = EvalSpec(split=split, seed=3)
    cached = split_pairs(scores, spec, cache=True)
    for once, again in zip(cached, split_pairs(scores, spec), strict=True):
        assert once.columns == scores.columns
        assert sorted(once.collect()) == sorted(again.collect())
    assert cached[0].count() + cached[1].count() == scores.count()


def test_unknown_split_is_refused():
    with pytest.raises(ValueError, match="temporal"):
        EvalSpec(split="by-genre")


def _lists(recommendations) -> dict[int, list[int]]:
    ordered = recommendations.sort_values(["user_id", "rank"])
    return {user: list(movies) for user, movies in ordered.groupby("user_id")["movie_id"]}


@pytest.fixture(scope="module")
def fitted(spark, scores):
    spec = EvalSpec()
    train, test = split_pairs(scores, spec)
    train, test = train.cache(), test.cache()
    model = ALS(
        rank=5, maxIter=8, regParam=0.1, seed=1,
        userCol="user_id", itemCol="movie_id", ratingCol="score", coldStartStrategy="drop",
    ).fit(train)  # fmt: skip
    users = evaluation_users(train, test, spec).cache()
    recommendations = top_k_unseen(Factors.of(model), train, users, 50).toPandas()
    return spec, train, test, model, users, held_out(train, test, users), recommendations


def test_ranking_metrics_agree_with_sparks_ranking_metrics(spark, fitted):
    _, _, test, _, users, held, recommendations = fitted
    ours = ranking_metrics(recommendations, held, (10, 50))
    predicted = _lists(recommendations)
    relevant: dict[int, list[int]] = {}
    for row in test.join(users, "user_id").collect():
        relevant.setdefault(row["user_id"], []).append(row["movie_id"])
    pairs = [(predicted.get(user, []), labels) for user, labels in relevant.items()]
    spark_metrics = RankingMetrics(spark.sparkContext.parallelize(pairs))
    for k in (10, 50):
        assert ours[f"precision_at_{k}"] == pytest.approx(spark_metrics.precisionAt(k), abs=1e-9)
        assert ours[f"recall_at_{k}"] == pytest.approx(spark_metrics.recallAt(k), abs=1e-9)
        assert ours[f"ndcg_at_{k}"] == pytest.approx(spark_metrics.ndcgAt(k), abs=1e-9)
        assert ours[f"map_at_{k}"] == pytest.approx(
            spark_metrics.meanAveragePrecisionAt(k), abs=1e-9
        )
        hit_rate = sum(bool(set(p[:k]) & set(labels)) for p, labels in pairs) / len(pairs)
        assert ours[f"hit_rate_at_{k}"] == pytest.approx(hit_rate, abs=1e-12)
    assert 0 < ours["ndcg_at_10"] < 1  # a real model: neither nothing nor perfect


def test_rating_metrics_agree_with_sparks_regression_evaluator(fitted):
    _, _, test, model, *_ = fitted
    predictions = model.transform(test)
    ours = rating_metrics(predictions)
    for name in ("rmse", "mae"):
        theirs = RegressionEvaluator(
            metricName=name, labelCol="score", predictionCol="prediction"
        ).evaluate(predictions)
        assert ours[name] == pytest.approx(theirs, abs=1e-9)


def test_a_perfect_list_scores_one_and_an_empty_one_zero(spark, fitted):
    _, train, test, _, users, held, _ = fitted
    relevant = test.join(users, "user_id").select("user_id", "movie_id")
    perfect = relevant.selectExpr(
        "user_id", "movie_id", "row_number() over (partition by user_id order by movie_id) as rank"
    ).toPandas()
    best = ranking_metrics(perfect, held, (10, 50))
    for name in ("recall_at_50", "ndcg_at_10", "ndcg_at_50", "map_at_50", "hit_rate_at_10"):
        assert best[name] == pytest.approx(1.0), name
    n_catalog = train.select("movie_id").distinct().count()
    listed = relevant.select("movie_id").distinct().count()
    assert best["catalog_coverage_at_50"] == pytest.approx(listed / n_catalog)
    popular = {  # the 1% most watched in training (at least one movie)
        r["movie_id"]
        for r in train.groupBy("movie_id").count().orderBy(F.desc("count"), "movie_id")
        .limit(max(1, -(-n_catalog // 100))).collect()
    }  # fmt: skip
    rows = relevant.collect()
    share = sum(r["movie_id"] in popular for r in rows) / len(rows)
    assert best["popular_share_at_50"] == pytest.approx(share)
    nothing = ranking_metrics(perfect.head(0), held, (10,))
    assert nothing["ndcg_at_10"] == 0 and nothing["eval_user_coverage"] == 0


def test_popularity_baseline_lists_the_most_watched_unseen_movies(fitted):
    _, train, _, _, _, held, _ = fitted
    lists = _lists(popularity_top_k(held, 10))
    watchers: dict[int, set[int]] = {}
    seen: dict[int, set[int]] = {}
    for row in train.collect():
        watchers.setdefault(row["movie_id"], set()).add(row["user_id"])
        seen.setdefault(row["user_id"], set()).add(row["movie_id"])
    ranking = sorted(watchers, key=lambda m: (-len(watchers[m]), m))
    for user, movies in lists.items():
        assert movies == [m for m in ranking if m not in seen[user]][:10]


def test_random_baseline_is_seeded_unseen_and_full(fitted):
    _, train, _, _, _, held, _ = fitted
    a = _lists(random_top_k(held, 10, seed=1))
    assert a == _lists(random_top_k(held, 10, seed=1))
    assert a != _lists(random_top_k(held, 10, seed=2))
    seen = {(r["user_id"], r["movie_id"]) for r in train.collect()}
    for user, movies in a.items():
        assert len(movies) == len(set(movies)) == 10
        assert not any((user, m) in seen for m in movies)


def test_evaluate_logs_the_model_and_both_baselines(fitted):
    spec, train, test, *_ = fitted
    explicit = evaluate(train, test, AlsParams(rank=5, max_iter=5), spec)
    for prefix in ("", "popularity_", "random_"):
        for k in (10, 50):
            for name in ("precision", "recall", "ndcg", "map", "hit_rate", "popular_share"):
                assert 0 <= explicit[f"{prefix}{name}_at_{k}"] <= 1
    assert explicit["rmse"] > 0 and explicit["mae"] > 0
    implicit = evaluate(train, test, AlsParams(rank=5, max_iter=5, implicit=True, alpha=5), spec)
    assert implicit["rmse"] is None  # preferences are not ratings
    assert implicit["ndcg_at_10"] != explicit["ndcg_at_10"]


@pytest.mark.parametrize(
    ("metrics", "overrides", "failed"),
    [
        ({"rmse": 0.9, "ndcg_at_10": 0.2, "random_ndcg_at_10": 0.1}, {}, []),
        ({"rmse": 2.5, "ndcg_at_10": 0.2, "random_ndcg_at_10": 0.1}, {}, ["rmse"]),
        ({"rmse": None, "ndcg_at_10": 0.2, "random_ndcg_at_10": 0.1}, {}, ["rmse"]),
        ({"rmse": None, "ndcg_at_10": 0.2, "random_ndcg_at_10": 0.1}, {"als_implicit": True}, []),
        ({"rmse": 0.9, "ndcg_at_10": 0.05, "random_ndcg_at_10": 0.1}, {}, ["random baseline"]),
        ({"rmse": 0.9, "ndcg_at_10": 0.2, "random_ndcg_at_10": 0.1}, {"min_ndcg_at_10": 0.3},
         ["min_ndcg_at_10 0.3"]),
        ({"rmse": 0.9, "ndcg_at_10": 0.2, "random_ndcg_at_10": 0.1, "popularity_ndcg_at_10": 0.19},
         {"min_ndcg_at_10_vs_popularity": 1.1}, ["popularity baseline"]),
        ({"rmse": 0.9}, {}, ["min_ndcg_at_10", "random baseline"]),
    ],
)  # fmt: skip
def test_offline_gates(metrics, overrides, failed):
    run_vars = {
        "als_implicit": False,
        "max_rmse": 2.0,
        "min_ndcg_at_10": 0.0,
        "min_ndcg_at_10_vs_random": 1.0,
        "min_ndcg_at_10_vs_popularity": 0.0,
    } | overrides
    failures = offline_metric_failures(metrics, run_vars)
    assert len(failures) == len(failed)
    for failure, expected in zip(failures, failed, strict=True):
        assert expected in failure
