"""ALS pieces: top-k without seen movies."""

from __future__ import annotations

import pytest
from pyspark.ml.recommendation import ALS

from movie_recs.model.als import top_k_unseen


@pytest.fixture(scope="module")
def scores(spark):
    rows = [
        (u, m, float(1 + (u * m) % 5)) for u in range(1, 21) for m in range(1, 31) if (u + m) % 3
    ]
    return spark.createDataFrame(rows, "user_id int, movie_id int, score float")


def test_top_k_excludes_seen_and_ranks_by_score(spark, scores):
    model = ALS(
        rank=4,
        maxIter=5,
        regParam=0.1,
        seed=1,
        userCol="user_id",
        itemCol="movie_id",
        ratingCol="score",
    ).fit(scores)
    users = spark.createDataFrame([(1,), (2,)], "user_id int")
    recs = top_k_unseen(model, scores, users, k=5, n_movies=30).collect()
    seen = {(r["user_id"], r["movie_id"]) for r in scores.collect()}
    for user in (1, 2):
        mine = sorted((r for r in recs if r["user_id"] == user), key=lambda r: r["rank"])
        assert [r["rank"] for r in mine] == [1, 2, 3, 4, 5]
        assert all((user, r["movie_id"]) not in seen for r in mine)
        assert [r["score"] for r in mine] == sorted((r["score"] for r in mine), reverse=True)


def test_top_k_is_capped_by_what_is_unseen(spark, scores):
    model = ALS(
        rank=4, maxIter=3, seed=1, userCol="user_id", itemCol="movie_id", ratingCol="score"
    ).fit(scores)
    users = spark.createDataFrame([(1,)], "user_id int")
    n_unseen = 30 - scores.where("user_id = 1").count()
    recs = top_k_unseen(model, scores, users, k=50, n_movies=30)
    assert recs.count() == n_unseen
