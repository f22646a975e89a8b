"""The nightly run end to end on the local target, as a user runs it.

One story, in order: generate data with one bad event of each kind, stop a
night at its input checks, run the night, check what was published and where
every event went; rerun (a no-op); the next night crashed, then with a
failing gate (nothing published), then the same night passing (a new model
version); a second run refused by the lock; the third night, a fold-in
between full refits, crashed and cut off from PostgreSQL at each risky point,
its analytics failed by a serve landed twice, before a rerun completes it.
Each step is a test; later steps rely on earlier ones.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from delta.tables import DeltaTable

from movie_recs.db.copy import read_frame
from movie_recs.pipeline.runs import NightlyLock
from movie_recs.services.postgres import LocalPostgres

GENERATED = 20_000
DEMO = ["--users", "300", "--movies", "400", "--events", str(GENERATED), "--seed", "7"]
DAY1 = (datetime.now(UTC) - timedelta(days=1)).date()
DAY2 = DAY1 + timedelta(days=1)
DAY3 = DAY2 + timedelta(days=1)
RUN1, RUN2, RUN3 = f"nightly-{DAY1}", f"nightly-{DAY2}", f"nightly-{DAY3}"
state: dict = {}


def test_load_movielens_files(cli, checks, tmp_path):
    """The MovieLens loader as a user runs it; demo data replaces it next."""
    (tmp_path / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n1,10,4.0,964982703\n1,20,3.5,964982224\n"
        "2,10,5.0,1000000000\n2,30,0.5,1500000000\n3,20,2.0,1500000100\n"
    )
    (tmp_path / "movies.csv").write_text(
        "movieId,title,genres\n10,GoldenEye (1995),Action\n20,Heat (1995),Crime\n"
        "30,Sabrina (1995),Comedy|Romance\n"
    )
    out = cli("load-movielens", str(tmp_path), check=True)
    assert "loaded 3 movies and 5 events" in out.stdout
    (in_pg,) = checks.sql("select count(*) from rt_user_interactions")[0]
    assert in_pg + checks.archived_count() == 5
    assert checks.sql("select title from movies where movie_id = 20") == [("Heat (1995)",)]


def test_demo_data_and_bad_events(cli, checks):
    state["since"] = datetime.now(UTC)
    out = cli("demo-data", *DEMO, check=True)
    assert f"{GENERATED} events" in out.stdout
    state["injected"] = checks.inject_bad_events()
    assert checks.events_everywhere(state["since"]) == GENERATED + state["injected"]


def test_a_night_over_its_reject_share_stops_before_archiving(cli, checks):
    """The input checks stop the run at its first task: nothing moves."""
    day = DAY1 - timedelta(days=1)  # a night of its own, so the story's first is untouched
    in_pg = checks.sql("select count(*) from rt_user_interactions")
    archived = checks.archived_count()
    # the 9 bad events are 0.05 % of the snapshot
    result = cli("nightly", "--run-date", str(day), "--var", "max_reject_share=0.0001")
    assert result.returncode == 1
    assert "input checks failed" in result.stderr
    assert "rejected events at most 0.0001 of the snapshot (max_reject_share)" in result.stderr
    assert "nothing published" in result.stderr
    assert [(t, s) for t, _, s in checks.task_statuses(f"nightly-{day}")] == [
        ("active_users", "failed")
    ]
    assert checks.archived_count() == archived
    assert checks.sql("select count(*) from rt_user_interactions") == in_pg
    assert checks.sql("select count(*) from rejected_events") == [(0,)]


def test_first_night_publishes(cli, checks):
    result = cli("nightly", check=True)
    assert "published model als-" in result.stderr
    assert checks.pg.password not in result.stdout + result.stderr  # no secret in logs
    # nor the libraries' warnings about how they are called
    for warning in ("should contain the {batch} parameter", "PYARROW_IGNORE_TIMEZONE"):
        assert warning not in result.stdout + result.stderr
    assert [(task, status) for task, _, status in checks.task_statuses(RUN1)] == [
        ("active_users", "succeeded"),
        ("archive", "succeeded"),
        ("train", "succeeded"),
        ("validate", "succeeded"),
        ("publish", "succeeded"),
        ("analytics", "succeeded"),
    ]
    state["version1"] = checks.assert_recommendations_complete()
    state["published1"] = checks.published_set()
    ((landed,),) = checks.sql(
        "select details from pipeline_runs where run_id = %s and task = 'active_users'", (RUN1,)
    )
    assert landed["input_check_failures"] == 0 and landed["day_events"] > 0


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
    # the default model is implicit ALS: ranking metrics, no RMSE of its own
    assert "rmse" not in metrics and metrics["rmse_global_mean"] > 0
    for k in (10, 50):
        for name in ("precision", "recall", "ndcg", "map", "hit_rate", "popular_share"):
            for prefix in ("", "popularity_", "random_"):
                assert 0 <= metrics[f"{prefix}{name}_at_{k}"] <= 1
    assert metrics["ndcg_at_10"] >= metrics["random_ndcg_at_10"]  # the default gate
    assert metrics["user_coverage"] == 1.0
    assert 0 < metrics["catalog_coverage"] <= 1.0
    assert metrics["active_users"] > 0


def test_rerun_of_a_published_date_is_a_no_op(cli, checks):
    result = cli("nightly", check=True)
    assert "already completed" in result.stderr
    assert checks.assert_recommendations_complete() == state["version1"]


def test_simulated_serving_with_late_duplicate_and_orphan_feedback(cli, checks):
    out = cli("simulate-serving", "--days", "5", "--seed", "3", check=True)
    assert "served" in out.stdout
    variants = dict(checks.sql("select variant, count(*) from recommendation_logs group by 1"))
    assert set(variants) == {"als", "popularity"}
    (n_feedback,) = checks.sql("select count(*) from recommendation_feedback")[0]
    assert n_feedback > 0
    # four unclicked serves of the als arm, for handcrafted feedback
    unclicked = checks.sql(
        "select serve_id, user_id, movie_id, served_at from recommendation_logs l"
        " where variant = 'als' and not exists (select 1 from recommendation_feedback f"
        " where f.serve_id = l.serve_id) order by serve_id limit 3"
    )
    (late_in, late_out, dup) = unclicked
    specials = [
        (late_in, "click", timedelta(hours=23)),  # inside the 24h window: counts
        (late_out, "click", timedelta(hours=25)),  # outside: does not count
        (dup, "click", timedelta(minutes=5)),
        (dup, "click", timedelta(minutes=9)),  # the same click again: counts once
    ]
    (next_id,) = checks.sql("select max(feedback_id) + 1 from recommendation_feedback")[0]
    with checks.pg.transaction() as cur:
        for offset, ((serve, user, movie, served_at), action, delay) in enumerate(specials):
            cur.execute(
                "insert into recommendation_feedback values (%s, %s, %s, %s, %s, %s)",
                (next_id + offset, serve, user, movie, action, served_at + delay),
            )
        cur.execute(
            "insert into recommendation_feedback values (%s, 999999999, 1, 1, 'click', now())",
            (next_id + len(specials),),
        )
    state["specials"] = {"late_in": late_in[0], "late_out": late_out[0], "dup": dup[0]}
    state["orphan_feedback_id"] = next_id + len(specials)


def test_crash_between_lake_write_and_postgres_delete(cli, checks):
    """SIGKILL after the archive's Delta write, before its PostgreSQL delete.

    The next test's run of the same date is the rerun: it must finish the move
    without duplicating (conservation is checked after the night succeeds).
    """
    result = cli(
        "nightly", "--run-date", str(DAY2), env={"MOVIE_RECS_FAULT": "archive.after_lake_write"}
    )
    assert result.returncode == -9  # killed, no cleanup
    assert ("archive", 1, "running") in checks.task_statuses(RUN2)
    # the crash left events both archived and still in PostgreSQL: counted twice for now
    assert checks.events_everywhere(state["since"]) > GENERATED + state["injected"]


def test_failed_gate_publishes_nothing(cli, checks):
    result = cli("nightly", "--run-date", str(DAY2), "--var", "min_ndcg_at_10=0.99")
    assert result.returncode == 1, result.stderr[-3000:]
    assert "validation gate failed: ndcg_at_10" in result.stderr
    # readers still see night 1's set, row for row (its users were night 1's
    # active users, not tonight's: some users' only days left the window)
    assert checks.published_set() == state["published1"]
    statuses = checks.task_statuses(RUN2)
    assert ("validate", 1, "failed") in statuses
    # the crashed attempt is closed as failed; the rerun's archive succeeded
    assert ("archive", 1, "failed") in statuses and ("archive", 2, "succeeded") in statuses
    (error,) = checks.sql(
        "select error from pipeline_runs where run_id = %s and task = 'archive' and attempt = 1",
        (RUN2,),
    )[0]
    assert error.startswith("abandoned")


def test_next_night_publishes_a_new_version(cli, checks):
    """The rerun with the default gate validates the model the failed run trained."""
    result = cli("nightly", "--run-date", str(DAY2), check=True)
    assert "resuming at task validate" in result.stderr
    version2 = checks.assert_recommendations_complete()
    assert version2 != state["version1"]
    assert version2.startswith(f"als-{DAY2:%Y%m%d}-")
    state["version2"] = version2
    statuses = checks.task_statuses(RUN2)
    assert ("validate", 1, "failed") in statuses
    assert ("validate", 2, "succeeded") in statuses
    assert [attempt for task, attempt, _ in statuses if task == "train"] == [1]
    assert checks.events_everywhere(state["since"]) == GENERATED + state["injected"]


def test_late_duplicate_and_orphan_feedback_are_handled(checks):
    impressions = {
        r["serve_id"]: r
        for r in checks.delta("warehouse/movie_recs.db/fct_impressions")
        .where(f"serve_id in ({','.join(str(v) for v in state['specials'].values())})")
        .collect()
    }
    assert impressions[state["specials"]["late_in"]]["is_clicked"] is True
    assert impressions[state["specials"]["late_out"]]["is_clicked"] is False
    assert impressions[state["specials"]["dup"]]["is_clicked"] is True
    rejected = checks.sql(
        "select reason from rejected_events where source_table = 'recommendation_feedback'"
        " and source_key = %s",
        (str(state["orphan_feedback_id"]),),
    )
    assert rejected == [("unknown_serve",)]


def test_ab_results_equal_an_independent_computation(checks):
    """CTR, Wilson intervals, lifts and p-values against pandas + statsmodels, to 1e-9."""
    import pandas as pd
    from statsmodels.stats.proportion import proportion_confint, proportions_ztest

    with checks.pg.transaction() as cur:
        logs = read_frame(cur, "select * from recommendation_logs")
        feedback = read_frame(cur, "select * from recommendation_feedback")
    results = checks.delta("warehouse/movie_recs.db/fct_ab_test_results").toPandas()
    window_start = pd.Timestamp(results["window_start"].iloc[0], tz="UTC")
    window_end = pd.Timestamp(results["window_end"].iloc[0], tz="UTC")
    logs = logs[(logs["served_at"] >= window_start) & (logs["served_at"] < window_end)]
    joined = feedback.merge(logs, on=["serve_id", "user_id"], suffixes=("", "_serve"))
    in_window = (joined["feedback_at"] >= joined["served_at"]) & (
        joined["feedback_at"] < joined["served_at"] + pd.Timedelta(hours=24)
    )
    expected = {}
    for action, metric in (("click", "ctr"), ("watch", "watch_rate")):
        hit = set(joined.loc[in_window & (joined["action"] == action), "serve_id"])
        for variant, arm in logs.groupby("variant"):
            expected[(metric, variant)] = (int(arm["serve_id"].isin(hit).sum()), len(arm))

    assert {(row.metric, row.variant) for row in results.itertuples()} == set(expected)
    for row in results.itertuples():
        successes, trials = expected[(row.metric, row.variant)]
        control_successes, control_trials = expected[(row.metric, "als")]
        assert (row.successes, row.trials) == (successes, trials)
        assert row.rate == pytest.approx(successes / trials, abs=1e-9)
        low, high = proportion_confint(successes, trials, alpha=0.05, method="wilson")
        assert (row.ci_low, row.ci_high) == pytest.approx((low, high), abs=1e-9)
        control_rate = control_successes / control_trials
        assert row.abs_lift == pytest.approx(successes / trials - control_rate, abs=1e-9)
        assert row.rel_lift == pytest.approx(
            (successes / trials - control_rate) / control_rate, abs=1e-9
        )
        if row.variant != "als":
            _, p_value = proportions_ztest([successes, control_successes], [trials, control_trials])
            assert row.p_value == pytest.approx(p_value, abs=1e-9)


def test_variant_metrics_are_kept_in_postgres(checks):
    rows = checks.sql(
        "select variant, metric_name, metric_value from model_performance_logs"
        " where run_id = %s and variant is not null",
        (RUN2,),
    )
    by_key = {(variant, name): value for variant, name, value in rows}
    for variant in ("als", "popularity"):
        assert 0 < by_key[(variant, "ctr")] < 1
        assert by_key[(variant, "ctr_ci_low")] < by_key[(variant, "ctr")]
    assert by_key[("popularity", "ctr_p_value")] is not None


def test_sql_over_the_lake_prints_a_table(cli):
    out = cli(
        "sql",
        "select variant, count(*) as n from movie_recs.fct_impressions group by 1 order by 1",
        check=True,
    ).stdout
    header = next(line for line in out.splitlines() if "variant" in line)
    assert header.startswith("|") and "|n" in header.replace(" ", "")
    assert "als" in out and "popularity" in out


def test_dbt_docs_generate_offline(cli, tmp_path):
    # the run's as_of as a night's dbt builds get it (movie_recs.dbt.run_dbt)
    as_of = {"MOVIE_RECS_AS_OF": "2026-03-03 00:00:00"}
    target = ("--target", "local", "--target-path", str(tmp_path))
    cli("dbt", "docs", "generate", *target, env=as_of, check=True)
    sql = tmp_path / "compiled/movie_recs/models/intermediate/int_interactions_unioned.sql"
    assert "to_timestamp('2026-03-03 00:00:00')" in sql.read_text()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    ab = manifest["nodes"]["model.movie_recs.fct_ab_test_results"]
    assert ab["description"] and all(c["description"] for c in ab["columns"].values())
    catalog = json.loads((tmp_path / "catalog.json").read_text())
    assert "model.movie_recs.fct_ctr_daily" in catalog["nodes"]


def test_report_renders_its_plots_in_a_browser(cli, fresh_state, tmp_path):
    out = cli("report", "--out", str(tmp_path / "report"), check=True).stdout
    page = tmp_path / "report" / "index.html"
    assert str(page) in out
    artefacts = fresh_state / "artefacts"
    artefacts.mkdir(exist_ok=True)
    browser = [
        "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={tmp_path / 'chromium'}", "--window-size=1200,2600",
    ]  # fmt: skip
    dom = subprocess.run(
        [*browser, "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    assert 'data-plots-rendered="4"' in dom
    subprocess.run(
        [*browser, f"--screenshot={artefacts / 'report.png'}", page.as_uri()],
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    assert (artefacts / "report.png").stat().st_size > 10_000


def test_status_shows_both_runs(cli, pg):
    runs = json.loads(cli("status", "--json", check=True).stdout)
    by_id = {run["run_id"]: run for run in runs}
    assert {RUN1, RUN2} <= set(by_id)
    assert by_id[RUN2]["metrics"]["ndcg_at_10"] > 0
    text = cli("status", check=True).stdout
    assert RUN2 in text and "publish" in text
    assert pg.password not in text


def test_second_concurrent_run_is_refused(cli, pg):
    with NightlyLock(pg):
        result = cli("nightly", "--run-date", str(DAY3))
    assert result.returncode == 1
    assert "another nightly run holds the lock" in result.stderr


def test_late_feedback_and_new_bad_events_arrive(checks):
    """Inputs for the third night, which is crashed and broken below before it
    completes: a late click, new bad events, a movie gone from the catalogue."""
    serve_id, user, movie, served_at = checks.sql(
        "select serve_id, user_id, movie_id, served_at from recommendation_logs l"
        " where served_at >= (select max(served_at) from recommendation_logs) - interval '1 day'"
        " and not exists (select 1 from recommendation_feedback f where f.serve_id = l.serve_id)"
        " order by serve_id limit 1"
    )[0]
    impressions = checks.delta("warehouse/movie_recs.db/fct_impressions")
    assert impressions.where(f"serve_id = {serve_id}").first()["is_clicked"] is False
    with checks.pg.transaction() as cur:
        # a click landed after its serve was processed, inside the 24h window
        cur.execute(
            "insert into recommendation_feedback select max(feedback_id) + 1, %s, %s, %s,"
            " 'click', %s from recommendation_feedback",
            (serve_id, user, movie, served_at + timedelta(hours=2)),
        )
        # new bad events, so that the archive's reject step has work to crash after
        cur.execute(
            "insert into rt_user_interactions (event_id, user_id, movie_id, event_type, event_ts)"
            " values (90000101, null, 1, 'view', now() - interval '1 hour'),"
            " (90000102, 1, 1, 'purchase', now() - interval '1 hour')"
        )
        # a movie leaves the catalogue; its archived events stay in the matrix
        cur.execute(
            "delete from movies where movie_id = (select movie_id from batch_recommendations"
            " group by movie_id order by count(*), movie_id limit 1) returning movie_id"
        )
        state["left_catalogue"] = cur.fetchone()[0]
    state["late_click_serve"] = serve_id
    state["injected"] += 2
    state["published2"] = checks.published_set()


def _assert_nothing_lost_and_old_set_published(checks):
    # a crash may leave an event in two places (the rerun settles it), never in none
    assert checks.events_everywhere(state["since"]) >= GENERATED + state["injected"]
    assert checks.published_set() == state["published2"]


@pytest.mark.parametrize(
    "point", ["archive.after_rejects", "archive.after_postgres_delete", "after.archive"]
)
def test_crash_in_the_archive_loses_nothing(cli, checks, point):
    """Each run of the third night is the rerun of the one killed before it."""
    result = cli("nightly", "--run-date", str(DAY3), env={"MOVIE_RECS_FAULT": point})
    assert result.returncode == -9, result.stderr[-3000:]
    _assert_nothing_lost_and_old_set_published(checks)
    task, _, status = checks.task_statuses(RUN3)[-1]
    assert (task, status) == ("archive", "succeeded" if point == "after.archive" else "running")


def test_postgres_down_through_the_retries_exits_2(paused_run, cli, checks):
    """PostgreSQL stops for good in the middle of the publish: exit 2, nothing published.

    This run trains the third night, between full refits: it folds in to the
    second night's full fit (checked once the night completes, below).
    First, while that run is live, a second nightly is started and refused."""
    # paused with the new rows copied in, the transaction open
    run = paused_run(
        "pause:publish.before_commit",
        *("nightly", "--run-date", str(DAY3), "--var", "als_refit_every_days=7"),
    )
    run.wait_paused()
    second = cli("nightly", "--run-date", str(DAY3))
    assert second.returncode == 1, second.stderr[-3000:]
    assert "another nightly run holds the lock" in second.stderr
    server = LocalPostgres()
    server.stop()
    run.resume()
    code, log = run.finish()
    server.start()
    assert code == 2, log[-3000:]
    assert "stopped: PostgreSQL is unreachable (retried with backoff), nothing published" in log
    assert log.count("PostgreSQL unreachable, retry in") == 2  # retries=2, then give up
    assert checks.pg.password not in log
    _assert_nothing_lost_and_old_set_published(checks)
    # the run could not record its end: the next run closes the attempt as abandoned
    assert checks.task_statuses(RUN3)[-1] == ("publish", 1, "running")


def test_postgres_restart_mid_publish_is_retried(paused_run, checks):
    """PostgreSQL restarts during the publish: retried after a backoff, the lock is taken
    again; then the run is killed while writing the metrics, before the commit."""
    run = paused_run(
        "pause:publish.before_commit,publish.metrics_before_commit",
        "nightly",
        "--run-date",
        str(DAY3),
        env={"MOVIE_RECS_RETRY_BACKOFF_S": "4"},
    )
    run.wait_paused()
    server = LocalPostgres()
    server.stop()
    run.resume()
    run.wait_for_log("PostgreSQL unreachable, retry in")
    server.start()
    code, log = run.finish()
    assert code == -9, log[-3000:]
    assert "resuming at task publish" in log  # the model trained by the run before
    assert log.count("retry in") == 1
    _assert_nothing_lost_and_old_set_published(checks)
    assert checks.metrics(RUN3) == {}
    statuses = checks.task_statuses(RUN3)
    assert ("publish", 1, "failed") in statuses  # closed as abandoned
    # the connection lost by the restart, recorded once PostgreSQL was back
    assert ("publish", 2, "failed") in statuses
    assert statuses[-1] == ("publish", 3, "running")  # killed before commit


def test_crash_in_the_middle_of_publishing_publishes_nothing(cli, checks):
    """Killed with the old set deleted and the new one copied in, uncommitted."""
    fault = {"MOVIE_RECS_FAULT": "publish.before_commit"}
    result = cli("nightly", "--run-date", str(DAY3), env=fault)
    assert result.returncode == -9, result.stderr[-3000:]
    _assert_nothing_lost_and_old_set_published(checks)
    assert checks.metrics(RUN3) == {}


def test_crash_between_publish_and_analytics(cli, checks):
    result = cli("nightly", "--run-date", str(DAY3), env={"MOVIE_RECS_FAULT": "after.publish"})
    assert result.returncode == -9, result.stderr[-3000:]
    state["version3"] = checks.assert_recommendations_complete()
    assert state["version3"].startswith(f"als-{DAY3:%Y%m%d}-")
    assert checks.metrics(RUN3)["ndcg_at_10"] > 0


def test_a_serve_landed_twice_fails_analytics_not_the_published_list(cli, checks):
    """A landing bug's duplicate serve fails the serving logs' source test, which
    runs with the analytics models, after publishing: the night's list stands."""
    path = f"{checks.lake}/landing/recommendation_logs"
    logs = DeltaTable.forPath(checks.spark, path)
    before = logs.history(1).first()["version"]
    logs.toDF().limit(1).write.format("delta").mode("append").save(path)
    try:
        result = cli("nightly", "--run-date", str(DAY3))
        assert result.returncode == 1, result.stderr[-3000:]
        assert "resuming at task analytics" in result.stderr
        assert "stopped, the new list was published" in result.stderr
        assert "source_unique_app_recommendation_logs_serve_id: fail" in result.stderr
        assert checks.assert_recommendations_complete() == state["version3"]
    finally:
        logs.restoreToVersion(before)


