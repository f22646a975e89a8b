"""The JVM's class-data archive: Spark's classes parsed once, mapped by every run.

A run's JVM loads and verifies tens of thousands of classes (Spark SQL,
Delta, the Hive metastore client, Derby, MLlib) before its first task is
done: seconds of every run's start (benchmark 6). Java's class-data sharing
(CDS) keeps them pre-parsed in an archive file; the profile's
`-XX:SharedArchiveFile` maps it when it is there, and the JVM starts as before
when it is missing or was made for other jars (a warning says so).

    python -m movie_recs.lake.class_archive     # `make setup` runs it

creates the archive by running a small workload like a night's (metastore,
Delta writes, SQL, ALS, Arrow) in a throwaway state folder, in a JVM told to
archive the classes it loaded when it exits.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from movie_recs.lake.spark import spark_conf
from movie_recs.settings import PROJECT_ROOT, QUICK_JIT_OPTIONS

JAVA_OPTIONS_KEY = "spark.driver.extraJavaOptions"

WORKLOAD = r"""
from pyspark.ml.recommendation import ALS
from pyspark.sql import functions as F
from movie_recs.lake.spark import get_spark

spark = get_spark("local")
spark.sql("create schema if not exists landing")
events = spark.range(20000).select(
    (F.col("id") % 300).alias("user_id"), (F.col("id") % 97).alias("movie_id"),
    (F.col("id") % 5 + 1).cast("double").alias("rating"),
    F.timestamp_seconds(1_700_000_000 + F.col("id") * 60).alias("event_ts"))
events.write.format("delta").mode("overwrite").saveAsTable("landing.events")
(spark.table("landing.events").withColumn("event_date", F.to_date("event_ts"))
    .write.format("delta").partitionBy("event_date").mode("append").saveAsTable("landing.by_date"))
spark.sql("delete from landing.by_date where event_date < date'2023-11-15'")
scores = spark.sql(
    "select user_id, movie_id, max(rating) as score, row_number() over"
    " (partition by user_id order by max(rating) desc) as rank"
    " from landing.events group by user_id, movie_id")
scores.write.format("delta").mode("overwrite").saveAsTable("landing.scores")
model = ALS(rank=10, maxIter=2, userCol="user_id", itemCol="movie_id",
            ratingCol="score", implicitPrefs=True).fit(spark.table("landing.scores"))
model.recommendForUserSubset(spark.table("landing.scores").select("user_id").distinct(), 50).count()
spark.table("landing.scores").toArrow()
spark.stop()
"""


def archive_path(conf: dict[str, str]) -> Path | None:
    """The archive a target's JVM maps (its `-XX:SharedArchiveFile`), if any."""
    found = re.search(r"-XX:SharedArchiveFile=(\S+)", conf.get(JAVA_OPTIONS_KEY, ""))
    return PROJECT_ROOT / found.group(1) if found else None


def create() -> Path:
    """Write the local target's archive afresh; return its path."""
    archive = archive_path(spark_conf("local"))
    if archive is None:
        raise SystemExit(f"the local target sets no -XX:SharedArchiveFile in {JAVA_OPTIONS_KEY}")
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as state:
        env = {
            **os.environ,
            "MOVIE_RECS_STATE": state,
            # the profile's option for this JVM: write the archive at exit
            # instead of mapping it; the JIT's quick compiler only: the JIT
            # loads no classes, and this throwaway JVM runs 92 to 94 s with it,
            # 105 to 114 s without (BENCHMARKS.md, benchmark 6)
            "MOVIE_RECS_CLASS_ARCHIVE_OPTION": (
                f"-XX:ArchiveClassesAtExit={partial} {QUICK_JIT_OPTIONS}"
            ),
        }
        dump = subprocess.run(
            [sys.executable, "-c", WORKLOAD], cwd=PROJECT_ROOT, env=env,
            capture_output=True, text=True,
        )  # fmt: skip
    if dump.returncode != 0 or not partial.exists():
        raise SystemExit(f"creating {archive} failed:\n{dump.stdout[-2000:]}{dump.stderr[-4000:]}")
    partial.replace(archive)  # readers see the old archive or the new one, whole
    return archive


if __name__ == "__main__":
    print(f"class-data archive: {create()}")
