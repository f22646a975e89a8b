"""Great Expectations suites, as code: the export gate on recommendation rows.

Runs on the exact Spark DataFrame that publish will export, in an ephemeral
context (nothing written to disk).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame

# any finite double passes; NaN and +-infinity do not
FINITE_LIMIT = 1.0e300


@dataclass(frozen=True)
class ExportExpectations:
    top_k: int
    expected_rows: int
    known_movie_ids: list[int]
    active_user_ids: list[int]


def export_suite(spec: ExportExpectations):
    import great_expectations as gx
    from great_expectations import expectations as gxe

    return gx.ExpectationSuite(
        name="batch_recommendations_export",
        expectations=[
            *[
                gxe.ExpectColumnValuesToNotBeNull(column=c)
                for c in ("user_id", "rank", "movie_id", "score", "model_version", "generated_at")
            ],
            gxe.ExpectColumnValuesToBeBetween(column="rank", min_value=1, max_value=spec.top_k),
            gxe.ExpectColumnValuesToBeBetween(
                column="score", min_value=-FINITE_LIMIT, max_value=FINITE_LIMIT
            ),
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["user_id", "rank"]),
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["user_id", "movie_id"]),
            gxe.ExpectColumnValuesToBeInSet(column="movie_id", value_set=spec.known_movie_ids),
            gxe.ExpectColumnValuesToBeInSet(column="user_id", value_set=spec.active_user_ids),
            gxe.ExpectTableRowCountToEqual(value=spec.expected_rows),
        ],
    )


def validate_export(frame: DataFrame, spec: ExportExpectations) -> list[str]:
    """Run the export suite; return one line per failed expectation (empty: passed)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_spark(name="recommendations")
    asset = source.add_dataframe_asset(name="export")
    batch = asset.add_batch_definition_whole_dataframe("rows").get_batch(
        batch_parameters={"dataframe": frame}
    )
    result = batch.validate(export_suite(spec))
    failures = []
    for outcome in result.results:
        if not outcome.success:
            config = outcome.expectation_config
            kwargs = {k: v for k, v in config.kwargs.items() if k not in ("value_set", "batch_id")}
            observed = outcome.result.get("observed_value", outcome.result.get("unexpected_count"))
            failures.append(f"{config.type}({kwargs}): observed {observed}")
    return failures
