"""Task 4: the gate. Nothing is published unless every check passes.

Checks the model's offline metrics (RMSE under var max_rmse for explicit ALS;
NDCG@10 at least min_ndcg_at_10, and at least min_ndcg_at_10_vs_random /
_vs_popularity times the baselines' on the same split), user coverage
(share of active users with their full list, var min_user_coverage), catalogue
coverage (share of the catalogue recommended to someone, var
min_catalog_coverage), and the Great Expectations export suite on the exact
table version that publish will export.
"""

from __future__ import annotations

from pyspark.sql import functions as F

from movie_recs.lake.landing import LANDING_SCHEMA
from movie_recs.pipeline.context import RunContext, TaskResult
from movie_recs.pipeline.expectations import ExportExpectations, list_summary, validate_export
from movie_recs.pipeline.tasks.active_users import ACTIVE_USERS
from movie_recs.pipeline.tasks.train import RECOMMENDATIONS_TABLE


class GateFailed(RuntimeError):
    """A validation check failed; the message names every failed check."""

    def __init__(self, failures: list[str]) -> None:
        self.failures = failures
        super().__init__("validation gate failed: " + "; ".join(failures))


def latest_version(spark, table: str) -> int:
    return spark.sql(f"describe history {table} limit 1").first()["version"]


def expected_list_lengths(spark, top_k: int, catalogue):
    """Per active user: how many recommendations the catalogue (movie_id)
    permits (<= top_k): the matrix's movies still in it, less those the user
    has seen."""
    matrix = spark.table("movie_recs.int_user_movie_scores_aggregated").join(
        F.broadcast(catalogue), "movie_id", "left_semi"
    )
    n_movies = matrix.select("movie_id").distinct().count()
    seen = matrix.groupBy("user_id").agg(F.count("*").alias("n_seen"))
    return (
        spark.table(ACTIVE_USERS)
        .select("user_id")
        .join(seen, "user_id", "left")
        .select(
            "user_id",
            F.least(F.lit(top_k), F.lit(n_movies) - F.coalesce("n_seen", F.lit(0))).alias(
                "n_expected"
            ),
        )
    )


def offline_metric_failures(metrics: dict, run_vars: dict) -> list[str]:
    """The evaluation's gates; a missing metric fails its gate."""
    failures = []
    if str(run_vars["als_implicit"]).lower() != "true":
        rmse, max_rmse = metrics.get("rmse"), float(run_vars["max_rmse"])
        if rmse is None or not rmse <= max_rmse:
            failures.append(f"rmse: {rmse} is not <= max_rmse {max_rmse}")
    ndcg = metrics.get("ndcg_at_10")
    floor = float(run_vars["min_ndcg_at_10"])
    if ndcg is None or not ndcg >= floor:
        failures.append(f"ndcg_at_10: {ndcg} is not >= min_ndcg_at_10 {floor}")
    for baseline in ("random", "popularity"):
        ratio = float(run_vars[f"min_ndcg_at_10_vs_{baseline}"])
        theirs = metrics.get(f"{baseline}_ndcg_at_10")
        if ratio > 0 and (ndcg is None or theirs is None or not ndcg >= ratio * theirs):
            failures.append(
                f"ndcg_at_10: {ndcg} is not >= {ratio} x the {baseline} baseline's {theirs}"
                f" (min_ndcg_at_10_vs_{baseline})"
            )
    return failures


def run(ctx: RunContext) -> TaskResult:
    spark = ctx.spark
    top_k = int(ctx.vars["top_k"])
    version = latest_version(spark, RECOMMENDATIONS_TABLE)
    rows = spark.read.option("versionAsOf", version).table(RECOMMENDATIONS_TABLE).cache()

    failures = []
    wrong_version = rows.where(F.col("model_version") != ctx.model_version).count()
    if wrong_version:
        failures.append(f"model_version: {wrong_version} rows not from {ctx.model_version}")

    failures += offline_metric_failures(ctx.facts, ctx.vars)

    catalog = spark.table(f"{LANDING_SCHEMA}.movies").select("movie_id")
    expected = expected_list_lengths(spark, top_k, catalog).cache()
    n_active = expected.count()
    lists = list_summary(rows).cache()  # the coverage's and the suite's
    n_complete = (
        expected.join(lists.select("user_id", "n_rows"), "user_id", "left")
        .where(F.coalesce("n_rows", F.lit(0)) == F.col("n_expected"))
        .count()
    )
    user_coverage = n_complete / n_active if n_active else 0.0
    min_user_coverage = float(ctx.vars["min_user_coverage"])
    if user_coverage < min_user_coverage:
        failures.append(
            f"user_coverage: {user_coverage:.4f} < min_user_coverage {min_user_coverage}"
        )

    n_catalog = catalog.count()
    n_recommended = rows.select("movie_id").distinct().count()
    catalog_coverage = n_recommended / n_catalog if n_catalog else 0.0
    min_catalog_coverage = float(ctx.vars["min_catalog_coverage"])
    if catalog_coverage < min_catalog_coverage:
        failures.append(
            f"catalog_coverage: {catalog_coverage:.4f} < min_catalog_coverage "
            f"{min_catalog_coverage}"
        )

    spec = ExportExpectations(
        top_k=top_k,
        expected_rows=int(expected.agg(F.sum("n_expected")).first()[0] or 0),
        known_movies=catalog,
        active_users=expected,
    )
    failures += [f"great_expectations: {line}" for line in validate_export(rows, spec, lists)]
    n_rows = rows.count()
    rows.unpersist()
    lists.unpersist()
    expected.unpersist()

    ctx.facts.update(user_coverage=user_coverage, catalog_coverage=catalog_coverage)
    if failures:
        raise GateFailed(failures)
    return TaskResult(
        rows_in=n_rows,
        rows_out=n_rows,
        metrics={
            "user_coverage": user_coverage,
            "catalog_coverage": catalog_coverage,
            "recommendation_rows": float(n_rows),
            # what publish exports, also when a rerun resumes at publish
            "recommendations_version": version,
        },
    )
