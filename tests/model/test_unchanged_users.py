"""An incremental night re-scores only the users whose matrix rows changed;
the others keep last night's lists, which are what re-scoring them gives."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest
from pyspark.sql import functions as F

from movie_recs.model.als import AlsParams, train_and_recommend
from movie_recs.model.evaluation import EvalSpec
from movie_recs.model.records import ModelRecord, read_model_record, save_model_record
from movie_recs.model.unchanged_users import last_nights_lists

N_USERS, N_MOVIES = 30, 80
PARAMS, SPEC = AlsParams(rank=4, max_iter=4, top_k=10), EvalSpec()


@pytest.fixture(scope="module")
def matrix(random_ratings):
    scores = random_ratings(N_USERS, N_MOVIES, share=0.3, seed=5)
    return scores.withColumn("last_event_at", F.lit(datetime(2026, 1, 1)))


@pytest.fixture(scope="module")
def tonight(spark, matrix):
    """Last night's matrix with: user 1 watched a new movie, user 2 re-rated
    one, user 3 lost one (it left the window), user 31 is new, user 30 is no
    longer active."""
    first_of = {u: matrix.where(f"user_id = {u}").orderBy("movie_id").first() for u in (2, 3)}
    unseen_by_1 = matrix.select("movie_id").subtract(matrix.where("user_id = 1").select("movie_id"))
    changes = spark.createDataFrame(
        [
            (1, unseen_by_1.orderBy("movie_id").first()["movie_id"], 5.0),
            (2, first_of[2]["movie_id"], first_of[2]["score"] % 5 + 1),  # another of 1..5
            (31, 1, 4.0),
            (31, 2, 2.0),
        ],
        "user_id int, movie_id int, score float",
    ).withColumn("last_event_at", F.lit(datetime(2026, 1, 2)))
    kept = matrix.join(
        changes.select("user_id", "movie_id"), ["user_id", "movie_id"], "left_anti"
    ).where(f"not (user_id = 3 and movie_id = {first_of[3]['movie_id']}) and user_id != 30")
    return kept.unionByName(changes).cache()


def night(spark, tmp_path, name, scores, base=None, previous=None, catalogue=None):
    """One night's lists (with its model version, as the recommendations table
    holds them) and metrics."""
    recs, metrics = train_and_recommend(
        spark, scores, scores.select("user_id"), PARAMS, SPEC, str(tmp_path / name),
        base_model_dir=str(tmp_path / base) if base else None, previous=previous,
        catalogue=catalogue,
    )  # fmt: skip
    table = str(tmp_path / f"{name}_recommendations")
    recs.withColumn("model_version", F.lit(name)).write.format("delta").save(table)
    return spark.read.format("delta").load(table), metrics


def lists(recs) -> dict[int, list[tuple[int, float]]]:
    by_user: dict[int, list] = {}
    for row in recs.orderBy("user_id", "rank").collect():
        by_user.setdefault(row["user_id"], []).append((row["movie_id"], row["score"]))
    return by_user


@pytest.fixture(scope="module")
def nights(spark, matrix, tonight, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nights")
    full, _ = night(spark, tmp, "full", matrix)
    kept, kept_metrics = night(spark, tmp, "kept", tonight, base="full", previous=full)
    everyone, everyone_metrics = night(spark, tmp, "everyone", tonight, base="full")
    return tmp, full, (kept, kept_metrics), (everyone, everyone_metrics)


def test_only_changed_and_new_users_are_rescored(nights):
    _, full, (kept, metrics), (_, everyone_metrics) = nights
    assert metrics["rescored_users"] == 4  # users 1, 2, 3 and 31
    assert everyone_metrics["rescored_users"] == N_USERS  # 29 of last night's + 31
    last, tonight_kept = lists(full), lists(kept)
    assert 30 not in tonight_kept and 31 in tonight_kept
    for user in range(4, 30):
        assert tonight_kept[user] == last[user]  # carried over as they were
    for user in (1, 2, 3):
        assert tonight_kept[user] != last[user]


def test_the_matrix_metrics_describe_the_whole_matrix(tonight, nights):
    """A night that re-scores 4 users still reports tonight's whole matrix."""
    _, _, (_, metrics), (_, everyone_metrics) = nights
    whole = {
        "matrix_pairs": tonight.count(),
        "matrix_users": tonight.select("user_id").distinct().count(),
        "matrix_movies": tonight.select("movie_id").distinct().count(),
    }
    assert {name: metrics[name] for name in whole} == whole
    assert {name: everyone_metrics[name] for name in whole} == whole


