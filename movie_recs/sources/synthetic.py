"""A believable synthetic catalogue and event stream, deterministic for a seed.

Users have latent tastes, movies have latent traits and a long-tailed
popularity; each event picks a user (by activity), draws a few candidate movies
by popularity and keeps the one the user likes best (Gumbel-max over taste),
so the data has real structure for ALS to find without ever building the full
user x movie matrix. Users come back on a few days of the month, more days
the more active they are: on any one day about 15 % of the month's users are
active, as in MovieLens (ml-latest-small: 15 % on average), not nearly all
of them. Vectorised in chunks: 25M events take minutes, not hours.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from movie_recs.errors import UserError
from movie_recs.sources.movielens import ITEM_GENRES

GENRES = [g for g in ITEM_GENRES if g != "(no genres listed)"]
WORDS = (  # noqa: SIM905 - one string reads better than 37 quoted words
    "Night Day Last First Dark Bright Silent Lost Hidden Golden Broken Wild Cold "
    "River City Road Star Sea Heart Storm Garden House Game Dream Fire Shadow King "
    "Queen Winter Summer Stranger Promise Secret Letter Journey Return Edge"
).split()
EVENT_TYPES = np.array(["view", "click", "watchlist", "watch", "rate"])
EVENT_TYPE_SHARES = np.array([0.50, 0.25, 0.05, 0.12, 0.08])
LATENT_DIM = 8
CANDIDATES = 8
CHUNK = 1_000_000
# a user is active on ceil(this x activity) days of the window (activity is
# lognormal around 1): about 15 % of the window's users on any one day
DAYS_PER_ACTIVITY = 2.5
# each user's days are kept in 16 bits
MAX_DAYS = 10_000


@dataclass(frozen=True)
class DemoSpec:
    users: int = 2_000
    movies: int = 1_000
    days: int = 30
    events: int = 200_000
    seed: int = 42

    def __post_init__(self) -> None:
        # checked before the loader empties the inputs it replaces
        for name in ("users", "movies", "days", "events"):
            if getattr(self, name) < 1:
                raise UserError(
                    f"demo data needs at least one of {name}, got {getattr(self, name)}"
                )
        if self.days > MAX_DAYS:
            raise UserError(f"demo data spans at most {MAX_DAYS} days, got {self.days}")


@dataclass(frozen=True)
class World:
    """The hidden truth behind the data: tastes, traits, popularity, activity."""

    tastes: np.ndarray
    traits: np.ndarray
    popularity: np.ndarray
    activity: np.ndarray
    # each user's days in a random order; the first `n_active_days` are theirs
    day_order: np.ndarray
    n_active_days: np.ndarray


def world(spec: DemoSpec) -> World:
    rng = np.random.default_rng([spec.seed, 2])
    tastes = rng.normal(size=(spec.users, LATENT_DIM))
    traits = rng.normal(size=(spec.movies, LATENT_DIM))
    # long tail: popularity ~ rank^-0.9, shuffled over movie ids
    popularity = rng.permutation(np.arange(1, spec.movies + 1) ** -0.9)
    activity = rng.lognormal(mean=0.0, sigma=1.0, size=spec.users)
    day_rng = np.random.default_rng([spec.seed, 4])
    day_order = np.argsort(day_rng.random((spec.users, spec.days)), axis=1).astype(np.int16)
    n_active_days = np.clip(np.ceil(DAYS_PER_ACTIVITY * activity), 1, spec.days).astype(np.int64)
    return World(tastes, traits, popularity, activity, day_order, n_active_days)


def movies_frame(spec: DemoSpec) -> pd.DataFrame:
    """The catalogue. Genres follow the movies' hidden traits, so genre tastes are real."""
    rng = np.random.default_rng([spec.seed, 1])
    traits = world(spec).traits
    genre_axes = rng.normal(size=(LATENT_DIM, len(GENRES)))
    genre_scores = traits @ genre_axes + rng.normal(scale=0.5, size=(spec.movies, len(GENRES)))
    ids = np.arange(1, spec.movies + 1)
    years = rng.integers(1950, 2026, size=spec.movies)
    first = rng.choice(WORDS, size=spec.movies)
    second = rng.choice(WORDS, size=spec.movies)
    titles = [f"The {a} {b} ({y})" for a, b, y in zip(first, second, years, strict=True)]
    counts = rng.integers(1, 4, size=spec.movies)
    genres = [
        "|".join(sorted(GENRES[g] for g in np.argsort(-row)[:count]))
        for row, count in zip(genre_scores, counts, strict=True)
    ]
    return pd.DataFrame({"movie_id": ids, "title": titles, "genres": genres})


