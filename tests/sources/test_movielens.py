"""MovieLens files become `rate` events ending yesterday; both file formats."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from movie_recs.errors import UserError
from movie_recs.sources.movielens import movielens_inputs

AS_OF = datetime(2026, 3, 1, tzinfo=UTC)
REAL_DATA = Path(__file__).resolve().parents[3] / "shared/data/movielens/ml-latest-small"


def write_latest_small(folder: Path) -> None:
    (folder / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n"
        "1,10,4.0,964982703\n"
        "1,20,3.5,964982224\n"
        "2,10,5.0,1000000000\n"
        "2,30,0.5,1500000000\n"
    )
    (folder / "movies.csv").write_text(
        "movieId,title,genres\n"
        '10,"GoldenEye (1995)",Action|Adventure|Thriller\n'
        "20,Heat (1995),Action|Crime|Thriller\n"
        "30,Sabrina (1995),Comedy|Romance\n"
    )


def test_ratings_csv_to_rate_events(tmp_path):
    write_latest_small(tmp_path)
    movies, events = movielens_inputs(tmp_path, AS_OF, span_days=0)
    assert list(movies["movie_id"]) == [10, 20, 30]
    assert movies.loc[movies["movie_id"] == 10, "title"].item() == "GoldenEye (1995)"
    assert (events["event_type"] == "rate").all()
    assert events["event_id"].tolist() == [1, 2, 3, 4]
    assert sorted(events["rating"]) == [0.5, 3.5, 4.0, 5.0]
    # the last rating's day becomes yesterday; gaps between ratings are kept
    yesterday = pd.Timestamp("2026-02-28", tz="UTC")
    assert events["event_ts"].max().normalize() == yesterday
    gap = events["event_ts"].iloc[-1] - events["event_ts"].iloc[-2]
    assert gap == pd.Timedelta(seconds=1500000000 - 1000000000)


def test_span_days_squeezes_order_kept(tmp_path):
    write_latest_small(tmp_path)
    _, events = movielens_inputs(tmp_path, AS_OF, span_days=30)
    assert events["event_ts"].is_monotonic_increasing
    assert events["event_ts"].min() >= pd.Timestamp(AS_OF) - pd.Timedelta(days=30)
    assert events["event_ts"].max() < pd.Timestamp(AS_OF)


def test_u_data_and_u_item(tmp_path):
    (tmp_path / "u.data").write_text("196\t242\t3\t881250949\n186\t302\t3\t891717742\n")
    genre_flags = "|".join(["0"] * 19)
    item = "242|Kolya (1996)|24-Jan-1997||http://x|" + genre_flags.replace("0", "1", 1)
    (tmp_path / "u.item").write_text(
        item + "\n" + "302|L.A. Confidential (1997)|01-Jan-1997||http://x|" + genre_flags + "\n",
        encoding="latin-1",
    )
    movies, events = movielens_inputs(tmp_path, AS_OF, span_days=0)
    assert len(events) == 2
    assert set(events["movie_id"]) == {242, 302}
    assert movies.set_index("movie_id").loc[242, "title"] == "Kolya (1996)"


def test_missing_files_are_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no ratings\.csv or u\.data"):
        movielens_inputs(tmp_path, AS_OF)


def test_ratings_without_needed_columns_are_refused(tmp_path):
    (tmp_path / "ratings.csv").write_text("user,item\n1,2\n")
    with pytest.raises(ValueError, match="lacks columns"):
        movielens_inputs(tmp_path, AS_OF)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("1,10,4.0,964982703\n1,20,3.5,\n", r"line 3: timestamp is empty or not a number \(1 "),
        (",10,4.0,964982703\n", "line 2: userId is empty or not a number"),
        ("1,10,,964982703\n1,20,x,964982704\n", r"line 2: rating is .* \(2 in all\)"),
        ("1,ten,4.0,964982703\n", "line 2: movieId is empty or not a number"),
        # these would go straight to the archive, past the nightly's event rules
        ("1,10,4.0,964982703\n1,10,7.0,964982704\n", "line 3: rating is outside 0.5 to 5.0"),
        ("-1,10,4.0,964982703\n", "line 2: userId is outside ALS's ids"),
        ("1,3000000000,4.0,964982703\n", "line 2: movieId is outside ALS's ids"),
    ],
)
def test_rows_the_pipeline_cannot_use_are_refused_by_line(tmp_path, rows, message):
    (tmp_path / "ratings.csv").write_text("userId,movieId,rating,timestamp\n" + rows)
    with pytest.raises(UserError, match=message):
        movielens_inputs(tmp_path, AS_OF)


def test_a_bad_u_data_line_is_refused_by_its_number(tmp_path):
    (tmp_path / "u.data").write_text("196\t242\t3\t881250949\n186\t\t3\t891717742\n")
    with pytest.raises(UserError, match="line 2: movieId is empty or not a number"):
        movielens_inputs(tmp_path, AS_OF)


# CI always has shared/ beside the clone: there, missing data fails instead of skipping
@pytest.mark.skipif(
    not REAL_DATA.exists() and not os.environ.get("CI"),
    reason="shared MovieLens data not beside the checkout",
)
def test_real_ml_latest_small():
    movies, events = movielens_inputs(REAL_DATA, AS_OF, span_days=30)
    assert len(events) == 100_836
    assert events["user_id"].nunique() == 610
    assert set(events["movie_id"]) <= set(movies["movie_id"])
