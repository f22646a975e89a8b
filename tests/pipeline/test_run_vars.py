"""Bad run vars are refused, by name, before a run starts anything."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from movie_recs.config import BadVar, dbt_vars
from movie_recs.pipeline.tasks.archive import retention_start


def test_the_projects_own_vars_pass():
    assert dbt_vars()["top_k"] == 50


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"top_k": 0}, "top_k must be between 1 and 50, got 0"),
        ({"top_k": 51}, "top_k must be between 1 and 50"),  # the export table's rank check
        ({"als_rank": 1.5}, "als_rank must be int, got 1.5"),
        ({"als_max_iter": True}, "als_max_iter must be int, got True"),
        ({"als_implicit": "ture"}, "als_implicit must be bool, got 'ture'"),
        ({"als_refit_every_days": 0}, "als_refit_every_days must be >= 1, got 0"),
        ({"archive_retention_days": 0}, "archive_retention_days must be >= 1, got 0"),
        ({"archive_retention_days": 7}, "archive_retention_days (7) must be at least"),
        ({"min_user_coverage": 1.5}, "min_user_coverage must be between 0 and 1"),
        ({"test_fraction": 1}, "test_fraction must be between 0 and 1, exclusive"),
        ({"rating_min": 5}, "rating_min (5) must be below rating_max (5.0)"),
        ({"top_k_block_users": "many"}, "top_k_block_users must be int"),
        ({"no_such_var": 1}, "unknown dbt var 'no_such_var'"),
    ],
)
def test_a_bad_var_is_refused_by_name(overrides, message):
    with pytest.raises(BadVar, match=message.replace("(", r"\(").replace(")", r"\)")):
        dbt_vars(overrides)


def test_numbers_may_be_written_as_ints():
    assert dbt_vars({"als_reg_param": 1, "min_user_coverage": 1})["min_user_coverage"] == 1


def test_the_nightly_refuses_a_bad_var_before_it_starts_a_service(cli, tmp_path):
    state = tmp_path / "state"
    result = cli("nightly", "--var", "top_k=0", env={"MOVIE_RECS_STATE": str(state)})
    assert result.returncode == 2
    assert "error: dbt var top_k must be between 1 and 50, got 0" in result.stderr
    assert "Traceback" not in result.stderr
    assert not state.exists()  # no PostgreSQL cluster, no lake: nothing was started


def test_an_unknown_target_from_the_environment_is_refused(cli, tmp_path):
    state = tmp_path / "state"
    result = cli("nightly", env={"DBT_TARGET": "prod", "MOVIE_RECS_STATE": str(state)})
    assert result.returncode == 2
    assert "DBT_TARGET='prod' is not a target" in result.stderr
    assert not state.exists()


NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("as_of", "first_day_kept"),
    [
        (datetime(2026, 12, 1, tzinfo=UTC), "2026-11-01"),  # last night's run
        (datetime(2026, 11, 15, tzinfo=UTC), "2026-10-16"),  # a backfill counts from its as_of
        # a run date in the future counts from the clock, not from its date
        (datetime(2062, 1, 1, tzinfo=UTC), "2026-11-01"),
        (datetime(2026, 12, 3, tzinfo=UTC), "2026-11-01"),
    ],
)
def test_retention_never_counts_from_a_day_not_reached(as_of, first_day_kept):
    assert retention_start(as_of, 30, now=NOW).isoformat() == first_day_kept
