"""Simulated online serving: what the service showed and what users did.

For demos and tests of the analytics. Each variant is an arm of an A/B test:
`als` serves the published `batch_recommendations`, `popularity` the most
popular movies the user has not interacted with. Users are split between
arms by a hash of their id. A user's true taste is their genre profile
(the genres of the movies they interacted with, weighted by score); a click
is likelier for a movie whose genres match it and for a higher position
(bias 1 / log2(position + 1)); a watch follows some clicks. Deterministic for
a seed. Writes `recommendation_logs` and `recommendation_feedback`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from movie_recs.db.copy import copy_frame, read_frame
from movie_recs.services.postgres import PgSettings

VARIANTS = ("als", "popularity")
PAGE_SIZE = 10
VISIT_PROBABILITY = 0.35
BASE_CLICK = 0.12
WATCH_GIVEN_CLICK = 0.45
DISMISS = 0.02


@dataclass(frozen=True)
class ServingSpec:
    days: int = 7
    variants: tuple[str, ...] = VARIANTS
    seed: int = 42


def genre_matrix(movies: pd.DataFrame) -> tuple[np.ndarray, dict[int, int]]:
    """Rows: movies (in `movies` order); columns: genres; unit-length rows."""
    split = movies["genres"].fillna("").str.get_dummies(sep="|").to_numpy(dtype=float)
    norms = np.linalg.norm(split, axis=1, keepdims=True)
    index = {int(m): i for i, m in enumerate(movies["movie_id"])}
    return split / np.where(norms == 0, 1, norms), index


def user_profiles(matrix: pd.DataFrame, genres: np.ndarray, index: dict[int, int]):
    """Each user's genre taste: the score-weighted mean of their movies' genre rows."""
    rows = matrix["movie_id"].map(index)
    known = rows.notna()
    matrix, rows = matrix[known], rows[known].astype(int)
    weighted = genres[rows.to_numpy()] * matrix["score"].to_numpy()[:, None]
    frame = pd.DataFrame(weighted).groupby(matrix["user_id"].to_numpy()).sum()
    values = frame.to_numpy()
    norms = np.linalg.norm(values, axis=1, keepdims=True)
    return dict(zip(frame.index, values / np.where(norms == 0, 1, norms), strict=True))


def popularity_lists(matrix: pd.DataFrame, users, k: int) -> dict[int, list[int]]:
    ranked = matrix.groupby("movie_id").size().sort_values(ascending=False).index.tolist()
    seen = matrix.groupby("user_id")["movie_id"].apply(set).to_dict()
    lists = {}
    for user in users:
        mine = seen.get(user, set())
        lists[user] = [m for m in ranked[: k + len(mine)] if m not in mine][:k]
    return lists


def assign_variant(user_ids: np.ndarray, variants: tuple[str, ...], seed: int) -> np.ndarray:
    mixed = (user_ids.astype(np.uint64) * np.uint64(2654435761) + np.uint64(seed)) % np.uint64(
        2**32
    )
    return np.asarray(variants)[(mixed % np.uint64(len(variants))).astype(int)]


def simulate(
    spec: ServingSpec,
    published: pd.DataFrame,
    matrix: pd.DataFrame,
    movies: pd.DataFrame,
    end: datetime,
    first_serve_id: int = 1,
    first_feedback_id: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(recommendation_logs, recommendation_feedback) for `spec.days` days before `end`."""
    unknown = set(spec.variants) - set(VARIANTS)
    if unknown:
        raise ValueError(f"unknown variants {sorted(unknown)}; known: {list(VARIANTS)}")
    if published.empty:
        raise ValueError("batch_recommendations is empty: publish a nightly run first")
    rng = np.random.default_rng([spec.seed, 4])
    genres, index = genre_matrix(movies)
    profiles = user_profiles(matrix, genres, index)
    users = np.sort(published["user_id"].unique())
    arms = dict(zip(users, assign_variant(users, spec.variants, spec.seed), strict=True))
    model_version = published["model_version"].iloc[0]
    als_lists = (
        published.sort_values(["user_id", "rank"])
        .groupby("user_id")["movie_id"]
        .apply(lambda s: list(s)[:PAGE_SIZE])
        .to_dict()
    )
    popular = popularity_lists(matrix, users, PAGE_SIZE)
    lists = {"als": als_lists, "popularity": popular}
    versions = {"als": model_version, "popularity": "popularity"}
    no_taste = np.zeros(genres.shape[1])

    logs, feedback = [], []
    serve_id, feedback_id = first_serve_id, first_feedback_id
    start = pd.Timestamp(end) - pd.Timedelta(days=spec.days)
    for day in range(spec.days):
        visitors = users[rng.random(len(users)) < VISIT_PROBABILITY]
        for user in visitors:
            arm = arms[user]
            served_at = start + pd.Timedelta(days=day, seconds=int(rng.integers(0, 86_400)))
            taste = profiles.get(user, no_taste)
            for position, movie in enumerate(lists[arm][user], start=1):
                logs.append((serve_id, user, movie, position, versions[arm], arm, served_at))
                row = index.get(movie)
                affinity = float(genres[row] @ taste) if row is not None else 0.0
                p_click = BASE_CLICK / np.log2(position + 1) * (0.2 + 1.6 * max(affinity, 0.0))
                if rng.random() < p_click:
                    clicked_at = served_at + pd.Timedelta(seconds=int(rng.exponential(1_200)))
                    feedback.append((feedback_id, serve_id, user, movie, "click", clicked_at))
                    feedback_id += 1
                    if rng.random() < WATCH_GIVEN_CLICK * (0.5 + affinity):
                        watched_at = clicked_at + pd.Timedelta(seconds=int(rng.exponential(7_200)))
                        feedback.append((feedback_id, serve_id, user, movie, "watch", watched_at))
                        feedback_id += 1
                elif rng.random() < DISMISS:
                    dismissed_at = served_at + pd.Timedelta(seconds=int(rng.exponential(300)))
                    feedback.append((feedback_id, serve_id, user, movie, "dismiss", dismissed_at))
                    feedback_id += 1
                serve_id += 1
    log_columns = [
        "serve_id", "user_id", "movie_id", "position", "model_version", "variant", "served_at",
    ]  # fmt: skip
    feedback_columns = ["feedback_id", "serve_id", "user_id", "movie_id", "action", "feedback_at"]
    return pd.DataFrame(logs, columns=log_columns), pd.DataFrame(feedback, columns=feedback_columns)


def serve_into_postgres(spark, pg: PgSettings, spec: ServingSpec, end: datetime) -> tuple[int, int]:
    """Simulate serving the published lists; append the logs and feedback to PostgreSQL."""
    with pg.transaction() as cur:
        published = read_frame(cur, "select * from batch_recommendations")
        movies = read_frame(cur, "select movie_id, genres from movies")
        cur.execute("select coalesce(max(serve_id), 0) from recommendation_logs")
        (last_serve,) = cur.fetchone()
        cur.execute("select coalesce(max(feedback_id), 0) from recommendation_feedback")
        (last_feedback,) = cur.fetchone()
    matrix = (
        spark.table("movie_recs.int_user_movie_scores_aggregated")
        .select("user_id", "movie_id", "score")
        .toPandas()
    )
    logs, feedback = simulate(
        spec, published, matrix, movies, end, last_serve + 1, last_feedback + 1
    )
    with pg.transaction() as cur:
        copy_frame(cur, "recommendation_logs", logs)
        copy_frame(cur, "recommendation_feedback", feedback)
    return len(logs), len(feedback)
