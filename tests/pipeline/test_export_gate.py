"""The Great Expectations export gate: each kind of bad recommendation row is caught
and named; a good set passes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from movie_recs.pipeline.expectations import ExportExpectations, validate_export

TOP_K = 3
NOW = datetime(2026, 3, 1, tzinfo=UTC)
SCHEMA = (
    "user_id long, rank int, movie_id long, score double, model_version string,"
    " generated_at timestamp"
)
GOOD = [(u, r, 10 * r + u, 1.0 / r, "als-1", NOW) for u in (1, 2) for r in range(1, TOP_K + 1)]


@pytest.fixture
def spec(spark):
    return ExportExpectations(
        top_k=TOP_K,
        expected_rows=len(GOOD),
        known_movies=spark.createDataFrame([(row[2],) for row in GOOD], "movie_id long"),
        active_users=spark.createDataFrame([(1,), (2,)], "user_id long"),
    )


def with_row(index: int, **changes):
    rows = [list(row) for row in GOOD]
    columns = ["user_id", "rank", "movie_id", "score", "model_version", "generated_at"]
    for name, value in changes.items():
        rows[index][columns.index(name)] = value
    return [tuple(row) for row in rows]


BAD_SETS = {
    "duplicate_rank": (
        with_row(1, rank=1),
        "unexpected_rows_expectation(no user's list repeats a rank)",
    ),
    "duplicate_movie": (
        with_row(1, movie_id=GOOD[0][2]),
        "unexpected_rows_expectation(no user's list repeats a movie)",
    ),
    "null_movie": (with_row(0, movie_id=None), "expect_column_values_to_not_be_null"),
    "nan_score": (
        with_row(0, score=float("nan")),
        "expect_column_values_to_be_between({'column': 'score'",
    ),
    "too_few_rows": (GOOD[:-1], "expect_table_row_count_to_equal"),
    "unknown_user": (with_row(0, user_id=99), "unexpected_rows_expectation(user_id is an active"),
    "unknown_movie": (with_row(0, movie_id=123_456), "unexpected_rows_expectation(movie_id is in"),
    "rank_out_of_range": (
        with_row(2, rank=TOP_K + 1),
        "expect_column_values_to_be_between({'column': 'rank'",
    ),
    "two_model_versions": (
        with_row(3, model_version="als-2"),
        "expect_column_unique_value_count_to_be_between(one model_version per set)",
    ),
    "two_generation_times": (
        with_row(3, generated_at=datetime(2026, 3, 2, tzinfo=UTC)),
        "expect_column_unique_value_count_to_be_between(one generated_at per set)",
    ),
}


def test_a_good_set_passes(spark, spec):
    assert validate_export(spark.createDataFrame(GOOD, SCHEMA), spec) == []


@pytest.mark.parametrize("case", BAD_SETS)
def test_bad_rows_fail_the_named_expectation(spark, spec, case):
    rows, expectation = BAD_SETS[case]
    failures = validate_export(spark.createDataFrame(rows, SCHEMA), spec)
    assert failures, f"{case} passed the gate"
    assert any(line.startswith(expectation) for line in failures), failures


def test_a_failure_says_what_was_observed(spark, spec):
    """A passing gate computes pass/fail only; a failing one reports the numbers."""
    failures = validate_export(spark.createDataFrame(with_row(1, rank=1), SCHEMA), spec)
    # the users whose list repeats a rank: user 1
    assert failures == ["unexpected_rows_expectation(no user's list repeats a rank): observed 1"]
    failures = validate_export(spark.createDataFrame(GOOD[:-1], SCHEMA), spec)
    assert failures == [
        f"expect_table_row_count_to_equal({{'value': {len(GOOD)}}}): observed {len(GOOD) - 1}"
    ]
