"""`tune`: grid parsing, its bound, and a real sweep on a small matrix."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from movie_recs.model.als import AlsParams
from movie_recs.model.evaluation import EvalSpec
from movie_recs.model.tuning import MAX_COMBINATIONS, combinations, parse_grid, save, tune


def test_grid_is_parsed_and_typed():
    grid = parse_grid(["rank=8,16", "alpha=1,40"])
    assert grid == {"rank": [8, 16], "alpha": [1.0, 40.0]}
    assert {type(v) for v in grid["rank"]} == {int}
    assert {type(v) for v in grid["alpha"]} == {float}


@pytest.mark.parametrize("item", ["rank", "depth=3", "rank=ten"])
def test_bad_grid_items_are_refused(item):
    with pytest.raises(ValueError):
        parse_grid([item])


def test_grid_size_is_bounded():
    grid = {"rank": list(range(1, 8)), "alpha": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]}
    with pytest.raises(ValueError, match=str(MAX_COMBINATIONS)):
        combinations(AlsParams(), grid)
    assert len(combinations(AlsParams(), {"rank": [5, 10], "reg_param": [0.1]})) == 2


def test_tune_ranks_combinations_against_the_baselines(spark, tmp_path):
    t0 = datetime(2026, 1, 1)
    rows = [
        (u, m, float(1 + (u + m) % 5), t0 + timedelta(hours=(u * m) % 50))
        for u in range(1, 31)
        for m in range(1, 41)
        if (u * 3 + m) % 4 < 2
    ]
    matrix = spark.createDataFrame(
        rows, "user_id bigint, movie_id bigint, score double, last_event_at timestamp"
    )
    base = AlsParams(max_iter=3, implicit=True)
    table = tune(matrix, base, EvalSpec(), {"rank": [2, 4], "alpha": [5.0]})
    assert sorted(table["model"]) == ["als-implicit", "als-implicit", "popularity", "random"]
    assert sorted(table["rank"].dropna()) == [2, 4]
    assert list(table["ndcg_at_10"]) == sorted(table["ndcg_at_10"], reverse=True)
    save(spark, table, str(tmp_path / "tuning"))
    save(spark, table, str(tmp_path / "tuning"))  # appended, not replaced
    assert spark.read.format("delta").load(str(tmp_path / "tuning")).count() == 8
