"""Fold-in: user factors solved against a trained model's item factors."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest
from pyspark.ml.recommendation import ALS
from pyspark.sql import functions as F

from movie_recs.model.als import AlsParams, train_and_recommend
from movie_recs.model.evaluation import EvalSpec
from movie_recs.model.fold_in import fold_in_users

N_USERS, N_MOVIES = 30, 40


@pytest.fixture(scope="module")
def scores(random_ratings):
    return random_ratings(N_USERS, N_MOVIES, share=0.4, seed=11)


def factors(frame) -> dict[int, np.ndarray]:
    return {row["id"]: np.array(row["features"]) for row in frame.collect()}


@pytest.mark.parametrize("implicit", [True, False])
def test_folding_in_the_training_data_gives_back_alss_own_user_factors(scores, implicit):
    # MLlib's last half-iteration solves the users against the final item
    # factors: the same equations on the same data must give the same answer
    params = {"reg_param": 0.1, "implicit": implicit, "alpha": 0.5}
    model = ALS(
        rank=4, maxIter=6, regParam=0.1, implicitPrefs=implicit, alpha=0.5, seed=3,
        userCol="user_id", itemCol="movie_id", ratingCol="score",
    ).fit(scores)  # fmt: skip
    folded = factors(fold_in_users(model.itemFactors, scores, block_users=7, **params))
    trained = factors(model.userFactors)
    assert folded.keys() == trained.keys()
    for user, vector in trained.items():
        np.testing.assert_allclose(folded[user], vector, rtol=1e-3, atol=1e-4)


def test_new_users_get_factors_and_unknown_movies_are_left_out(spark, scores):
    model = ALS(
        rank=4, maxIter=4, seed=3, userCol="user_id", itemCol="movie_id", ratingCol="score"
    ).fit(scores)
    explicit = {"reg_param": 0.1, "implicit": False, "alpha": 1.0, "block_users": 4}
    known = factors(fold_in_users(model.itemFactors, scores.where("user_id = 1"), **explicit))[1]
    tonight = scores.where("user_id = 1").union(
        spark.createDataFrame(
            [(1, 999, 5.0), (500, 1, 4.0), (500, 2, 3.0), (501, 998, 5.0)],
            "user_id int, movie_id int, score float",
        )
    )
    folded = factors(fold_in_users(model.itemFactors, tonight, **explicit))
    # user 1's unknown movie 999 changes nothing; 500 is new and gets factors;
    # 501 has only an unknown movie, so no factors (no recommendations)
    assert set(folded) == {1, 500}
    np.testing.assert_allclose(folded[1], known, rtol=1e-6)
    assert np.linalg.norm(folded[500]) > 0


def test_a_night_folds_into_a_base_with_the_same_parameters_only(spark, scores, tmp_path):
    matrix = scores.withColumn("last_event_at", F.lit(datetime(2026, 1, 1)))
    users = scores.select("user_id").distinct()
    params, spec = AlsParams(rank=4, max_iter=4, implicit=True, alpha=0.5), EvalSpec()

    def night(name, params, base=None):
        recs, metrics = train_and_recommend(
            spark, matrix, users, params, spec, str(tmp_path / name), base_model_dir=base
        )
        return recs.count(), metrics

    n_full, full = night("full", params)
    n_folded, folded = night("folded", params, base=str(tmp_path / "full"))
    assert folded["folded_in"] == 1.0 and "folded_in" not in full
    assert folded["ndcg_at_10"] == full["ndcg_at_10"]  # the base's evaluation stands
    # fewer than 50 unseen movies each: every user gets all of theirs, both ways
    assert n_folded == n_full == N_USERS * N_MOVIES - scores.count()
    assert not (tmp_path / "folded" / "als").exists()
    # other parameters than the base's: a full fit, with its own evaluation
    _, refit = night("refit", AlsParams(rank=4, max_iter=4, implicit=True, alpha=2.0),
                     base=str(tmp_path / "full"))  # fmt: skip
    assert "folded_in" not in refit and (tmp_path / "refit" / "als").exists()
