"""Benchmark 2: the whole nightly vs the seed's shape, one bare PySpark job.

    .venv/bin/python bench/nightly_vs_bare.py [EVENTS]      # default 1,000,000

On fresh demo data (default: 1M events in MovieLens-25M's proportions), both
as fresh processes, the bare job first (it only reads):
- bare: read the events (the lake's archive and PostgreSQL over JDBC),
  aggregate the same scores, fit the same ALS, take the top 50 unseen per user
  the simple way (recommendForAllUsers with 50 + the most seen, anti-join) and
  insert them into PostgreSQL with psycopg2; no archive, no rejects, no
  evaluation, no validation, no analytics, no run record;
- nightly: `orchestrate.py nightly --force`.
Prints both wall times and nightly / bare (target <= 1.3).
"""

from __future__ import annotations

import sys

from harness import BARE_SESSION, ORCHESTRATE, demo_data_argv, isolated_env, pg_env, run_measured

BARE = (
    BARE_SESSION
    + r"""
import os
import psycopg2
from psycopg2.extras import execute_values

pg = dict(host=os.environ["PGHOST"], port=os.environ["PGPORT"], user=os.environ["PGUSER"],
          password=os.environ["PGPASSWORD"], dbname=os.environ["PGDATABASE"])
columns = ["user_id", "movie_id", "event_type", "rating", "event_ts"]
recent = spark.read.jdbc(
    f"jdbc:postgresql://{pg['host']}:{pg['port']}/{pg['dbname']}", "rt_user_interactions",
    properties={"user": pg["user"], "password": pg["password"], "driver": "org.postgresql.Driver"},
).select(columns)
archived = spark.read.format("delta").load(f"{lake}/archived-events").select(columns)
events = archived.unionByName(recent)
weights = spark.createDataFrame(
    [("view", 1.0), ("click", 2.0), ("watchlist", 3.0), ("watch", 4.0), ("rate", 0.0)],
    "event_type string, weight double")
scores = events.join(weights, "event_type").groupBy("user_id", "movie_id").agg(
    F.coalesce(F.max_by("rating", F.when(F.col("event_type") == "rate", F.col("event_ts"))),
               F.least(F.sum("weight"), F.lit(5.0))).cast("float").alias("score"))
scores = scores.select(F.col("user_id").cast("int"), F.col("movie_id").cast("int"), "score").cache()
model = ALS(rank=50, maxIter=10, regParam=0.1, implicitPrefs=True, alpha=0.5, seed=42,
            userCol="user_id", itemCol="movie_id", ratingCol="score").fit(scores)
max_seen = scores.groupBy("user_id").count().agg(F.max("count")).first()[0]
recs = model.recommendForAllUsers(50 + max_seen).select(
    "user_id", F.explode("recommendations").alias("r")).select(
    "user_id", F.col("r.movie_id").alias("movie_id"), F.col("r.rating").alias("score"))
recs = recs.join(scores.select("user_id", "movie_id"), ["user_id", "movie_id"], "left_anti")
ranked = recs.withColumn("rank", F.row_number().over(
    Window.partitionBy("user_id").orderBy(F.desc("score"), "movie_id"))).where("rank <= 50")
with psycopg2.connect(**pg) as conn, conn.cursor() as cur:
    cur.execute("create table if not exists bench_bare_recommendations"
                " (user_id bigint, rank int, movie_id bigint, score double precision)")
    cur.execute("truncate bench_bare_recommendations")
    execute_values(cur, "insert into bench_bare_recommendations values %s",
                   ((r.user_id, r.rank, r.movie_id, r.score) for r in ranked.toLocalIterator()),
                   page_size=10000)
print(ranked.count())
"""
)


def main(events: int) -> None:
    env = isolated_env("bench-nightly-vs-bare", 55435)
    run_measured(demo_data_argv(events), env)
    bare = run_measured([sys.executable, "-c", BARE, env["MOVIE_RECS_STATE"] + "/lake"],
                        env | pg_env(env))  # fmt: skip
    nightly = run_measured([*ORCHESTRATE, "nightly", "--force"], env)
    print(f"demo data: {' '.join(demo_data_argv(events)[2:])}")
    for name, run in (("bare one-job script", bare), ("nightly", nightly)):
        print(f"{name:<21} {run.seconds:7.1f} s   peak {run.peak_rss_bytes / 1e9:.2f} GB")
    print(f"ratio nightly / bare  {nightly.seconds / bare.seconds:7.2f}   (target <= 1.3)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