def test_kept_lists_are_what_rescoring_everyone_gives(nights):
    _, _, (kept, _), (everyone, _) = nights
    tonight_kept, rescored = lists(kept), lists(everyone)
    assert tonight_kept.keys() == rescored.keys()
    for user, ranked in rescored.items():
        assert [m for m, _ in tonight_kept[user]] == [m for m, _ in ranked], user
        # last night's users came from MLlib's fit, tonight's from the fold-in
        np.testing.assert_allclose(
            [s for _, s in tonight_kept[user]], [s for _, s in ranked], rtol=1e-3, atol=1e-4
        )


def test_a_night_after_a_fold_in_night_keeps_its_lists_too(spark, tonight, nights):
    tmp, _, (kept, _), _ = nights
    again, metrics = night(spark, tmp, "again", tonight, base="full", previous=kept)
    assert metrics["rescored_users"] == 0
    assert lists(again) == lists(kept)


def test_lists_from_other_item_factors_or_without_row_hashes_are_not_kept(
    spark, matrix, tonight, nights
):
    tmp, full, _, _ = nights
    # another full fit's item factors: last night's lists do not apply
    night(spark, tmp, "other_full", matrix.where("user_id != 7"))
    _, metrics = night(spark, tmp, "other_base", tonight, base="other_full", previous=full)
    assert metrics["rescored_users"] == N_USERS
    # a model saved before nights hashed their rows
    hashes = tmp / "full" / "user_rows"
    hashes.rename(tmp / "put_aside")
    try:
        _, metrics = night(spark, tmp, "no_hashes", tonight, base="full", previous=full)
    finally:
        (tmp / "put_aside").rename(hashes)
    assert metrics["rescored_users"] == N_USERS


def without(spark, movie: int):
    """The catalogue after `movie` left it."""
    others = [m for m in range(1, N_MOVIES + 1) if m != movie]
    return spark.createDataFrame([(m,) for m in others], "movie_id long")


def most_listed(recs) -> int:
    return recs.groupBy("movie_id").count().orderBy(F.desc("count"), "movie_id").first()[0]


def test_a_movie_that_left_the_catalogue_is_recommended_no_more(spark, matrix, nights):
    tmp, full, _, _ = nights
    gone = most_listed(full)
    recs, _ = night(spark, tmp, "full_without", matrix, catalogue=without(spark, gone))
    before, after = lists(full), lists(recs)
    assert after.keys() == before.keys()
    for user, ranked in before.items():
        movies = [m for m, _ in after[user]]
        assert gone not in movies
        # the same order without it; the next best movie fills the list
        assert movies[: PARAMS.top_k - 1] == [m for m, _ in ranked if m != gone][: PARAMS.top_k - 1]


@pytest.fixture(scope="module")
def gone_away(spark, tonight, nights):
    """Last night's most listed movie, and tonight's fold-in night after it
    left the catalogue: (movie, lists, metrics)."""
    tmp, full, _, _ = nights
    gone = most_listed(full)
    recs, metrics = night(
        spark, tmp, "kept_without", tonight, base="full", previous=full,
        catalogue=without(spark, gone),
    )  # fmt: skip
    return gone, recs, metrics


