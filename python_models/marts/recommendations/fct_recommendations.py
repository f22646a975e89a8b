"""Top-k movies per active user from Spark MLlib ALS; one row per (user, rank).

The training itself lives in movie_recs.model.als (importable and testable);
this model wires it to the dbt graph and to the run's vars.
"""

from pyspark.sql import functions as F

from movie_recs.lake.spark import lake_root
from movie_recs.model.als import AlsParams, train_and_recommend


def model(dbt, session):
    dbt.config(materialized="table")
    params = AlsParams(
        rank=int(dbt.config.get("als_rank")),
        max_iter=int(dbt.config.get("als_max_iter")),
        reg_param=float(dbt.config.get("als_reg_param")),
        seed=int(dbt.config.get("als_seed")),
        test_fraction=float(dbt.config.get("test_fraction")),
        top_k=int(dbt.config.get("top_k")),
    )
    model_version = dbt.config.get("model_version")
    scores = dbt.ref("int_user_movie_scores_aggregated")
    active_users = dbt.ref("stg_pipeline__active_users")
    model_dir = f"{lake_root(session)}/models/{model_version}"

    recommendations, _ = train_and_recommend(session, scores, active_users, params, model_dir)
    return recommendations.select(
        F.col("user_id").cast("bigint").alias("user_id"),
        F.col("rank").cast("int").alias("rank"),
        F.col("movie_id").cast("bigint").alias("movie_id"),
        F.col("score").cast("double").alias("score"),
        F.lit(model_version).alias("model_version"),
        F.current_timestamp().alias("generated_at"),
    )
