"""Great Expectations suites, as code, each run in an ephemeral context
(nothing written to disk):

- the landed inputs (`snapshot_suite`, `day_volume_suite`): the events
  snapshot's columns and types, its share of rejects, and the day's events
  against recent nights';
- the export gate (`export_suite`): on the exact Spark DataFrame that publish
  will export.

Membership (every user active, every movie in the catalogue) is an anti-join
against the sets as Spark tables, not `ExpectColumnValuesToBeInSet`: that one
puts the set's values into the query plan, and with 160,000 users and 60,000
movies (MovieLens-25M's size) the two took 112 s of the gate's 127 s; the
anti-joins take 2 s (BENCHMARKS.md, benchmark 5).

Uniqueness ((user_id, rank) and (user_id, movie_id)) is checked per user, on
a summary of each user's list, not with `ExpectCompoundColumnsToBeUnique`:
that one partitions every row by its pair in a window, once per pair (8M
rows: about 9 s warm of a 14 s suite); one aggregation by user serves both
checks, and the gate's coverage too.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

# NaN, +-infinity and magnitudes past 1e300 fail; any score ALS can give passes
# (dot products of factors that regularisation keeps small)
FINITE_LIMIT = 1.0e300


@dataclass(frozen=True)
class ExportExpectations:
    top_k: int
    expected_rows: int
    known_movies: DataFrame  # movie_id: the catalogue
    active_users: DataFrame  # user_id: who gets a list tonight


# the sets' names in the suite's queries (temporary views of the session)
KNOWN_MOVIES_VIEW, ACTIVE_USERS_VIEW = "export_known_movies", "export_active_users"
LISTS_VIEW = "export_lists"


def list_summary(frame: DataFrame) -> DataFrame:
    """(user_id, n_rows, repeated_ranks, repeated_movies) per user of `frame`:
    how many of a user's non-null ranks and movies repeat one already in the
    user's list (0 when every (user_id, rank) and (user_id, movie_id) is unique;
    nulls are the not-null checks' to catch)."""

    def repeated(column: str):
        return F.count(column) - F.size(F.array_distinct(F.collect_list(column)))

    return frame.groupBy("user_id").agg(
        F.count("*").alias("n_rows"),
        repeated("rank").alias("repeated_ranks"),
        repeated("movie_id").alias("repeated_movies"),
    )


def not_in(column: str, view: str) -> str:
    """The batch's rows whose non-null `column` is missing from `view`."""
    return (
        f"select b.* from {{batch}} b left anti join {view} s on b.{column} = s.{column}"
        f" where b.{column} is not null"
    )


def repeats_in_lists(what: str) -> str:
    """The users whose list repeats a `what` (rank or movie), from the batch's
    summary. Great Expectations prints a warning for every query that does not
    name `{batch}`; this one names it in a comment, as what the summary is of."""
    return f"/* summary of {{batch}} */ select * from {LISTS_VIEW} where repeated_{what}s > 0"


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
            # publish loads these two once per set, not once per row
            *[
                gxe.ExpectColumnUniqueValueCountToBeBetween(
                    column=c, max_value=1, description=f"one {c} per set"
                )
                for c in ("model_version", "generated_at")
            ],
            # unexpected rows: the users whose list repeats one
            *[
                gxe.UnexpectedRowsExpectation(
                    description=f"no user's list repeats a {what}",
                    unexpected_rows_query=repeats_in_lists(what),
                )
                for what in ("rank", "movie")
            ],
            gxe.UnexpectedRowsExpectation(
                description="movie_id is in the catalogue",
                unexpected_rows_query=not_in("movie_id", KNOWN_MOVIES_VIEW),
            ),
            gxe.UnexpectedRowsExpectation(
                description="user_id is an active user",
                unexpected_rows_query=not_in("user_id", ACTIVE_USERS_VIEW),
            ),
            gxe.ExpectTableRowCountToEqual(value=spec.expected_rows),
        ],
    )


