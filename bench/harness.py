"""What the benchmarks share: measuring a command, and running the project in a
state folder of the benchmark's own.

Peak memory is the largest sum of resident memory over the command's process tree
(Python driver, Spark's JVM, Spark's Python workers), sampled every 0.2 s.
Servers the command talks to but did not start (PostgreSQL, the S3 server) are
not in it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from movie_recs.settings import PROJECT_ROOT

PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_rss_bytes: int
    output: str


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        tree.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return tree


def _resident(pid: int) -> tuple[str, int] | None:
    """(executable, resident bytes) of a process, None if it has ended."""
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
        return exe, int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except OSError:
        return None


def tree_rss(root: int) -> int:
    """Resident memory of a process tree. A child caught while being spawned
    (the parent's executable and resident size: it shares the parent's pages
    until it runs its own program) is not counted again."""
    tree, total, todo = _children(), 0, [(root, None)]
    while todo:
        pid, parent = todo.pop()
        mine = _resident(pid)
        if mine and mine != parent:
            total += mine[1]
        todo.extend((child, mine) for child in tree.get(pid, []))
    return total


def run_measured(argv: list[str], env: dict | None = None) -> Measured:
    """Run to completion from the project root (a non-zero exit raises, with the
    output), sampling memory."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    peak, output = 0, []
    reader = threading.Thread(target=lambda: output.extend(proc.stdout), daemon=True)
    reader.start()
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(0.2)
    reader.join()
    seconds = time.perf_counter() - started
    text = "".join(output)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv} exited {proc.returncode}:\n{text[-4000:]}")
    return Measured(seconds, peak, text)


# --- the project, run as a user would, in a state folder of the benchmark's own

ORCHESTRATE = [sys.executable, str(PROJECT_ROOT / "orchestrate.py")]
MOVIELENS_SMALL = str(PROJECT_ROOT.parent / "shared/data/movielens/ml-latest-small")
USERS_PER_EVENT, MOVIES_PER_EVENT = 160_000 / 25e6, 60_000 / 25e6  # MovieLens-25M

# Python for a bare script's SparkSession: the project's jars and settings, an
# in-memory catalogue; `lake` is the script's first argument
BARE_SESSION = r"""
import sys
from pyspark.sql import SparkSession, Window, functions as F
from pyspark.ml.recommendation import ALS
from movie_recs.lake.spark import spark_conf

builder = SparkSession.builder
for key, value in spark_conf("local").items():
    if "javax.jdo" not in key:
        builder = builder.config(key, value)
spark = builder.config("spark.sql.catalogImplementation", "in-memory").getOrCreate()
lake = sys.argv[1]
"""


def isolated_env(name: str, pg_port: int) -> dict[str, str]:
    """Environment for a state folder and PostgreSQL port of the benchmark's own,
    so that the demo's state is left alone."""
    state = PROJECT_ROOT / ".state" / name
    state.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "MOVIE_RECS_STATE": str(state), "MOVIE_RECS_PG_PORT": str(pg_port)}


def pg_env(env: dict[str, str]) -> dict[str, str]:
    """The PG* variables of that state's PostgreSQL (`orchestrate.py env`)."""
    exports = run_measured([*ORCHESTRATE, "env"], env).output
    return dict(
        line.removeprefix("export ").split("=", 1)
        for line in exports.splitlines()
        if line.startswith("export PG")
    )


def demo_sizes(events: int) -> tuple[int, int]:
    """Users and movies for this many events, in MovieLens-25M's proportions."""
    return round(events * USERS_PER_EVENT), round(events * MOVIES_PER_EVENT)


def demo_data_argv(events: int) -> list[str]:
    users, movies = demo_sizes(events)
    return [*ORCHESTRATE, "demo-data", "--events", str(events),
            "--users", str(users), "--movies", str(movies)]  # fmt: skip


def last_run(env: dict[str, str]) -> dict:
    """The latest run's record (`orchestrate.py status --json`)."""
    out = run_measured([*ORCHESTRATE, "status", "--json", "--limit", "1"], env).output
    return json.loads(out[out.index("[") :])[0]


def last_run_tasks(env: dict[str, str]) -> dict[str, dict]:
    """The latest run's task records, by task name (the last attempt of each)."""
    return {task["task"]: task for task in last_run(env)["tasks"]}
