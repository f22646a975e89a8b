"""A/B results: one row per metric and variant, each compared with the control.

Metrics: ctr (clicked impressions / impressions) and watch_rate (watched
impressions / impressions), over the var ab_window_days before the run's
as_of. The statistics live in movie_recs.analytics.ab_stats.
"""

from dataclasses import asdict

import pandas as pd
from pyspark.sql import functions as F

from movie_recs.analytics.ab_stats import compare

METRICS = {"ctr": "is_clicked", "watch_rate": "is_watched"}


def model(dbt, session):
    dbt.config(materialized="table")
    control = dbt.config.get("ab_control_variant")
    alpha = float(dbt.config.get("ab_alpha"))
    mde = float(dbt.config.get("ab_min_detectable_effect"))
    as_of = dbt.config.get("as_of")
    window_end = pd.Timestamp(as_of) if as_of else pd.Timestamp.now(tz="UTC").normalize()
    window_end = window_end.tz_localize(None) if window_end.tzinfo else window_end
    window_start = window_end - pd.Timedelta(days=int(dbt.config.get("ab_window_days")))

    counts = (
        dbt.ref("fct_impressions")
        .where((F.col("served_at") >= window_start) & (F.col("served_at") < window_end))
        .groupBy("variant")
        .agg(
            F.count("*").alias("impressions"),
            *[F.sum(F.col(c).cast("long")).alias(m) for m, c in METRICS.items()],
        )
        .toPandas()
        .set_index("variant")
    )
    rows = []
    if control in counts.index:
        for metric in METRICS:
            base = (int(counts.at[control, metric]), int(counts.at[control, "impressions"]))
            for variant in counts.index:
                arm = (int(counts.at[variant, metric]), int(counts.at[variant, "impressions"]))
                result = asdict(compare(base, arm, mde, alpha))
                rows.append(
                    {
                        "metric": metric,
                        "variant": variant,
                        "control_variant": control,
                        "is_control": variant == control,
                        "control_trials": base[1],
                        "control_successes": base[0],
                        **result,
                        "window_start": window_start,
                        "window_end": window_end,
                    }
                )
    schema = (
        "metric string, variant string, control_variant string, is_control boolean,"
        " control_trials long, control_successes long, trials long, successes long,"
        " rate double, ci_low double, ci_high double, abs_lift double, rel_lift double,"
        " z double, p_value double, required_trials double, is_sample_sufficient boolean,"
        " window_start timestamp, window_end timestamp"
    )
    return (
        session.createDataFrame(pd.DataFrame(rows), schema=schema)
        if rows
        else (session.createDataFrame([], schema))
    )
