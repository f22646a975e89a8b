"""Fixtures: the real services, each started by the suite in its own state folder.

Tests never use a server from the caller's PG*/AWS_* variables (they would
truncate its tables): they start a private PostgreSQL cluster and S3Proxy on
their own ports, under `.state/pytest/`, and stop them at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from movie_recs.settings import PROFILES_DIR, PROJECT_ROOT, QUICK_JIT_OPTIONS

# pytest runs two pytest-xdist workers (gw0, gw1; see pyproject.toml), each
# with its own state folder and ports, so their stories never share a server.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_PORT_OFFSET = 10 * int(WORKER.removeprefix("gw") or 0)
TEST_STATE = PROJECT_ROOT / ".state" / "pytest" / WORKER
TEST_PG_PORT = 55439 + _PORT_OFFSET
TEST_S3_PORT = 59009 + _PORT_OFFSET
CLI_TIMEOUT_S = 900

for name in list(os.environ):
    if name.startswith("PG") or name.startswith("AWS_") or name in ("DBT_TARGET", "LAKE_ROOT"):
        del os.environ[name]
os.environ.update(
    MOVIE_RECS_STATE=str(TEST_STATE),
    MOVIE_RECS_PG_PORT=str(TEST_PG_PORT),
    MOVIE_RECS_S3_PORT=str(TEST_S3_PORT),
    MOVIE_RECS_RETRY_BACKOFF_S="1",
    SPARK_DRIVER_MEMORY="2g",
    SPARK_SHUFFLE_PARTITIONS="2",  # two cores: fewer, larger tasks
    # The suite's JVMs are short-lived and its tables tiny: no code generation,
    # and the JIT's quick compiler only (its optimising one costs more than it
    # saves here), with the code cache it would have had (48 MB alone: its
    # sweeper then cost 20 s a night) and a deeper stack (ALS's deep task
    # lineage). A small night: 160 CPU-s instead of 230 (BENCHMARKS.md,
    # benchmark 6). The s3 story's cluster night generates code as real nights do.
    SPARK_CODEGEN="false",
    SPARK_DRIVER_JAVA_OPTIONS=QUICK_JIT_OPTIONS,
)


@pytest.fixture(scope="session", autouse=True)
def fresh_state():
    from movie_recs.services.postgres import LocalPostgres
    from movie_recs.services.s3 import LocalS3Proxy

    # a previous run killed half-way may have left its servers up
    LocalPostgres().destroy()
    LocalS3Proxy().stop()
    shutil.rmtree(TEST_STATE, ignore_errors=True)
    TEST_STATE.mkdir(parents=True)
    yield TEST_STATE
    LocalPostgres().stop()
    LocalS3Proxy().stop()


@pytest.fixture(scope="session")
def pg(fresh_state):
    from movie_recs.db.migrate import migrate
    from movie_recs.services.postgres import ensure_postgres

    settings = ensure_postgres()
    migrate(settings)
    return settings


@pytest.fixture(scope="session")
def s3(fresh_state):
    from movie_recs.services.s3 import ensure_s3

    return ensure_s3()


@pytest.fixture(scope="session")
def spark(fresh_state):
    """An in-process SparkSession with Delta, on an in-memory catalogue.

    The end-to-end tests run the pipeline in subprocesses, which own the Derby
    metastores; this session reads lake tables by path only.
    """
    from pyspark.sql import SparkSession

    from movie_recs.lake.spark import spark_conf

    builder = SparkSession.builder
    for key, value in spark_conf("local").items():
        if "javax.jdo" not in key:
            builder = builder.config(key, value)
    # with the s3 target's jars: it also reads that target's lake (tests/e2e)
    profiles = yaml.safe_load((PROFILES_DIR / "profiles.yml").read_text())
    s3_jars = profiles["movie_recs"]["outputs"]["s3"]["server_side_parameters"]["spark.jars"]
    builder = builder.config("spark.jars", s3_jars)
    os.chdir(PROJECT_ROOT)
    session = builder.config("spark.sql.catalogImplementation", "in-memory").getOrCreate()
    yield session
    session.stop()


@pytest.fixture
def archive_lake(spark, tmp_path):
    """The event archive in a lake of the test's own (the session's lake is the e2e tests')."""
    from movie_recs.lake.archive import ARCHIVE_TABLE
    from movie_recs.lake.spark import LAKE_ROOT_KEY

    lake = spark.conf.get(LAKE_ROOT_KEY)
    spark.conf.set(LAKE_ROOT_KEY, str(tmp_path))
    yield spark
    spark.sql(f"drop table if exists {ARCHIVE_TABLE}")
    spark.conf.set(LAKE_ROOT_KEY, lake)