def test_rerun_after_the_crashes_completes_the_night(cli, checks):
    # with a control variant that was never served: the A/B results are empty, and the log says why
    control = ["--var", "ab_control_variant=holdout"]
    result = cli("nightly", "--run-date", str(DAY3), *control, check=True)
    assert "resuming at task analytics" in result.stderr
    assert "no A/B results: the control variant 'holdout'" in result.stderr
    assert "variants served: als, popularity" in result.stderr
    assert checks.delta("warehouse/movie_recs.db/fct_ab_test_results").count() == 0
    assert checks.assert_recommendations_complete() == state["version3"]
    assert checks.events_everywhere(state["since"]) == GENERATED + state["injected"]
    statuses = checks.task_statuses(RUN3)
    for task in ("active_users", "archive", "train", "validate", "publish", "analytics"):
        outcomes = [status for name, _, status in statuses if name == task]
        assert outcomes[-1] == "succeeded", (task, outcomes)
    failed = checks.sql(
        "select task, count(*) from pipeline_runs where run_id = %s and status = 'failed'"
        " and error like 'abandoned%%' group by 1",
        (RUN3,),
    )
    assert dict(failed) == {"archive": 2, "publish": 3}
    (n_rejected,) = checks.sql(
        "select count(*) from rejected_events where source_key in ('90000101', '90000102')"
    )[0]
    assert n_rejected == 2
    # the movie that left the catalogue is recommended no more, kept lists included
    gone = state["left_catalogue"]
    left = checks.sql("select count(*) from batch_recommendations where movie_id = %s", (gone,))
    assert left == [(0,)]
    # the late click, landed by the night's first attempt, counts
    impressions = checks.delta("warehouse/movie_recs.db/fct_impressions")
    assert impressions.where(f"serve_id = {state['late_click_serve']}").first()["is_clicked"]


