"""Which of the nightly's dbt builds runs each data test: every test once a
night, or left to the check that covers it; the analytics inputs' tests after
publishing, where a failure cannot hold back the night's recommendations."""

from __future__ import annotations

from movie_recs.config import dbt_vars
from movie_recs.dbt import run_dbt
from movie_recs.pipeline.tasks import analytics, train


def data_tests(*selection: str) -> set[str]:
    names = run_dbt(
        ["ls", "--resource-type", "test", "--output", "name", *selection], "local", dbt_vars()
    )
    return set(names)


def test_each_data_test_runs_in_one_build_or_is_left_to_its_check(monkeypatch, tmp_path):
    monkeypatch.setenv("MOVIE_RECS_STATE", str(tmp_path))  # a dbt target of its own
    every = data_tests()
    in_train = data_tests(*train.DBT_SELECTION)
    in_analytics = data_tests(*analytics.DBT_SELECTION)
    by_gate = data_tests("--select", train.CHECKED_BY_EXPORT_GATE)
    by_archive_task = data_tests("--select", train.CHECKED_BY_ARCHIVE_TASK)

    assert in_train and in_analytics and by_gate and by_archive_task
    assert not in_train & in_analytics
    assert in_train | in_analytics | by_gate | by_archive_task == every

    serving_logs = {t for t in every if "app_recommendation_" in t}
    assert len(serving_logs) == 4  # unique and not null on each key
    assert serving_logs <= in_analytics
    assert "source_unique_app_movies_movie_id" in in_train
