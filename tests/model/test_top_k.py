"""Top k unseen movies per user, scored a block of users at a time."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from pyspark.ml.recommendation import ALS

from movie_recs.model.top_k import (
    Factors,
    group_count,
    kth_best_lower_bound,
    top_k_block,
    top_k_unseen,
)

N_USERS, N_MOVIES = 20, 30


@pytest.fixture(scope="module")
def scores(random_ratings):
    return random_ratings(N_USERS, N_MOVIES, share=0.6, seed=7)


@pytest.fixture(scope="module")
def model(scores):
    return ALS(
        rank=4, maxIter=5, regParam=0.1, seed=1,
        userCol="user_id", itemCol="movie_id", ratingCol="score",
    ).fit(scores)  # fmt: skip


def brute_force_top_k(model, scores, k: int) -> dict[int, list[int]]:
    """Every user x movie score on the driver, seen movies dropped, best k kept."""
    users = {r["id"]: np.array(r["features"]) for r in model.userFactors.collect()}
    items = {r["id"]: np.array(r["features"]) for r in model.itemFactors.collect()}
    seen = {(r["user_id"], r["movie_id"]) for r in scores.collect()}
    out = {}
    for user, u in users.items():
        ranked = sorted(
            ((float(np.float32(u @ v)), m) for m, v in items.items() if (user, m) not in seen),
            key=lambda s: (-s[0], s[1]),
        )
        out[user] = [m for _, m in ranked[:k]]
    return out


def lists(rows) -> dict[int, list[int]]:
    out: dict[int, list[tuple[int, int]]] = {}
    for r in rows:
        out.setdefault(r["user_id"], []).append((r["rank"], r["movie_id"]))
    return {user: [m for _, m in sorted(items)] for user, items in out.items()}


@pytest.mark.parametrize("block_users", [1, 3, 256])
def test_top_k_matches_brute_force_scoring_whatever_the_block_size(
    spark, scores, model, block_users
):
    users = spark.range(1, N_USERS + 1).selectExpr("cast(id as int) as user_id")
    recs = top_k_unseen(Factors.of(model), scores, users, k=5, block_users=block_users).collect()
    assert lists(recs) == brute_force_top_k(model, scores, 5)
    assert all(r["rank"] in range(1, 6) for r in recs)
    for user in range(1, N_USERS + 1):
        mine = sorted((r for r in recs if r["user_id"] == user), key=lambda r: r["rank"])
        assert [r["score"] for r in mine] == sorted((r["score"] for r in mine), reverse=True)


def test_top_k_is_capped_by_what_is_unseen(spark, scores, model):
    users = spark.createDataFrame([(1,)], "user_id int")
    n_unseen = N_MOVIES - scores.where("user_id = 1").count()
    recs = top_k_unseen(Factors.of(model), scores, users, k=50).collect()
    assert sorted(r["rank"] for r in recs) == list(range(1, n_unseen + 1))


def test_top_k_skips_users_the_model_does_not_know_and_keeps_duplicates_out(spark, scores, model):
    users = spark.createDataFrame([(1,), (1,), (999,)], "user_id int")
    recs = top_k_unseen(Factors.of(model), scores, users, k=3).collect()
    assert sorted((r["user_id"], r["rank"]) for r in recs) == [(1, 1), (1, 2), (1, 3)]


def test_a_user_who_has_seen_nothing_in_scores_gets_the_best_of_the_catalogue(spark, scores, model):
    users = spark.createDataFrame([(2,)], "user_id int")
    nothing_seen = scores.where("user_id <> 2")
    recs = top_k_unseen(Factors.of(model), nothing_seen, users, k=N_MOVIES).collect()
    assert sorted(r["movie_id"] for r in recs) == list(range(1, N_MOVIES + 1))


def test_no_movie_left_to_score_is_a_clear_error(spark, scores, model):
    # every movie with factors has left the catalogue: the night stops with this error
    users = spark.createDataFrame([(1,)], "user_id int")
    no_items = Factors(model.userFactors, model.itemFactors.limit(0))
    with pytest.raises(ValueError, match="no movie with factors is left to score"):
        top_k_unseen(no_items, scores, users, k=3)


@pytest.mark.parametrize("k, expected", [(2, [10, 30]), (3, [10, 30, 40]), (9, [10, 30, 40, 50])])
def test_ties_with_the_kth_score_go_to_the_smaller_movie_ids(k, expected):
    # one user, one factor: the movies score 3, 2, 2, 2, 1; movie 20 is seen
    item_ids = np.array([10, 20, 30, 40, 50], np.int32)
    item_vectors = np.array([[3.0], [2.0], [2.0], [2.0], [1.0]], np.float32)
    block = pa.RecordBatch.from_arrays(
        [
            pa.array([7], pa.int32()),
            pa.array([[1.0]], pa.list_(pa.float32())),
            pa.array([[20]], pa.list_(pa.int32())),
        ],
        names=["user_id", "features", "seen"],
    )
    rows = top_k_block(block, item_ids, item_vectors, k).to_pylist()
    assert [r["movie_id"] for r in rows] == expected
    assert [r["rank"] for r in rows] == list(range(1, len(expected) + 1))


@pytest.mark.parametrize("n_movies, k", [(2_000, 3), (2_001, 50)])
def test_top_k_from_a_bound_of_group_maxima_is_exact_on_a_large_catalogue(n_movies, k):
    # More movies than groups, so each row's k-th best is bounded from the
    # groups' maxima; the last movies are the rest after whole runs of groups.
    # Integer scores tie, some at the k-th best; user 0 has seen every movie
    # but one group's (fewer than k groups keep a maximum: the bound is then no
    # bound), user 1 all but two movies.
    rng = np.random.default_rng(11)
    groups = group_count(n_movies, k)
    assert groups < n_movies and n_movies % groups
    item_ids = np.arange(100, 100 + n_movies, dtype=np.int32)
    item_vectors = rng.integers(-40, 41, (n_movies, 2)).astype(np.float32)
    user_vectors = rng.integers(-3, 4, (6, 2)).astype(np.float32)
    seen = [
        np.delete(item_ids, np.arange(0, n_movies, groups)),
        np.delete(item_ids, [5, 1_500]),
        *(rng.choice(item_ids, 50, replace=False) for _ in range(4)),
    ]
    block = pa.RecordBatch.from_arrays(
        [
            pa.array(range(6), pa.int32()),
            pa.array(user_vectors.tolist(), pa.list_(pa.float32())),
            pa.array([s.tolist() for s in seen], pa.list_(pa.int32())),
        ],
        names=["user_id", "features", "seen"],
    )
    got = lists(top_k_block(block, item_ids, item_vectors, k).to_pylist())

    scores = user_vectors @ item_vectors.T
    expected = {}
    for user in range(6):
        unseen = ~np.isin(item_ids, seen[user])
        order = np.lexsort((item_ids[unseen], -scores[user][unseen]))
        expected[user] = item_ids[unseen][order][:k].tolist()
    assert got == expected
    assert sorted(got[1]) == [105, 1_600]


@pytest.mark.parametrize("n_movies", [7, 400, 401, 2_001])
def test_the_bound_is_never_above_a_rows_kth_best_and_exact_on_small_catalogues(n_movies):
    # row 0: one movie far above the rest, so a bound counting it twice (groups
    # that overlap) would be above the row's 2nd best
    k = 2
    scores = np.random.default_rng(3).normal(size=(4, n_movies)).astype(np.float32)
    scores[0] = 0.0
    scores[0, n_movies // 2] = 10.0
    kth_best = np.sort(scores, axis=1)[:, -k]
    bound = kth_best_lower_bound(scores, k)
    assert (bound <= kth_best).all()
    if group_count(n_movies, k) == n_movies:  # every movie its own group
        assert (bound == kth_best).all()
