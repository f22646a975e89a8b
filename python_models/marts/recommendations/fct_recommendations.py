"""Top-k movies per active user from Spark MLlib ALS; one row per (user, rank).

The training itself lives in movie_recs.model.als (importable and testable);
this model wires it to the dbt graph and to the run's vars.
"""

from pyspark.sql import functions as F

from movie_recs.lake.spark import lake_root
from movie_recs.model.als import AlsParams, train_and_recommend
from movie_recs.model.evaluation import EvalSpec


def model(dbt, session):
    dbt.config(materialized="table")
    params = AlsParams.from_vars(dbt.config.get)
    spec = EvalSpec.from_vars(dbt.config.get)
    model_version = dbt.config.get("model_version")
    scores = dbt.ref("int_user_movie_scores_aggregated")
    active_users = dbt.ref("stg_pipeline__active_users")
    model_dir = f"{lake_root(session)}/models/{model_version}"

    recommendations, _ = train_and_recommend(session, scores, active_users, params, spec, model_dir)
    return recommendations.select(
        F.col("user_id").cast("bigint").alias("user_id"),
        F.col("rank").cast("int").alias("rank"),
        F.col("movie_id").cast("bigint").alias("movie_id"),
        F.col("score").cast("double").alias("score"),
        F.lit(model_version).alias("model_version"),
        F.current_timestamp().alias("generated_at"),
    )
