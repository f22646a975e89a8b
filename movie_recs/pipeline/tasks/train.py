"""Task 3: `dbt build` of the project for this run (models, seeds, tests),
except the analytics models, which run after publishing.

Runs in-process through dbtRunner, on the run's SparkSession; the ALS model
is the dbt Python model `fct_recommendations`. With `als_refit_every_days` N
above 1, a night within N-1 days of the last published full fit folds its
users into that fit's model instead of refitting (movie_recs.model.fold_in).
"""

from __future__ import annotations

from movie_recs.dbt import WITHOUT_UNIT_TESTS, run_dbt
from movie_recs.lake.spark import lake_root
from movie_recs.model.records import read_model_metrics
from movie_recs.pipeline.context import RunContext, TaskResult
from movie_recs.pipeline.runs import last_published_full_fit

RECOMMENDATIONS_TABLE = "movie_recs.fct_recommendations"

# The recommendations' dbt data tests (not null, rank range, unique per user and
# rank or movie, known users and movies) are the export gate's expectations
# too, which the validate task runs on the exact table version publish exports.
# CI's plain `dbt build` runs them; the nightly checks once (10 s at 8M rows).
CHECKED_BY_EXPORT_GATE = "fct_recommendations,resource_type:test"
# The archive's ids: not null by the table's constraint, which Delta enforces
# on every write, and archived once, which the archive task checks on the ids
# it moves (17 s a night at 25M events when dbt reads the whole archive).
CHECKED_BY_ARCHIVE_TASK = "source:lake.archived_events,resource_type:test"
# Everything but the two checks above and what is tagged analytics: the
# analytics models, built after publishing, and the serving logs' source tests,
# so that a problem in the analytics' inputs does not hold back the night's list.
DBT_SELECTION = ("--exclude", "tag:analytics", CHECKED_BY_EXPORT_GATE, CHECKED_BY_ARCHIVE_TASK)


def model_dir(ctx: RunContext) -> str:
    return f"{lake_root(ctx.spark)}/models/{ctx.model_version}"


def base_model(ctx: RunContext) -> str | None:
    """The model version of the last published full fit within the refit
    interval before this run's date, if any."""
    every = int(ctx.vars["als_refit_every_days"])
    return last_published_full_fit(ctx.pg, ctx.run_date, every) if every > 1 else None


def run(ctx: RunContext) -> TaskResult:
    base = base_model(ctx)
    run_dbt(
        ["build", *DBT_SELECTION, *WITHOUT_UNIT_TESTS],
        ctx.target,
        ctx.vars,
        ctx.run_values() | {"als_base_model": base or ""},
    )
    metrics = read_model_metrics(ctx.spark, model_dir(ctx))
    n_rows = ctx.spark.table(RECOMMENDATIONS_TABLE).count()
    return TaskResult(
        rows_in=int(metrics["matrix_pairs"]),
        rows_out=n_rows,
        # model_version: a rerun that resumes after this task reuses the model
        metrics={"model_version": ctx.model_version}
        # the model refits instead when tonight's ALS parameters differ from the base's
        | ({"base_model_version": base} if metrics.get("folded_in") else {})
        | {k: v for k, v in metrics.items() if v is not None},
    )
