"""Every run's JVM maps the class-data archive `make setup` creates, and starts
without it when it is missing."""

from __future__ import annotations

import os
import subprocess
import sys

from movie_recs.lake.class_archive import archive_path
from movie_recs.lake.spark import spark_conf
from movie_recs.settings import PROJECT_ROOT

# starts the profile's session and prints its JVM's options
START_A_SESSION = (
    "from movie_recs.lake.spark import get_spark; spark = get_spark('local');"
    " spark.sql('select 1').collect();"
    " print(spark._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()"
    ".getInputArguments())"
)


def _start_session(class_archive_option: str, tmp_path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "MOVIE_RECS_STATE": str(tmp_path),
        "MOVIE_RECS_CLASS_ARCHIVE_OPTION": class_archive_option,
    }
    return subprocess.run(
        [sys.executable, "-c", START_A_SESSION],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_the_profiles_jvm_maps_the_archive(tmp_path):
    archive = archive_path(spark_conf("local"))
    assert archive is not None and archive.is_file(), "run `make setup`"
    # -Xshare:on: the JVM refuses to start unless it can map the archive
    # (made for other jars or another JVM, it could not)
    started = _start_session(f"-XX:SharedArchiveFile={archive} -Xshare:on", tmp_path)
    assert started.returncode == 0, started.stderr[-3000:]
    assert f"-XX:SharedArchiveFile={archive}" in started.stdout
    assert "-Xshare:on" in started.stdout
    # beside the options of SPARK_DRIVER_JAVA_OPTIONS (the suite's: tests/conftest.py)
    for option in os.environ["SPARK_DRIVER_JAVA_OPTIONS"].split():
        assert option in started.stdout, option


def test_a_jvm_starts_without_the_archive(tmp_path):
    started = _start_session(f"-XX:SharedArchiveFile={tmp_path}/missing.jsa", tmp_path)
    assert started.returncode == 0, started.stderr[-3000:]
    assert f"-XX:SharedArchiveFile={tmp_path}/missing.jsa" in started.stdout
    assert "shared archive" not in started.stderr.lower()