def test_a_kept_list_holding_a_movie_that_left_is_rescored(nights, gone_away):
    _, full, (kept, _), _ = nights
    gone, recs, left_metrics = gone_away
    holding = {r["user_id"] for r in full.where(f"movie_id = {gone}").collect()}
    assert gone not in {r["movie_id"] for r in recs.collect()}
    # the 4 changed users as before, and every kept user whose list held it
    assert left_metrics["rescored_users"] == len(holding | {1, 2, 3, 31}) - (30 in holding)
    before, after = lists(kept), lists(recs)
    for user in set(after) - holding - {1, 2, 3, 31}:
        assert after[user] == before[user]


def everything(spark):
    """The catalogue with every movie."""
    return spark.createDataFrame([(m,) for m in range(1, N_MOVIES + 1)], "movie_id long")


@pytest.fixture(scope="module")
def come_back(spark, tonight, nights, gone_away):
    """The fold-in night after `gone_away`, with the movie back in the catalogue."""
    tmp, _, _, _ = nights
    _, away, _ = gone_away
    return night(
        spark, tmp, "back", tonight, base="full", previous=away, catalogue=everything(spark)
    )


def test_a_movie_back_in_the_catalogue_is_a_candidate_again(spark, nights, gone_away, come_back):
    """Kept lists were ranked without it: the night it is back, every user is
    re-scored, and the lists are what re-scoring everyone gives."""
    tmp, _, _, (everyone, _) = nights
    gone, _, _ = gone_away
    back, metrics = come_back
    assert metrics["rescored_users"] == N_USERS
    assert gone in {r["movie_id"] for r in back.collect()}
    assert {u: [m for m, _ in ranked] for u, ranked in lists(back).items()} == {
        u: [m for m, _ in ranked] for u, ranked in lists(everyone).items()
    }
    # what each night left out, which the next night compares with its own
    left_out = {
        name: read_model_record(spark, str(tmp / name)).params["left_out_movies"]
        for name in ("kept_without", "back")
    }
    assert left_out == {"kept_without": [gone], "back": []}


def test_the_night_after_the_return_keeps_its_lists_again(spark, tonight, nights, come_back):
    """The return night left nothing out: the next night, with the same
    catalogue and rows, keeps every list it made."""
    tmp, _, _, _ = nights
    back, _ = come_back
    again, metrics = night(
        spark, tmp, "back_again", tonight, base="full", previous=back, catalogue=everything(spark)
    )
    assert metrics["rescored_users"] == 0
    assert lists(again) == lists(back)


def test_lists_of_a_model_that_did_not_record_what_it_left_out_are_not_kept(spark, tonight, nights):
    """Models saved before nights recorded their left-out movies: one night
    re-scores everyone."""
    tmp, _, (kept, _), _ = nights
    record = read_model_record(spark, str(tmp / "kept"))
    params = {k: v for k, v in record.params.items() if k != "left_out_movies"}
    save_model_record(spark, str(tmp / "kept"), ModelRecord(params, record.metrics))
    try:
        _, metrics = night(spark, tmp, "unrecorded", tonight, base="full", previous=kept)
    finally:
        save_model_record(spark, str(tmp / "kept"), record)
    assert metrics["rescored_users"] == N_USERS


def test_what_a_night_caches_from_last_nights_lists_outlives_their_replacement(spark):
    table = "last_nights.recommendations"
    spark.sql("CREATE DATABASE IF NOT EXISTS last_nights")
    assert last_nights_lists(spark, table) is None
    last_night = spark.createDataFrame(
        [(1, "last night"), (2, "last night")], "user_id int, version string"
    )
    last_night.write.format("delta").saveAsTable(table)
    previous = last_nights_lists(spark, table)
    kept_users = previous.select("user_id").cache()
    kept_users.count()

    tonight = kept_users.withColumn("version", F.lit("tonight"))
    tonight.write.format("delta").mode("overwrite").saveAsTable(table)

    cache = spark._jsparkSession.sharedState().cacheManager()
    assert cache.lookupCachedData(kept_users._jdf).isDefined()
    assert {r["version"] for r in previous.collect()} == {"last night"}
    assert {r["version"] for r in spark.table(table).collect()} == {"tonight"}
    kept_users.unpersist()
