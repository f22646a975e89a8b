"""Shared by the model tests."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def random_ratings(spark):
    """A (user_id, movie_id, score) frame: users 1..n_users each rate a random
    share of movies 1..n_movies, scores 1-5 drawn at random (seeded). Random,
    so that no two movies tie for a user: a periodic pattern gives exact ties,
    which float32 and float64 arithmetic then break apart."""

    def make(n_users: int, n_movies: int, share: float, seed: int):
        rng = np.random.default_rng(seed)
        rows = [
            (u, m, float(rng.integers(1, 6)))
            for u in range(1, n_users + 1)
            for m in range(1, n_movies + 1)
            if rng.random() < share
        ]
        return spark.createDataFrame(rows, "user_id int, movie_id int, score float").cache()

    return make
