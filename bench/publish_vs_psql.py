"""Benchmark 3: the publish step vs `COPY ... FROM STDIN` by psql, same rows.

    .venv/bin/python bench/publish_vs_psql.py [ROWS]     # default 1,000,000

Both write the same rows into a PostgreSQL of the benchmark's own (state
folder `.state/bench-publish`, port 55439):
- publish: the publish task's own path from a Delta table of the rows
  (written before the clock starts) in the pipeline's Spark session: Spark's
  Python workers format the rows' own columns as CSV, one transaction COPYs
  them into a fresh table (the model version and generation time every row
  shares as its defaults), builds its keys, swaps it in and writes the
  metrics;
- psql: `psql -c "copy batch_recommendations ... from stdin"` of a CSV
  file holding the rows (written before the clock starts), into the emptied
  table.
Prints rows per second for each and the ratio publish / psql (target >= 0.8),
best of three runs each, publish's PostgreSQL side alone (the CSV text
formatted beforehand, as psql's is), and peak memory (RSS) of this Python
process (the JVM's and the Python workers' are not in it).
"""

from __future__ import annotations

import dataclasses
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from harness import isolated_env

from movie_recs.db.migrate import migrate
from movie_recs.lake.spark import get_spark
from movie_recs.pipeline.tasks.publish import COLUMNS, read_set, replace_recommendations
from movie_recs.services.postgres import ensure_postgres

TOP_K = 50


def rows(n_rows: int) -> pd.DataFrame:
    user, rank = np.divmod(np.arange(n_rows), TOP_K)
    return pd.DataFrame({
        "user_id": user + 1, "rank": (rank + 1).astype(np.int32),
        "movie_id": (user * 7919 + rank * 104729) % 60_000 + 1, "score": 1.0 / (rank + 1),
        "model_version": "als-20261129-023446", "generated_at": pd.Timestamp(datetime.now(UTC)),
    })  # fmt: skip


def best_of(runs: int, fn) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main(n_rows: int) -> None:
    os.environ.update(isolated_env("bench-publish", 55439))
    pg = ensure_postgres()
    migrate(pg)
    frame = rows(n_rows)
    folder = tempfile.mkdtemp()
    path = f"{folder}/rows.csv"
    frame.to_csv(path, header=False, index=False)
    spark = get_spark("local")
    # laid out as the model writes fct_recommendations: a file per shuffle partition
    files = int(spark.conf.get("spark.sql.shuffle.partitions"))
    spark.createDataFrame(frame).repartition(files).write.format("delta").save(f"{folder}/rows")
    table = spark.read.format("delta").load(f"{folder}/rows").select(*COLUMNS)
    env = {**os.environ, **pg.env()}

    in_hand = read_set(table)
    in_hand = dataclasses.replace(in_hand, csv=list(in_hand.csv))

    def publish() -> None:
        replace_recommendations(pg, read_set(table), "bench", [])

    def publish_in_hand() -> None:
        replace_recommendations(pg, in_hand, "bench", [])

    def psql() -> None:
        subprocess.run(["psql", "-q", "-c", "truncate batch_recommendations"], env=env, check=True)
        with open(path) as stdin:
            subprocess.run(
                ["psql", "-q", "-c",
                 f"copy batch_recommendations ({', '.join(COLUMNS)}) from stdin with (format csv)"],
                stdin=stdin, env=env, check=True,
            )  # fmt: skip

    t_psql = best_of(3, psql)
    t_publish = best_of(3, publish)
    t_in_hand = best_of(3, publish_in_hand)
    shutil.rmtree(folder)
    with pg.transaction() as cur:
        cur.execute("delete from batch_recommendations")
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(f"rows {n_rows:,}")
    print(f"psql COPY FROM STDIN  {n_rows / t_psql:>12,.0f} rows/s  ({t_psql:.2f} s)")
    print(f"publish from the lake {n_rows / t_publish:>12,.0f} rows/s  ({t_publish:.2f} s)")
    print(f"  its PostgreSQL side {n_rows / t_in_hand:>12,.0f} rows/s  ({t_in_hand:.2f} s)")
    print(f"ratio publish / psql  {t_psql / t_publish:.2f}"
          f"   (PostgreSQL side {t_psql / t_in_hand:.2f})   peak RSS {peak_gb:.2f} GB")  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
