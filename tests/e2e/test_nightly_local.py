"""The nightly run end to end on the local target, as a user runs it.

One story, in order: generate data with one bad event of each kind, run the
night, check what was published and where every event went; rerun (a no-op);
plain `dbt build`; the next night with a failing gate (nothing published),
then the same night passing (a new model version); a second run refused by
the lock. Each step is a test; later steps rely on earlier ones.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from movie_recs.pipeline.runs import NightlyLock

GENERATED = 20_000
DEMO = ["--users", "300", "--movies", "400", "--events", str(GENERATED), "--seed", "7"]
DAY1 = (datetime.now(UTC) - timedelta(days=1)).date()
DAY2 = DAY1 + timedelta(days=1)
RUN1, RUN2 = f"nightly-{DAY1}", f"nightly-{DAY2}"
state: dict = {}


def test_demo_data_and_bad_events(cli, checks):
    state["since"] = datetime.now(UTC)
    out = cli("demo-data", *DEMO, check=True)
    assert f"{GENERATED} events" in out.stdout
    state["injected"] = checks.inject_bad_events()
    assert checks.events_everywhere(state["since"]) == GENERATED + state["injected"]


def test_first_night_publishes(cli, checks):
    result = cli("nightly", check=True)
    assert "published model als-" in result.stderr
    assert [(task, status) for task, _, status in checks.task_statuses(RUN1)] == [
        ("active_users", "succeeded"),
        ("archive", "succeeded"),
        ("train", "succeeded"),
        ("validate", "succeeded"),
        ("publish", "succeeded"),
    ]
    state["version1"] = checks.assert_recommendations_complete()


def test_every_bad_event_is_set_aside_with_its_reason(checks, bad_events):
    rejected = dict(
        checks.sql(
            "select source_key::bigint, reason from rejected_events"
            " where source_table = 'rt_user_interactions'"
        )
    )
    assert rejected == {event_id: spec[-1] for event_id, spec in bad_events.items()}
    # and none of them is left in PostgreSQL
    left = checks.sql(
        "select count(*) from rt_user_interactions where event_id = any(%s)",
        (list(bad_events),),
    )
    assert left == [(0,)]


def test_events_are_conserved_and_archived_by_date(checks):
    assert checks.events_everywhere(state["since"]) == GENERATED + state["injected"]
    cutoff = checks.sql("select now() - interval '48 hours'")[0][0]
    (older_in_pg,) = checks.sql(
        "select count(*) from rt_user_interactions where event_ts < %s - interval '1 day'",
        (cutoff,),
    )[0]
    assert older_in_pg == 0
    detail = checks.spark.sql(f"describe detail delta.`{checks.lake}/archived-events`").first()
    assert detail["partitionColumns"] == ["event_date"]


def test_run_metrics_are_logged(checks):
    metrics = checks.metrics(RUN1)
    assert 0 < metrics["rmse"] <= 2.0  # var max_rmse
    assert metrics["rmse_global_mean"] > 0  # the baseline is logged beside it
    assert metrics["user_coverage"] == 1.0
    assert 0 < metrics["catalog_coverage"] <= 1.0
    assert metrics["active_users"] > 0


def test_rerun_of_a_published_date_is_a_no_op(cli, checks):
    result = cli("nightly", check=True)
    assert "already published" in result.stderr
    assert checks.assert_recommendations_complete() == state["version1"]


def test_plain_dbt_build_runs_the_python_models(cli, checks, tmp_path):
    cli("dbt", "build", "--target", "local", "--target-path", str(tmp_path), check=True)
    results = json.loads((tmp_path / "run_results.json").read_text())
    status = {r["unique_id"]: r["status"] for r in results["results"]}
    assert status["model.movie_recs.fct_recommendations"] == "success"
    assert status["model.movie_recs.dim_movie_genres"] == "success"
    table = checks.delta("warehouse/movie_recs.db/fct_recommendations")
    assert {r["model_version"] for r in table.select("model_version").distinct().collect()} == {
        "manual"
    }
    # dbt by hand builds, it does not publish
    assert checks.assert_recommendations_complete() == state["version1"]


def test_failed_gate_publishes_nothing(cli, checks):
    result = cli("nightly", "--run-date", str(DAY2), "--var", "max_rmse=0.0001")
    assert result.returncode == 1, result.stderr[-3000:]
    assert "validation gate failed: rmse" in result.stderr
    assert checks.assert_recommendations_complete() == state["version1"]
    assert ("validate", 1, "failed") in checks.task_statuses(RUN2)


def test_next_night_publishes_a_new_version(cli, checks):
    cli("nightly", "--run-date", str(DAY2), check=True)
    version2 = checks.assert_recommendations_complete()
    assert version2 != state["version1"]
    assert version2.startswith(f"als-{DAY2:%Y%m%d}-")
    statuses = checks.task_statuses(RUN2)
    assert ("validate", 1, "failed") in statuses
    assert ("validate", 2, "succeeded") in statuses
    assert checks.events_everywhere(state["since"]) == GENERATED + state["injected"]


def test_status_shows_both_runs(cli):
    runs = json.loads(cli("status", "--json", check=True).stdout)
    by_id = {run["run_id"]: run for run in runs}
    assert {RUN1, RUN2} <= set(by_id)
    assert by_id[RUN2]["metrics"]["rmse"] > 0
    text = cli("status", check=True).stdout
    assert RUN2 in text and "publish" in text


def test_second_concurrent_run_is_refused(cli, pg):
    with NightlyLock(pg):
        result = cli("nightly", "--run-date", str(DAY2 + timedelta(days=1)))
    assert result.returncode == 1
    assert "another nightly run holds the lock" in result.stderr


@pytest.mark.parametrize("env_cmd", [["env"]])
def test_env_prints_exports_for_psql(cli, pg, env_cmd):
    lines = cli(*env_cmd, check=True).stdout.splitlines()
    exports = dict(line.removeprefix("export ").split("=", 1) for line in lines)
    assert exports["PGPORT"] == str(pg.port)
    assert exports["PGUSER"] == pg.user
