"""Benchmark 1: the dbt Python model `fct_recommendations` vs a bare PySpark script.

    .venv/bin/python bench/als_step_vs_bare.py [MOVIELENS_FOLDER]   # default ml-latest-small

In a state folder of its own, loads the MovieLens ratings and runs a nightly
for the lake both sides read. Then both run as a fresh process, so both pay
for Python, the JVM and Spark's start:
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

import re
import sys

from harness import BARE_SESSION, MOVIELENS_SMALL, ORCHESTRATE, isolated_env, run_measured

from movie_recs.settings import PROJECT_ROOT

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


def main(movielens: str) -> None:
    env = isolated_env("bench-als-step", 55438)
    run_measured([*ORCHESTRATE, "load-movielens", movielens], env)
    run_measured([*ORCHESTRATE, "nightly", "--force"], env)
    lake = env["MOVIE_RECS_STATE"] + "/lake"
    dbt = str(PROJECT_ROOT / ".venv/bin/dbt")
    dbt_run = run_measured([dbt, "run", "--select", "fct_recommendations",
                            "--profiles-dir", "profiles", "--target", "local"], env)  # fmt: skip
    t_dbt = dbt_run.seconds
    t_bare = run_measured([sys.executable, "-c", BARE, lake], env).seconds
    printed = run_measured([sys.executable, "-c", EVALUATION_SECONDS, lake], env).output
    t_eval = float(printed.strip().splitlines()[-1])
    node = re.search(r"OK created python.*OK\S* in ([0-9.]+)s", dbt_run.output)
    print(f"dbt run fct_recommendations  {t_dbt:7.1f} s   (the node {node[1] if node else '?'} s)")
    print(f"  of which the evaluation     {t_eval:7.1f} s")
    print(f"bare PySpark script           {t_bare:7.1f} s")
    print(f"ratio dbt / bare              {t_dbt / t_bare:7.2f}")
    print(f"same work (dbt - evaluation)  {(t_dbt - t_eval) / t_bare:7.2f}   (target <= 1.10)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else MOVIELENS_SMALL)
