"""The same project on the `s3` and `cluster` targets: Delta on s3a:// in the local S3 server.

A story of its own, run beside the local one (pytest-xdist runs each file on
one worker: this one on the other worker's PostgreSQL and S3 server): demo
data goes to the bucket's archive; the night on `s3` meets the S3 server
stopped for good (exit 2); its rerun, on a Spark standalone cluster (a master
and two workers from the installed pyspark on loopback), meets the server
restarted (retried) and publishes from the bucket, with the executors, not the
driver, running the tasks; plain `dbt build --target s3` runs the Python models.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from movie_recs.services.s3 import LocalS3Proxy
from movie_recs.services.spark_cluster import LocalSparkCluster

GENERATED = 12_000
DEMO = ["--users", "200", "--movies", "300", "--events", str(GENERATED), "--seed", "11"]
RUN_DATE = (datetime.now(UTC) + timedelta(days=1)).date()
state: dict = {}


# the cluster night generates code as real nights do, which the executors
# compile (the suite's other commands do not: tests/conftest.py); its driver and
# executors run the suite's quick JIT, which changes how fast, not what, they compute
CLUSTER_JVMS = {
    "SPARK_CODEGEN": "true",
    "SPARK_EXECUTOR_JAVA_OPTIONS": os.environ["SPARK_DRIVER_JAVA_OPTIONS"],
}


@pytest.fixture(scope="module")
def s3_env(s3):
    return {**s3.env(), "DBT_TARGET": "s3"}


def keys_under(s3, prefix: str) -> list[str]:
    paginator = s3.client().get_paginator("list_objects_v2")
    return [
        obj["Key"]
        for page in paginator.paginate(Bucket=s3.bucket, Prefix=prefix)
        for obj in page.get("Contents", [])
    ]


def test_demo_data_lands_in_the_bucket(cli, s3, s3_env, s3_checks):
    state["since"] = datetime.now(UTC)
    cli("demo-data", "--target", "s3", *DEMO, env=s3_env, check=True)
    archive = keys_under(s3, "lake/archived-events/")
    assert any(k.endswith(".parquet") and "event_date=" in k for k in archive)
    state["injected"] = s3_checks.inject_bad_events()
    assert s3_checks.events_everywhere(state["since"]) == GENERATED + state["injected"]


def _stop_the_store_at_the_archive_write(run) -> LocalS3Proxy:
    run.wait_paused()  # rejects recorded, the Delta write next
    server = LocalS3Proxy()
    server.stop()
    run.resume()
    return server


def test_s3_down_through_the_retries_exits_2(paused_run, s3, s3_env, s3_checks):
    """The first night on s3 meets the store stopped for good before its archive write."""
    archived_before = s3_checks.archived_count()
    state["published_before"] = s3_checks.published_set()
    # --force: run in one process (-n 0), the local story has completed this date
    run = paused_run(
        "pause:archive.after_rejects",
        *("nightly", "--target", "s3", "--run-date", str(RUN_DATE), "--force"),
        env=s3_env,
    )
    server = _stop_the_store_at_the_archive_write(run)
    code, log = run.finish()
    server.start()
    assert code == 2, log[-3000:]
    assert "stopped: the S3 object store is unreachable (retried with backoff)" in log
    assert log.count("the S3 object store unreachable, retry in") == 2
    assert s3.secret_key not in log
    # no partial state: nothing archived or deleted (the rejects were recorded,
    # their rows are still in PostgreSQL until the rerun), nothing published
    assert s3_checks.archived_count() == archived_before
    assert s3_checks.events_everywhere(state["since"]) >= GENERATED + state["injected"]
    assert s3_checks.published_set() == state["published_before"]


def logged_events(event_logs, kind: str):
    # Spark 4 writes a folder per application: events_<n>_<app> files (and status files)
    for path in event_logs.rglob("events_*"):
        for line in path.read_text().splitlines():
            event = json.loads(line)
            if event["Event"] == kind:
                yield event


def tasks_per_executor(event_logs) -> Counter:
    return Counter(
        event["Task Info"]["Executor ID"]
        for event in logged_events(event_logs, "SparkListenerTaskEnd")
    )


def test_s3_restart_mid_archive_is_retried_and_the_rerun_completes_on_a_cluster(
    paused_run, s3, s3_env, s3_checks, bad_events, tmp_path
):
    """The rerun, on the `cluster` target: same lake and catalogue, other compute."""
    event_logs = tmp_path / "spark-events"
    event_logs.mkdir()
    with LocalSparkCluster(workers=2, cores=1, memory="2g") as cluster:
        run = paused_run(
            "pause:archive.after_rejects",
            *("nightly", "--target", "cluster", "--run-date", str(RUN_DATE)),
            env={
                **s3.env(),
                **CLUSTER_JVMS,
                "SPARK_MASTER": cluster.master_url,
                "SPARK_EVENT_LOG_DIR": str(event_logs),
                "PYSPARK_PYTHON": sys.executable,
                "MOVIE_RECS_RETRY_BACKOFF_S": "10",
            },
        )
        server = _stop_the_store_at_the_archive_write(run)
        run.wait_for_log("the S3 object store unreachable, retry in")
        server.start()
        code, log = run.finish()
        master = cluster.state()  # once: the app moves from active to completed
        apps = master["completedapps"] + master["activeapps"]
    assert code == 0, log[-3000:]
    assert "resuming at task archive" in log
    assert s3.secret_key not in log
    version = s3_checks.assert_recommendations_complete()
    assert version.startswith(f"als-{RUN_DATE:%Y%m%d}-")
    assert [version] != state["published_before"][0]
    assert s3_checks.events_everywhere(state["since"]) == GENERATED + state["injected"]

    # the night's lake is in the bucket: the published table, the model, its metrics
    recs = keys_under(s3, "lake/warehouse/movie_recs.db/fct_recommendations/")
    assert any("_delta_log/" in k and k.endswith(".json") for k in recs)
    assert any(k.endswith(".parquet") for k in recs)
    model = keys_under(s3, f"lake/models/{version}/")
    assert any("/als/" in k for k in model) and any("/metrics/" in k for k in model)
    metrics = s3_checks.metrics(f"nightly-{RUN_DATE}")
    assert metrics["ndcg_at_10"] > 0 and metrics["user_coverage"] == 1.0
    reasons = dict(
        s3_checks.sql(
            "select source_key::bigint, reason from rejected_events"
            " where source_table = 'rt_user_interactions'"
        )
    )
    assert reasons == {event_id: spec[-1] for event_id, spec in bad_events.items()}

    # the application ran on the master, with both workers' executors
    assert [app["name"] for app in apps] == ["movie-recs"]
    per_executor = tasks_per_executor(event_logs)
    assert "driver" not in per_executor
    assert len(per_executor) >= 2 and all(n > 0 for n in per_executor.values())
    # with code generation, as real nights run, and the executors on the options given
    environment = next(logged_events(event_logs, "SparkListenerEnvironmentUpdate"))
    properties = environment["Spark Properties"]
    assert properties["spark.sql.codegen.wholeStage"] == "true"
    assert properties["spark.sql.codegen.factoryMode"] == "FALLBACK"
    # (after the module options Spark adds to every JVM's)
    executor_options = CLUSTER_JVMS["SPARK_EXECUTOR_JAVA_OPTIONS"]
    assert properties["spark.executor.extraJavaOptions"].endswith(f" {executor_options}")


def test_plain_dbt_build_on_s3_runs_the_python_models(cli, s3, s3_env, s3_checks, tmp_path):
    log_prefix = "lake/warehouse/movie_recs.db/dim_movie_genres/_delta_log/"
    before = set(keys_under(s3, log_prefix))
    published = s3_checks.published_set()
    cli("dbt", "build", "--target", "s3", "--target-path", str(tmp_path), env=s3_env, check=True)
    results = json.loads((tmp_path / "run_results.json").read_text())
    status = {r["unique_id"]: r["status"] for r in results["results"]}
    assert status["model.movie_recs.dim_movie_genres"] == "success"
    assert status["model.movie_recs.fct_recommendations"] == "success"
    assert set(keys_under(s3, log_prefix)) - before, "the Python model wrote no Delta commit"
    table = s3_checks.delta("warehouse/movie_recs.db/fct_recommendations")
    assert {r[0] for r in table.select("model_version").distinct().collect()} == {"manual"}
    assert s3_checks.published_set() == published  # dbt by hand builds, it does not publish
