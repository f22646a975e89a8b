"""Simulated serving: deterministic, position- and taste-driven, well-formed."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from movie_recs.sources.serving import ServingSpec, simulate

END = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.default_rng(0)
    movies = pd.DataFrame(
        {
            "movie_id": np.arange(1, 201),
            "genres": ["Action|Comedy" if m % 2 else "Drama" for m in range(1, 201)],
        }
    )
    users = np.arange(1, 301)
    # half the users like Action|Comedy movies (odd ids), half Drama (even ids)
    matrix = pd.DataFrame(
        [
            (u, m, 5.0)
            for u in users
            for m in rng.choice(np.arange(2 - u % 2, 201, 2), size=5, replace=False)
        ],
        columns=["user_id", "movie_id", "score"],
    )
    published = pd.DataFrame(
        [(u, r, int(m), 1.0, "als-1") for u in users for r, m in enumerate(range(1, 51), 1)],
        columns=["user_id", "rank", "movie_id", "score", "model_version"],
    )
    return published, matrix, movies


def test_same_seed_same_logs(inputs):
    first = simulate(ServingSpec(days=3, seed=5), *inputs, END)
    second = simulate(ServingSpec(days=3, seed=5), *inputs, END)
    for a, b in zip(first, second, strict=True):
        pd.testing.assert_frame_equal(a, b)
    other = simulate(ServingSpec(days=3, seed=6), *inputs, END)
    assert not other[0]["user_id"].equals(first[0]["user_id"])


def test_logs_and_feedback_are_well_formed(inputs):
    logs, feedback = simulate(ServingSpec(days=3, seed=5), *inputs, END, 100, 500)
    assert logs["serve_id"].is_unique and logs["serve_id"].min() == 100
    assert feedback["feedback_id"].is_unique and feedback["feedback_id"].min() == 500
    assert set(logs["variant"]) == {"als", "popularity"}
    assert logs["position"].between(1, 10).all()
    assert (logs["served_at"] < pd.Timestamp(END)).all()
    served = logs.set_index("serve_id")
    assert feedback["serve_id"].isin(served.index).all()
    assert (feedback["feedback_at"] >= feedback["serve_id"].map(served["served_at"])).all()
    assert set(feedback["action"]) <= {"click", "watch", "dismiss"}
    # each user always sees the same arm
    assert logs.groupby("user_id")["variant"].nunique().max() == 1


def test_clicks_follow_position_and_taste(inputs):
    logs, feedback = simulate(ServingSpec(days=30, seed=5), *inputs, END)
    clicked = set(feedback.loc[feedback["action"] == "click", "serve_id"])
    logs = logs.assign(clicked=logs["serve_id"].isin(clicked))
    by_position = logs.groupby("position")["clicked"].mean()
    assert by_position.loc[1] > by_position.loc[10]
    matches = (logs["user_id"] % 2) == (logs["movie_id"] % 2)
    assert logs.loc[matches, "clicked"].mean() > 2 * logs.loc[~matches, "clicked"].mean()


def test_unknown_variant_is_refused(inputs):
    with pytest.raises(ValueError, match="unknown variants"):
        simulate(ServingSpec(variants=("als", "magic")), *inputs, END)
