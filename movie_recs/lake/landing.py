"""Land PostgreSQL tables into the lake: Spark JDBC read, Delta write.

Landed tables live under `<lake>/landing/<table>` and are registered in the
metastore as `landing.<table>`, which is where dbt's `app` source reads them.
"""

from __future__ import annotations

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from movie_recs.identifiers import checked_identifier
from movie_recs.lake.spark import lake_root
from movie_recs.services.postgres import PgSettings

LANDING_SCHEMA = "landing"


def read_postgres(
    spark: SparkSession,
    pg: PgSettings,
    query_or_table: str,
    split_by: tuple[str, int, int] | None = None,
) -> DataFrame:
    """A table (or a parenthesised subquery with an alias) from PostgreSQL.

    `split_by` (an integer column and its rough bounds) reads it over one
    connection per core, each a range of that column; rows outside the bounds
    still come, with the first or last range.
    """
    reader = spark.read.format("jdbc")
    if split_by is not None:
        column, lowest, highest = split_by
        reader = (
            reader.option("partitionColumn", checked_identifier(column))
            .option("lowerBound", str(lowest))
            .option("upperBound", str(highest + 1))
            .option("numPartitions", str(spark.sparkContext.defaultParallelism))
        )
    return (
        reader.option("url", pg.jdbc_url)
        .option("dbtable", query_or_table)
        .option("user", pg.user)
        .option("password", pg.password)
        # the driver jar is on Spark's classloader, which DriverManager does not search
        .option("driver", "org.postgresql.Driver")
        .option("fetchsize", "10000")
        .load()
    )


def landing_path(spark: SparkSession, table: str) -> str:
    return f"{lake_root(spark)}/{LANDING_SCHEMA}/{checked_identifier(table)}"


def land_snapshot(spark: SparkSession, pg: PgSettings, table: str) -> None:
    """Replace `landing.<table>` with the table's current rows."""
    table = checked_identifier(table)
    frame = read_postgres(spark, pg, table).withColumn("_landed_at", F.current_timestamp())
    spark.sql(f"create schema if not exists {LANDING_SCHEMA}")
    (
        frame.write.format("delta")
        .mode("overwrite")
        .option("overwriteSchema", "true")
        .option("path", landing_path(spark, table))
        .saveAsTable(f"{LANDING_SCHEMA}.{table}")
    )


# The online service's ids come from one sequence, but concurrent writers
# commit out of order: a row may commit after one with a higher id was landed.
# Each landing reads the rows from this many ids below the highest landed one
# again, and keeps those not landed yet.
LATE_COMMIT_IDS = 100_000


def land_new_rows(spark: SparkSession, pg: PgSettings, table: str, key: str) -> int:
    """Append to `landing.<table>` the rows whose `key` is not landed yet: above
    the highest landed one, or within LATE_COMMIT_IDS below it (a late commit).

    The append is atomic, so a crash lands a batch whole or not at all.
    """
    table, key = checked_identifier(table), checked_identifier(key)
    target = f"{LANDING_SCHEMA}.{table}"
    spark.sql(f"create schema if not exists {LANDING_SCHEMA}")
    last = (
        spark.table(target).agg(F.max(key)).first()[0]
        if spark.catalog.tableExists(target)
        else None
    )
    if last is None:
        frame = read_postgres(spark, pg, table)
    else:
        low = int(last) - LATE_COMMIT_IDS
        recent = read_postgres(spark, pg, f"(select * from {table} where {key} > {low}) as recent")
        landed = spark.table(target).where(F.col(key) > low).select(key)
        frame = recent.join(landed, key, "left_anti")
    frame = frame.withColumn("_landed_at", F.current_timestamp()).cache()
    count = frame.count()
    (
        frame.write.format("delta")
        .mode("append")
        .option("path", landing_path(spark, table))
        .saveAsTable(target)
    )
    frame.unpersist()
    return count


def table_version(spark: SparkSession, table: str) -> tuple[str, int]:
    """(id, latest version) of a Delta table: which write of which table."""
    delta = DeltaTable.forName(spark, table)
    return delta.detail().first()["id"], delta.history(1).first()["version"]
