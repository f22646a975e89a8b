"""Task 3: `dbt build` of the project for this run (models, seeds, tests),
except the analytics models, which run after publishing.

Runs in-process through dbtRunner, on the run's SparkSession; the ALS model
is the dbt Python model `fct_recommendations`.
"""

from __future__ import annotations

from movie_recs.dbt import run_dbt
from movie_recs.lake.spark import lake_root
from movie_recs.model.als import read_model_metrics
from movie_recs.pipeline.context import RunContext, TaskResult

RECOMMENDATIONS_TABLE = "movie_recs.fct_recommendations"


def model_dir(ctx: RunContext) -> str:
    return f"{lake_root(ctx.spark)}/models/{ctx.model_version}"


def run(ctx: RunContext) -> TaskResult:
    run_dbt(["build", "--exclude", "tag:analytics"], ctx.target, ctx.dbt_vars())
    metrics = read_model_metrics(ctx.spark, model_dir(ctx))
    n_rows = ctx.spark.table(RECOMMENDATIONS_TABLE).count()
    return TaskResult(
        rows_in=int(metrics["matrix_pairs"]),
        rows_out=n_rows,
        # model_version: a rerun that resumes after this task reuses the model
        metrics={"model_version": ctx.model_version}
        | {k: v for k, v in metrics.items() if v is not None},
    )
