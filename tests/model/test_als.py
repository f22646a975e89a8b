"""What the ALS step needs from the machine."""

from movie_recs.model.als import native_blas_loaded


def test_als_runs_on_native_blas(spark):
    # `make setup` installs OpenBLAS; without it Spark's ALS silently falls back
    # to Java's BLAS and a night's two fits take 1.6 times as long
    assert native_blas_loaded(spark)
