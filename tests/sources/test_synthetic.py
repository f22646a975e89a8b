"""The synthetic generator: deterministic, believable, within its window."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from movie_recs.errors import UserError
from movie_recs.sources.synthetic import CHUNK, DemoSpec, events_frames, movies_frame

END = datetime(2026, 3, 1, tzinfo=UTC)
SPEC = DemoSpec(users=300, movies=200, days=30, events=20_000, seed=7)


def events(spec: DemoSpec = SPEC) -> pd.DataFrame:
    return pd.concat(events_frames(spec, END), ignore_index=True)


def test_same_seed_same_data_other_seed_other_data():
    pd.testing.assert_frame_equal(events(), events())
    pd.testing.assert_frame_equal(movies_frame(SPEC), movies_frame(SPEC))
    other = events(DemoSpec(users=300, movies=200, days=30, events=20_000, seed=8))
    assert not other["movie_id"].equals(events()["movie_id"])


def test_shape_ids_and_window():
    frame = events()
    assert len(frame) == SPEC.events
    assert frame["event_id"].is_unique
    assert frame["user_id"].between(1, SPEC.users).all()
    assert frame["movie_id"].between(1, SPEC.movies).all()
    assert frame["event_ts"].min() >= pd.Timestamp(END) - pd.Timedelta(days=SPEC.days)
    assert frame["event_ts"].max() < pd.Timestamp(END)


def test_ratings_only_on_rate_events_and_on_the_half_star_scale():
    frame = events()
    rated = frame[frame["event_type"] == "rate"]
    assert frame.loc[frame["event_type"] != "rate", "rating"].isna().all()
    assert rated["rating"].between(0.5, 5.0).all()
    assert ((rated["rating"] * 2) % 1 == 0).all()
    # spread over the scale, not piled at the top
    assert 2.5 < rated["rating"].mean() < 4.5
    assert rated["rating"].std() > 0.5


def test_popularity_is_long_tailed():
    counts = events()["movie_id"].value_counts()
    top_share = counts.head(len(counts) // 10).sum() / counts.sum()
    assert top_share > 0.3  # the top 10% of movies draw far more than 10% of events


def test_users_have_tastes():
    """Two users' movie mixes differ more than chance: the data has structure to
    learn. Chance: the same events with their users shuffled, which keeps each
    movie's popularity and each user's activity (0.71 here; tastes give 0.25)."""
    frame = events()
    busiest = frame["user_id"].value_counts().index[:2]

    def shared_share(frame) -> float:
        mixes = [
            frame[frame["user_id"] == u]["movie_id"].value_counts(normalize=True) for u in busiest
        ]
        overlap = mixes[0].align(mixes[1], fill_value=0)
        return pd.concat(overlap, axis=1).min(axis=1).sum()

    shuffled = frame.assign(user_id=frame["user_id"].sample(frac=1, random_state=1).to_numpy())
    assert shared_share(frame) < 0.6 * shared_share(shuffled)


@pytest.mark.parametrize("n_events", [CHUNK + 5])
def test_ids_run_in_time_order_across_chunks(n_events):
    """As a serial column's would: every chunk spans the window, yet the ids of
    all chunks together are 1..events in time order."""
    spec = DemoSpec(users=50, movies=40, days=2, events=n_events, seed=1)
    chunks = list(events_frames(spec, END))
    assert [len(c) for c in chunks] == [CHUNK, 5]
    assert chunks[1]["event_ts"].min() < chunks[0]["event_ts"].max()
    by_id = pd.concat(chunks).sort_values("event_id")
    assert by_id["event_id"].tolist() == list(range(1, n_events + 1))
    assert by_id["event_ts"].is_monotonic_increasing


def test_users_come_back_on_a_few_days_as_in_movielens():
    """On any one day a minority of the month's users is active (MovieLens: about
    15 %), and each user's events fall on the user's own days, in time order."""
    frame = events()
    day = frame["event_ts"].dt.floor("D")
    daily_share = frame.groupby(day)["user_id"].nunique() / frame["user_id"].nunique()
    assert daily_share.between(0.05, 0.3).all()
    days_per_user = frame.groupby("user_id")["event_ts"].agg(lambda ts: ts.dt.floor("D").nunique())
    assert days_per_user.median() < SPEC.days / 4
    assert days_per_user.max() > days_per_user.median()  # the most active come back more often
    assert frame["event_ts"].is_monotonic_increasing


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"users": 0}, "at least one of users, got 0"),
        ({"movies": -1}, "at least one of movies, got -1"),
        ({"days": 0}, "at least one of days, got 0"),
        ({"events": 0}, "at least one of events, got 0"),
        ({"days": 40_000}, "at most 10000 days, got 40000"),
    ],
)
def test_impossible_demo_data_is_refused_before_anything_is_replaced(fields, message):
    # DemoSpec refuses at construction, before `demo-data` empties the inputs
    with pytest.raises(UserError, match=message):
        DemoSpec(**fields)
