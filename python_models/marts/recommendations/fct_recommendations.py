"""Top-k movies per active user from Spark MLlib ALS; one row per (user, rank).

The training itself lives in movie_recs.model.als (importable and testable);
this model wires it to the dbt graph and to the run's vars.
"""

from pyspark.sql import functions as F

from movie_recs.lake.spark import lake_root
from movie_recs.model.als import AlsParams, train_and_recommend
from movie_recs.model.evaluation import EvalSpec
from movie_recs.model.unchanged_users import last_nights_lists


def model(dbt, session):
    dbt.config(materialized="table")
    # dbt hands a Python model only the config keys it finds as literal
    # dbt.config.get("...") calls in this file
    run_vars = {
        "als_rank": dbt.config.get("als_rank"),
        "als_max_iter": dbt.config.get("als_max_iter"),
        "als_reg_param": dbt.config.get("als_reg_param"),
        "als_implicit": dbt.config.get("als_implicit"),
        "als_implicit_rank": dbt.config.get("als_implicit_rank"),
        "als_implicit_reg_param": dbt.config.get("als_implicit_reg_param"),
        "als_alpha": dbt.config.get("als_alpha"),
        "als_seed": dbt.config.get("als_seed"),
        "top_k": dbt.config.get("top_k"),
        "top_k_block_users": dbt.config.get("top_k_block_users"),
        "als_base_model": dbt.config.get("als_base_model"),
        "eval_split": dbt.config.get("eval_split"),
        "test_fraction": dbt.config.get("test_fraction"),
        "eval_max_users": dbt.config.get("eval_max_users"),
    }
    params = AlsParams.from_vars(run_vars.get)
    spec = EvalSpec.from_vars(run_vars.get)
    model_version = dbt.config.get("model_version")
    scores = dbt.ref("int_user_movie_scores_aggregated")
    active_users = dbt.ref("stg_pipeline__active_users")
    models = f"{lake_root(session)}/models"
    # set by the nightly on the nights between full refits (als_refit_every_days)
    base_model = run_vars["als_base_model"]
    # last night's lists, read before this model's output replaces them
    previous = last_nights_lists(session, str(dbt.this))

    recommendations, _ = train_and_recommend(
        session, scores, active_users, params, spec, f"{models}/{model_version}",
        base_model_dir=f"{models}/{base_model}" if base_model else None,
        previous=previous, catalogue=dbt.ref("stg_app__movies").select("movie_id"),
    )  # fmt: skip
    return recommendations.select(
        F.col("user_id").cast("bigint").alias("user_id"),
        F.col("rank").cast("int").alias("rank"),
        F.col("movie_id").cast("bigint").alias("movie_id"),
        F.col("score").cast("double").alias("score"),
        F.lit(model_version).alias("model_version"),
        F.current_timestamp().alias("generated_at"),
    )
