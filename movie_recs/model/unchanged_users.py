"""Lists an incremental night keeps: the users whose matrix rows did not change.

On a night that folds into a full fit's item factors, a user's factors come
from the user's own matrix row alone (movie_recs.model.fold_in), and the
user's top k from those factors, the same item factors and the same row (what
the user has seen). So when last night used the same item factors and the
user's row is the same as last night's, last night's list is what re-scoring
the user would give (up to float rounding: after a full fit the users'
factors are MLlib's), and the night re-scores only the others. Each night
saves a hash of every user's row beside its model (`user_rows`) for the next
night to compare with.
"""

from __future__ import annotations

import posixpath
from typing import NamedTuple

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from movie_recs.model.records import read_model_record

USER_ROWS = "user_rows"


def user_row_hashes(scores: DataFrame) -> DataFrame:
    """(user_id, row_hash, n_pairs): one hash of each user's (movie, score) pairs.
    Order-independent: a user has at most one pair per movie, and the XOR of
    their 64-bit hashes changes with any pair added, removed or re-scored."""
    return scores.groupBy("user_id").agg(
        F.bit_xor(F.xxhash64("movie_id", "score")).alias("row_hash"),
        F.count("*").alias("n_pairs"),
    )


def save_user_row_hashes(rows: DataFrame, model_dir: str) -> None:
    rows.write.format("delta").mode("overwrite").save(f"{model_dir}/{USER_ROWS}")


def last_nights_lists(spark: SparkSession, table: str) -> DataFrame | None:
    """The recommendations `table` as it is now, before tonight's lists replace
    it; None if it does not exist yet.

    Read by path at its current version, not by name: replacing a table drops
    every cached plan that reads it by name, so the users and pairs a fold-in
    night caches from last night's lists would all be computed again in the
    very write that replaces them (BENCHMARKS.md, benchmark 5). The version
    keeps any recomputation on last night's lists.
    """
    if not spark.catalog.tableExists(table):
        return None
    location = spark.sql(f"DESCRIBE DETAIL {table}").first()["location"]
    version = DeltaTable.forPath(spark, location).history(1).first()["version"]
    return spark.read.format("delta").option("versionAsOf", version).load(location)


class KeptLists(NamedTuple):
    users: DataFrame  # (user_id): cached
    lists: DataFrame  # their (user_id, rank, movie_id, score) rows


def kept_lists(
    previous: DataFrame | None,
    rows: DataFrame,
    users: DataFrame,
    *,
    model_dir: str,
    base_model_dir: str,
    top_k: int,
    left_out: list[int],
) -> KeptLists | None:
    """Tonight's `users` whose row hash is last night's and who had a list,
    with those lists' (user_id, rank, movie_id, score) rows; or None when last
    night's lists cannot stand for tonight's: none exist, they came from other
    item factors or another k, they are tonight's own earlier attempt, their
    model saved no row hashes, or a movie last night left out is a candidate
    again (it may belong in any list).

    `previous` is the recommendations table as last night left it, with its
    model_version; `rows` are tonight's row hashes; `left_out` the item
    factors' movies that are not candidates tonight (not in the catalogue): a
    list holding one is not kept.
    """
    if previous is None:
        return None
    first = previous.select("model_version").first()
    if first is None:
        return None
    previous_dir = f"{posixpath.dirname(model_dir)}/{first['model_version']}"
    spark = previous.sparkSession
    if previous_dir == model_dir or not DeltaTable.isDeltaTable(
        spark, f"{previous_dir}/{USER_ROWS}"
    ):
        return None
    params = read_model_record(spark, previous_dir).params
    folded_into = params.get("base_model_dir") or previous_dir
    if folded_into != base_model_dir or params.get("top_k") != top_k:
        return None
    # the same item factors as tonight's; None: a model saved before nights
    # recorded what they left out
    last_left_out = params.get("left_out_movies")
    if last_left_out is None or not set(last_left_out) <= set(left_out):
        return None
    previous_rows = spark.read.format("delta").load(f"{previous_dir}/{USER_ROWS}")
    # the types of movie_recs.model.top_k's rows, which tonight's re-scored users get
    previous = previous.select(
        F.col("user_id").cast("int"),
        F.col("rank").cast("int"),
        F.col("movie_id").cast("int"),
        F.col("score").cast("float"),
    )
    listed = previous.select("user_id").distinct()
    if left_out:
        gone = spark.createDataFrame([(m,) for m in left_out], "movie_id int")
        holding = previous.join(F.broadcast(gone), "movie_id", "left_semi").select("user_id")
        listed = listed.join(holding, "user_id", "left_anti")
    kept_users = (
        rows.join(previous_rows, ["user_id", "row_hash", "n_pairs"])
        .join(users, "user_id")
        .join(listed, "user_id")
        .select("user_id")
        .cache()
    )
    # Cached and counted, the users' size is known: the joins with last night's
    # lists and tonight's users then broadcast them while they fit Spark's
    # broadcast threshold, instead of shuffling every list (8M rows at 25M events).
    kept_users.count()
    return KeptLists(kept_users, previous.join(kept_users, "user_id"))
