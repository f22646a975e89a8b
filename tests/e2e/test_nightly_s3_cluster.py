"""The `cluster` target: the nightly on a Spark standalone cluster, lake on S3.

Runs after the s3 story (file order) on its inputs: a master and two workers
from the installed pyspark on loopback, the night rerun against them, and the
event log read back to check that the executors, not the driver, ran the tasks.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta

from movie_recs.services.spark_cluster import LocalSparkCluster

DAY3 = (datetime.now(UTC) + timedelta(days=1)).date()


def tasks_per_executor(event_logs) -> Counter:
    done: Counter = Counter()
    # Spark 4 writes a folder per application: events_<n>_<app> files (and status files)
    for path in event_logs.rglob("events_*"):
        for line in path.read_text().splitlines():
            event = json.loads(line)
            if event["Event"] == "SparkListenerTaskEnd":
                done[event["Task Info"]["Executor ID"]] += 1
    return done


def test_nightly_on_a_standalone_cluster(cli, s3, s3_checks, tmp_path):
    event_logs = tmp_path / "spark-events"
    event_logs.mkdir()
    before = s3_checks.assert_recommendations_complete()
    with LocalSparkCluster(workers=2, cores=1, memory="2g") as cluster:
        env = {
            **s3.env(),
            "SPARK_MASTER": cluster.master_url,
            "SPARK_EVENT_LOG_DIR": str(event_logs),
            "PYSPARK_PYTHON": sys.executable,
        }
        result = cli("nightly", "--target", "cluster", "--run-date", str(DAY3), "--force", env=env)
        apps = cluster.state()["completedapps"] + cluster.state()["activeapps"]
    assert result.returncode == 0, result.stderr[-4000:]
    assert s3.secret_key not in result.stdout + result.stderr

    version = s3_checks.assert_recommendations_complete()
    assert version != before and version.startswith(f"als-{DAY3:%Y%m%d}-")
    # the application ran on the master, with both workers' executors
    assert [app["name"] for app in apps] == ["movie-recs"]
    per_executor = tasks_per_executor(event_logs)
    assert "driver" not in per_executor
    assert len(per_executor) >= 2 and all(n > 0 for n in per_executor.values())