def test_the_night_between_full_refits_folded_in_to_the_last_full_fit(checks, lake_root):
    ((train,),) = checks.sql(
        "select details from pipeline_runs where run_id = %s and task = 'train'"
        " and status = 'succeeded'",
        (RUN3,),
    )
    assert train["base_model_version"] == state["version2"]
    assert train["folded_in"] == 1.0
    # the full fit's held-out evaluation stands for the night; nothing was refitted
    assert train["ndcg_at_10"] == checks.metrics(RUN2)["ndcg_at_10"]
    assert checks.metrics(RUN3)["ndcg_at_10"] == checks.metrics(RUN2)["ndcg_at_10"]
    assert "evaluation_seconds" not in train
    # users whose matrix rows are as last night's keep last night's lists
    assert train["rescored_users"] < train["matrix_users"]
    assert not Path(f"{lake_root}/models/{state['version3']}/als").exists()
    assert Path(f"{lake_root}/models/{state['version3']}/metrics").exists()


@pytest.mark.parametrize("env_cmd", [["env"]])
def test_env_prints_exports_for_psql(cli, pg, env_cmd):
    lines = cli(*env_cmd, check=True).stdout.splitlines()
    exports = dict(line.removeprefix("export ").split("=", 1) for line in lines)
    assert exports["PGPORT"] == str(pg.port)
    assert exports["PGUSER"] == pg.user