def _users_and_seconds(
    spec: DemoSpec, truth: World, chunk_no: int, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """A chunk's users (by activity) and their events' seconds since the window's
    start (on the users' own days): from the chunk's own random stream, so the
    first pass over the chunks (`events_frames`) can draw them again cheaply."""
    rng = np.random.default_rng([spec.seed, 5, chunk_no])
    activity_cdf = np.cumsum(truth.activity / truth.activity.sum())
    users = np.minimum(np.searchsorted(activity_cdf, rng.random(n)), spec.users - 1)
    day_pick = (rng.random(n) * truth.n_active_days[users]).astype(np.int64)
    days = truth.day_order[users, day_pick].astype(np.int64)
    return users, days * 86_400 + rng.integers(0, 86_400, size=n)


def events_frames(spec: DemoSpec, end: datetime) -> Iterator[pd.DataFrame]:
    """Events in [end - days, end), in chunks, with event ids 1..events in time
    order, as a sequence's would be (the nightly then skips most of the archive
    when it looks for copies of recent events, benchmark 5). Each chunk spans
    the whole window, in time order."""
    truth = world(spec)
    tastes, traits = truth.tastes, truth.traits
    popularity_cdf = np.cumsum(truth.popularity / truth.popularity.sum())
    start = pd.Timestamp(end - timedelta(days=spec.days))
    sizes = [min(CHUNK, spec.events - offset) for offset in range(0, spec.events, CHUNK)]
    # first pass: how many events fall in each second, for ids in time order
    per_second = np.zeros(spec.days * 86_400, dtype=np.int64)
    for chunk_no, n in enumerate(sizes):
        per_second += np.bincount(
            _users_and_seconds(spec, truth, chunk_no, n)[1], minlength=len(per_second)
        )
    ids_before_second = np.concatenate([[0], np.cumsum(per_second)[:-1]])
    numbered_in_second = np.zeros_like(per_second)  # by earlier chunks

    for chunk_no, n in enumerate(sizes):
        users, seconds = _users_and_seconds(spec, truth, chunk_no, n)
        rng = np.random.default_rng([spec.seed, 3, chunk_no])
        candidates = np.minimum(
            np.searchsorted(popularity_cdf, rng.random((n, CANDIDATES))), spec.movies - 1
        )
        affinity = np.einsum("nd,nkd->nk", tastes[users], traits[candidates])
        choice = np.argmax(affinity + rng.gumbel(size=affinity.shape), axis=1)
        movies = candidates[np.arange(n), choice]
        liking = affinity[np.arange(n), choice]
        # chosen movies are liked by construction: centre so ratings spread over the scale
        liking = (liking - liking.mean()) / liking.std()
        event_types = EVENT_TYPES[rng.choice(len(EVENT_TYPES), size=n, p=EVENT_TYPE_SHARES)]
        raw_rating = 3.5 + 0.9 * liking + rng.normal(scale=0.6, size=n)
        ratings = np.clip(np.round(raw_rating * 2) / 2, 0.5, 5.0)
        ratings = np.where(event_types == "rate", ratings, np.nan)
        in_time_order = np.argsort(seconds, kind="stable")
        sorted_seconds = seconds[in_time_order]
        rank_in_second = np.arange(n) - np.searchsorted(sorted_seconds, sorted_seconds)
        event_ids = (
            ids_before_second[sorted_seconds]
            + numbered_in_second[sorted_seconds]
            + rank_in_second
            + 1
        )
        numbered_in_second += np.bincount(seconds, minlength=len(per_second))
        yield pd.DataFrame(
            {
                "event_id": event_ids,
                "user_id": users[in_time_order].astype(np.int64) + 1,
                "movie_id": movies[in_time_order].astype(np.int64) + 1,
                "event_type": event_types[in_time_order],
                "rating": ratings[in_time_order],
                "event_ts": start + pd.to_timedelta(sorted_seconds, unit="s"),
            }
        )
