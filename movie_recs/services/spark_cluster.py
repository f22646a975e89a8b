"""A Spark standalone cluster on loopback, from the installed pyspark.

For the `cluster` target's test and for trying that target on one machine: a
master and N workers, each a `spark-class` process with its own log under
`<state>/spark-cluster/`. A real cluster needs none of this: set SPARK_MASTER.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pyspark

from movie_recs.settings import env_int, state_dir

START_TIMEOUT_S = 90


class LocalSparkCluster:
    def __init__(self, workers: int = 2, cores: int = 1, memory: str = "2g") -> None:
        self.workers = workers
        self.cores = cores
        self.memory = memory
        self.port = env_int("MOVIE_RECS_SPARK_MASTER_PORT", 57077)
        self.ui_port = env_int("MOVIE_RECS_SPARK_MASTER_UI_PORT", 58080)
        self.root = state_dir() / "spark-cluster"
        self._processes: list[subprocess.Popen] = []

    @property
    def master_url(self) -> str:
        return f"spark://127.0.0.1:{self.port}"

    def _spawn(self, name: str, args: list[str]) -> None:
        spark_class = Path(pyspark.__file__).parent / "bin" / "spark-class"
        env = {**os.environ, "SPARK_HOME": str(spark_class.parent.parent)}
        env.update(SPARK_LOCAL_IP="127.0.0.1", SPARK_WORKER_DIR=str(self.root / "work"))
        with open(self.root / f"{name}.log", "ab") as log:
            self._processes.append(
                subprocess.Popen(
                    [str(spark_class), *args],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=env,
                    start_new_session=True,
                )
            )

    def state(self) -> dict:
        """The master's own view: workers, applications, executors' cores."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ui_port}/json/", timeout=5) as r:
            return json.load(r)

    def start(self) -> LocalSparkCluster:
        self.root.mkdir(parents=True, exist_ok=True)
        self._spawn(
            "master",
            ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
             "--port", str(self.port), "--webui-port", str(self.ui_port)],
        )  # fmt: skip
        for i in range(self.workers):
            self._spawn(
                f"worker-{i}",
                ["org.apache.spark.deploy.worker.Worker", self.master_url, "--host", "127.0.0.1",
                 "--cores", str(self.cores), "--memory", self.memory, "--webui-port", "0"],
            )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                alive = [w for w in self.state()["workers"] if w["state"] == "ALIVE"]
                if len(alive) == self.workers:
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline or any(p.poll() is not None for p in self._processes):
                self.stop()
                raise RuntimeError(f"the Spark cluster did not come up; see {self.root}/*.log")
            time.sleep(0.5)

    def stop(self) -> None:
        for process in self._processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self._processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        self._processes.clear()

    def __enter__(self) -> LocalSparkCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
