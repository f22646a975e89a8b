"""What the ALS step needs from the machine, and the matrices it refuses."""

import pytest

from movie_recs.model.als import AlsParams, native_blas_loaded, train_and_recommend
from movie_recs.model.evaluation import EvalSpec

MATRIX = "user_id bigint, movie_id bigint, score double, last_event_at timestamp"


def test_als_runs_on_native_blas(spark):
    # `make setup` installs OpenBLAS; without it Spark's ALS silently falls back
    # to Java's BLAS and a night's two fits take 1.6 times as long
    assert native_blas_loaded(spark)


def _train(spark, pairs, tmp_path):
    scores = spark.createDataFrame(pairs, MATRIX)
    users = spark.createDataFrame([(1,)], "user_id bigint")
    return train_and_recommend(spark, scores, users, AlsParams(), EvalSpec(), str(tmp_path))


@pytest.mark.parametrize(
    "user_id, movie_id",
    [(2**31, 1), (1, 2**31), (-1, 1)],
    ids=["user_id_past_int", "movie_id_past_int", "negative_user_id"],
)
def test_a_matrix_with_ids_alss_ints_cannot_hold_is_refused(spark, tmp_path, user_id, movie_id):
    # The event rules reject such events (id_out_of_range) before they reach the
    # archive; an archive written otherwise (by hand, or before the rule) stops
    # the night here, naming the ids' bounds, instead of ALS wrapping the ids
    # into other users' or movies'
    with pytest.raises(ValueError, match=r"must lie in \[0, 2147483647\] for ALS"):
        _train(spark, [(1, 1, 1.0, None), (user_id, movie_id, 2.0, None)], tmp_path)
    assert not any(tmp_path.iterdir())  # nothing saved


def test_an_empty_matrix_is_refused(spark, tmp_path):
    with pytest.raises(ValueError, match="the user-movie matrix is empty"):
        _train(spark, [], tmp_path)
    assert not any(tmp_path.iterdir())
