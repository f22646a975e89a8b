"""MovieLens files as the pipeline's inputs: every rating becomes a `rate` event.

Reads `ratings.csv` (ml-latest-small, ml-25m, ...) or `u.data` (ml-100k), and
the catalogue from `movies.csv` / `u.item` beside it when present (otherwise
a placeholder title per rated movie).

MovieLens spans decades, the pipeline looks at the last 30 days. Timestamps
are moved so that the data's last day becomes the day before `as_of`; with
`span_days` > 0 they are also squeezed, order kept, onto the last `span_days`
days, so that all of the data falls inside the training window.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from movie_recs.config import dbt_vars
from movie_recs.errors import UserError
from movie_recs.model.als import INT_MAX

ITEM_GENRES = [
    "(no genres listed)",
    "Action",
    "Adventure",
    "Animation",
    "Children",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
]


RATING_COLUMNS = ["userId", "movieId", "rating", "timestamp"]


def read_ratings(path: Path) -> pd.DataFrame:
    """userId, movieId, rating, timestamp (epoch seconds) from either file format."""
    path = Path(path)
    ratings_file = path / "ratings.csv" if path.is_dir() else path
    if not ratings_file.exists() and path.is_dir():
        ratings_file = path / "u.data"
    if not ratings_file.exists():
        raise FileNotFoundError(f"no ratings.csv or u.data at {path}")
    if ratings_file.name == "u.data":
        frame = pd.read_csv(ratings_file, sep="\t", names=RATING_COLUMNS)
        first_line = 1
    else:
        frame = pd.read_csv(ratings_file)
        first_line = 2  # after the header
        missing = set(RATING_COLUMNS) - set(frame.columns)
        if missing:
            raise UserError(f"{ratings_file} lacks columns {sorted(missing)}")
    # The older ratings go straight to the archive, past the nightly's event
    # rules: a value those would reject is refused here, with its line.
    run_vars = dbt_vars()
    numbers = {column: pd.to_numeric(frame[column], errors="coerce") for column in RATING_COLUMNS}
    low, high = run_vars["rating_min"], run_vars["rating_max"]
    checks = [
        # an empty or non-numeric field would become NaN, then a wrong id or time
        *[(c, numbers[c].isna(), "is empty or not a number") for c in RATING_COLUMNS],
        *[
            (c, ~numbers[c].between(0, INT_MAX), "is outside ALS's ids, 0 to 2^31 - 1")
            for c in ("userId", "movieId")
        ],
        ("rating", ~numbers["rating"].between(low, high), f"is outside {low} to {high}"),
    ]
    for column, failed, problem in checks:
        bad = failed.to_numpy().nonzero()[0]
        if len(bad):
            raise UserError(
                f"{ratings_file}, line {bad[0] + first_line}: {column} {problem}"
                f" ({len(bad)} in all); nothing was loaded"
            )
    return frame


def read_movies(folder: Path, rated_ids: np.ndarray) -> pd.DataFrame:
    if (folder / "movies.csv").exists():
        movies = pd.read_csv(folder / "movies.csv")
        movies = movies.rename(columns={"movieId": "movie_id"})
    elif (folder / "u.item").exists():
        items = pd.read_csv(folder / "u.item", sep="|", header=None, encoding="latin-1")
        flags = items.iloc[:, 5 : 5 + len(ITEM_GENRES)].to_numpy().astype(bool)
        movies = pd.DataFrame(
            {
                "movie_id": items[0],
                "title": items[1],
                "genres": [
                    "|".join(g for g, on in zip(ITEM_GENRES, row, strict=True) if on)
                    or ITEM_GENRES[0]
                    for row in flags
                ],
            }
        )
    else:
        movies = pd.DataFrame({"movie_id": rated_ids, "genres": ITEM_GENRES[0]})
        movies["title"] = [f"MovieLens movie {i}" for i in rated_ids]
    return movies[["movie_id", "title", "genres"]]


def to_events(ratings: pd.DataFrame, as_of: datetime, span_days: int) -> pd.DataFrame:
    ratings = ratings.sort_values(["timestamp", "userId", "movieId"], kind="stable")
    seconds = ratings["timestamp"].to_numpy(dtype=np.float64)
    first, last = seconds.min(), seconds.max()
    last_day_start = np.floor(last / 86_400) * 86_400
    yesterday = pd.Timestamp(as_of).normalize() - pd.Timedelta(days=1)
    if span_days > 0 and last > first:
        window_s = span_days * 86_400 - 1
        offset_s = (seconds - first) / (last - first) * window_s - window_s + 86_399
    else:
        offset_s = seconds - last_day_start
    return pd.DataFrame(
        {
            "event_id": np.arange(1, len(ratings) + 1, dtype=np.int64),
            "user_id": ratings["userId"].to_numpy(dtype=np.int64),
            "movie_id": ratings["movieId"].to_numpy(dtype=np.int64),
            "event_type": "rate",
            "rating": ratings["rating"].to_numpy(dtype=np.float64),
            "event_ts": yesterday + pd.to_timedelta(np.floor(offset_s), unit="s"),
        }
    )


def movielens_inputs(
    path: Path, as_of: datetime, span_days: int = 30
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(movies, events) ready for `loader.load_inputs`."""
    path = Path(path)
    ratings = read_ratings(path)
    folder = path if path.is_dir() else path.parent
    movies = read_movies(folder, np.sort(ratings["movieId"].unique()))
    return movies, to_events(ratings, as_of, span_days)