def _argv(args: tuple[str, ...]) -> list[str]:
    if args[0] == "dbt":
        return [
            str(Path(sys.executable).parent / "dbt"),
            *args[1:],
            "--profiles-dir",
            str(PROJECT_ROOT / "profiles"),
        ]
    return [sys.executable, str(PROJECT_ROOT / "orchestrate.py"), *args]


def run_cli(*args: str, env: dict[str, str] | None = None, check: bool = False):
    """Run a project command (orchestrate.py or dbt) as a user would, and capture it."""
    result = subprocess.run(
        _argv(args),
        cwd=PROJECT_ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited {result.returncode}\n{result.stdout[-5000:]}\n"
            f"{result.stderr[-5000:]}"
        )
    return result


@pytest.fixture(scope="session")
def cli():
    """`cli("nightly", "--run-date", ...)` or `cli("dbt", "build", ...)`."""
    return run_cli


class PausedRun:
    """A command started with `MOVIE_RECS_FAULT=pause:<point>` (see pipeline/faults.py).

    The test waits for it to reach the point, breaks something (stops a
    service), lets it go on, and reads its log as it is written.
    """

    def __init__(self, workdir: Path, args: tuple[str, ...], faults: str, env: dict) -> None:
        self.marker = workdir / "paused"
        self.log_path = workdir / "stderr.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 (closed in finish)
        self.process = subprocess.Popen(
            _argv(args),
            cwd=PROJECT_ROOT,
            env={
                **os.environ,
                **env,
                "MOVIE_RECS_FAULT": faults,
                "MOVIE_RECS_FAULT_MARKER": str(self.marker),
            },
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )

    def log(self) -> str:
        return self.log_path.read_text()

    def _wait(self, condition, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"never {what}; log tail:\n{self.log()[-4000:]}")
            time.sleep(0.2)

    def wait_paused(self, timeout: float = 600) -> None:
        self._wait(self.marker.exists, "paused", timeout)

    def resume(self) -> None:
        self.marker.unlink()

    def wait_for_log(self, text: str, timeout: float = 300) -> None:
        self._wait(lambda: text in self.log(), f"logged {text!r}", timeout)

    def finish(self, timeout: float = CLI_TIMEOUT_S) -> tuple[int, str]:
        try:
            code = self.process.wait(timeout=timeout)
        finally:
            self._log.close()
        return code, self.log()


@pytest.fixture
def paused_run(tmp_path):
    """`paused_run(faults, "nightly", ..., env={})`: a PausedRun, started."""

    def start(faults: str, *args: str, env: dict[str, str] | None = None) -> PausedRun:
        return PausedRun(tmp_path, args, faults, env or {})

    return start


@pytest.fixture
def record_attempt(pg):
    """`record_attempt(run_id, run_date, task, status, details, attempt=1)` writes
    one `pipeline_runs` row, as a night's task attempt would."""

    def record(run_id, run_date, task, status, details, attempt=1) -> None:
        with pg.transaction() as cur:
            cur.execute(
                "insert into pipeline_runs (run_id, run_date, task, attempt, status,"
                " started_at, details) values (%s, %s, %s, %s, %s, now(), %s)",
                (run_id, run_date, task, attempt, status, json.dumps(details)),
            )

    return record
