"""Benchmark 1: the dbt Python model `fct_recommendations` vs a bare PySpark script.

    .venv/bin/python bench/als_step_vs_bare.py

Needs a local lake built by a nightly (e.g. after `load-movielens` of
ml-latest-small). Both sides run as a fresh process, so both pay for Python,
the JVM and Spark's start:
- dbt: `dbt run --select fct_recommendations` with the project's vars (the
  model evaluates on a held-out split against two baselines, then refits on
  everything and writes the top 50 per active user);
- bare: `spark-submit`-style script that reads the same matrix and active
  users, fits the same ALS once and writes the same top 50 (unseen movies).
Prints both wall times, dbt's own time for the node, the model's evaluation
time (its run metrics' `evaluation_seconds`), and two ratios: dbt / bare as
run, and (dbt - evaluation) / bare for the same work (target <= 1.10).
"""

from __future__ import annotations

import subprocess
import sys
import time

from harness import BARE_SESSION

from movie_recs.settings import PROJECT_ROOT, state_dir

EVALUATION_SECONDS = (
    BARE_SESSION
    + r"""
from movie_recs.model.records import read_model_metrics
print(read_model_metrics(spark, f"{lake}/models/manual")["evaluation_seconds"])
"""
)

BARE = (
    BARE_SESSION
    + r"""
matrix = "warehouse/movie_recs.db/int_user_movie_scores_aggregated"
scores = spark.read.format("delta").load(f"{lake}/{matrix}")
scores = scores.select(F.col("user_id").cast("int"), F.col("movie_id").cast("int"),
                       F.col("score").cast("float")).cache()
users = spark.read.format("delta").load(f"{lake}/pipeline/active_users").select(
    F.col("user_id").cast("int")).distinct()
model = ALS(rank=50, maxIter=10, regParam=0.1, implicitPrefs=True, alpha=0.5, seed=42,
            userCol="user_id", itemCol="movie_id", ratingCol="score").fit(scores)
max_seen = scores.groupBy("user_id").count().agg(F.max("count")).first()[0]
recs = model.recommendForUserSubset(users, 50 + max_seen).select(
    "user_id", F.explode("recommendations").alias("r")).select(
    "user_id", F.col("r.movie_id").alias("movie_id"), F.col("r.rating").alias("score"))
recs = recs.join(scores.select("user_id", "movie_id"), ["user_id", "movie_id"], "left_anti")
ranked = recs.withColumn("rank", F.row_number().over(
    Window.partitionBy("user_id").orderBy(F.desc("score"), "movie_id"))).where("rank <= 50")
ranked.write.format("delta").mode("overwrite").save(f"{lake}/bench/bare_top50")
"""
)


def timed(argv: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(argv, cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, result.stdout


def main() -> None:
    lake = str(state_dir() / "lake")
    dbt = str(PROJECT_ROOT / ".venv/bin/dbt")
    t_dbt, out = timed([dbt, "run", "--select", "fct_recommendations",
                        "--profiles-dir", "profiles", "--target", "local"])  # fmt: skip
    t_bare, _ = timed([sys.executable, "-c", BARE, lake])
    _, printed = timed([sys.executable, "-c", EVALUATION_SECONDS, lake])
    t_eval = float(printed.strip().splitlines()[-1])
    node = next((line for line in out.splitlines() if "OK created python" in line), "")
    print(f"dbt run fct_recommendations  {t_dbt:7.1f} s   ({node.split('[')[-1].rstrip(']')})")
    print(f"  of which the evaluation     {t_eval:7.1f} s")
    print(f"bare PySpark script           {t_bare:7.1f} s")
    print(f"ratio dbt / bare              {t_dbt / t_bare:7.2f}")
    print(f"same work (dbt - evaluation)  {(t_dbt - t_eval) / t_bare:7.2f}   (target <= 1.10)")


if __name__ == "__main__":
    main()