# the landed events snapshot's columns, as Spark types them (PostgreSQL's
# bigint, text, double precision and timestamptz, read over JDBC)
SNAPSHOT_TYPES = {
    "event_id": "LongType",
    "user_id": "LongType",
    "movie_id": "LongType",
    "event_type": "StringType",
    "rating": "DoubleType",
    "event_ts": "TimestampType",
}


def snapshot_suite(max_reject_share: float):
    """The landed events snapshot: its columns and types, and its share of rejects."""
    import great_expectations as gx
    from great_expectations import expectations as gxe

    return gx.ExpectationSuite(
        name="landed_events",
        expectations=[
            gxe.ExpectTableColumnsToMatchSet(column_set=list(SNAPSHOT_TYPES), exact_match=False),
            *[
                gxe.ExpectColumnValuesToBeOfType(column=c, type_=t)
                for c, t in SNAPSHOT_TYPES.items()
            ],
            gxe.ExpectColumnValuesToBeNull(
                column="reject_reason",
                mostly=1 - max_reject_share,
                description=f"rejected events at most {max_reject_share:g} of the snapshot"
                " (max_reject_share)",
            ),
        ],
    )


def day_volume_suite(low: int, high: int):
    """The run's day's events, against the range recent nights' counts give."""
    import great_expectations as gx
    from great_expectations import expectations as gxe

    return gx.ExpectationSuite(
        name="day_events",
        expectations=[
            gxe.ExpectTableRowCountToBeBetween(
                min_value=low,
                max_value=high,
                description=f"the day's events between {low} and {high}: recent nights'"
                " median divided and multiplied by input_volume_ratio",
            )
        ],
    )


def validate_export(
    frame: DataFrame, spec: ExportExpectations, lists: DataFrame | None = None
) -> list[str]:
    """Run the export suite; return one line per failed expectation (empty: passed).
    `lists` is `list_summary(frame)`, when the caller has it cached already."""
    spec.known_movies.select("movie_id").createOrReplaceTempView(KNOWN_MOVIES_VIEW)
    spec.active_users.select("user_id").createOrReplaceTempView(ACTIVE_USERS_VIEW)
    (list_summary(frame) if lists is None else lists).createOrReplaceTempView(LISTS_VIEW)
    return failed_expectations(frame, export_suite(spec))


def failed_expectations(frame: DataFrame, suite) -> list[str]:
    """Run `suite` on `frame`; one line per failed expectation (empty: passed)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    # Not persisted: Great Expectations would cache the batch and never release
    # it, holding the landed snapshot in the JVM for the rest of the night (and
    # caching it cost the first task about 5 s at 25M events, BENCHMARKS.md,
    # benchmark 5). Callers cache what they reuse.
    source = context.data_sources.add_spark(name="spark", persist=False)
    asset = source.add_dataframe_asset(name=suite.name)
    batch = asset.add_batch_definition_whole_dataframe("rows").get_batch(
        batch_parameters={"dataframe": frame}
    )
    # A passing suite needs only pass/fail. Counting and sampling the unexpected
    # rows costs time on every night (8M rows: 20.8 s with them, 12.6 s
    # without), so they are computed only when something failed, for the message,
    # and only for the expectations that failed.
    result = batch.validate(suite, result_format="BOOLEAN_ONLY")
    if result.success:
        return []
    failed_suite = gx.ExpectationSuite(
        name=suite.name,
        expectations=[
            outcome.expectation_config.to_domain_obj()
            for outcome in result.results
            if not outcome.success
        ],
    )
    result = batch.validate(failed_suite, result_format="SUMMARY")
    failures = []
    for outcome in result.results:
        if not outcome.success:
            config = outcome.expectation_config
            # the SQL expectations are named by what they check, not by their query
            what = config.description or {k: v for k, v in config.kwargs.items() if k != "batch_id"}
            observed = outcome.result.get("observed_value", outcome.result.get("unexpected_count"))
            failures.append(f"{config.type}({what}): observed {observed}")
    return failures
