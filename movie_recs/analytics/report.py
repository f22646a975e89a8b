"""The analysts' report: an HTML page with four plots, from the metric models.

1. CTR over time per variant, with 95% Wilson bands (fct_ctr_daily);
2. each variant's CTR lift over the control with its 95% interval
   (unpooled Wald interval of the difference; fct_ab_test_results);
3. CTR by position per variant (fct_ctr_by_position);
4. the offline metrics of past runs (model_performance_logs).
"""

from __future__ import annotations

import html
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
import pandas as pd

from movie_recs.analytics.ab_stats import wilson_interval
from movie_recs.db.copy import read_frame
from movie_recs.services.postgres import PgSettings

Z95 = 1.959963984540054
OFFLINE_METRICS = (
    "ndcg_at_10",
    "popularity_ndcg_at_10",
    "random_ndcg_at_10",
    "user_coverage",
    "catalog_coverage",
)


def _save(fig, out: Path, name: str) -> str:
    fig.tight_layout()
    fig.savefig(out / name, dpi=110)
    plt.close(fig)
    return name


def plot_ctr_over_time(daily: pd.DataFrame, out: Path) -> str:
    fig, ax = plt.subplots(figsize=(8, 4))
    per_day = daily.groupby(["served_date", "variant"], as_index=False)[
        ["impressions", "clicks"]
    ].sum()
    for variant, rows in per_day.groupby("variant"):
        rows = rows.sort_values("served_date")
        ctr = rows["clicks"] / rows["impressions"]
        bands = [
            wilson_interval(int(c), int(n))
            for c, n in zip(rows["clicks"], rows["impressions"], strict=True)
        ]
        ax.plot(rows["served_date"], ctr, marker="o", label=variant)
        ax.fill_between(
            rows["served_date"], [b[0] for b in bands], [b[1] for b in bands], alpha=0.2
        )
    ax.set(title="CTR per day and variant (95% Wilson band)", ylabel="CTR")
    ax.legend()
    fig.autofmt_xdate()
    return _save(fig, out, "ctr_over_time.png")


def plot_lift(ab: pd.DataFrame, out: Path) -> str:
    fig, ax = plt.subplots(figsize=(8, 3))
    rows = ab[(ab["metric"] == "ctr") & ~ab["is_control"]].reset_index(drop=True)
    for i, row in rows.iterrows():
        control_rate = row["control_successes"] / row["control_trials"]
        se = math.sqrt(
            row["rate"] * (1 - row["rate"]) / row["trials"]
            + control_rate * (1 - control_rate) / row["control_trials"]
        )
        ax.errorbar(row["abs_lift"], i, xerr=Z95 * se, fmt="o", capsize=6)
        ax.annotate(f"p = {row['p_value']:.3g}", (row["abs_lift"], i), xytext=(8, 8),
                    textcoords="offset points")  # fmt: skip
    ax.axvline(0, color="grey", linestyle="--")
    ax.set_yticks(range(len(rows)), [f"{v} vs {c}" for v, c in zip(rows["variant"],
                                     rows["control_variant"], strict=True)])  # fmt: skip
    ax.set(title="CTR lift over the control (95% interval)", xlabel="absolute lift in CTR")
    return _save(fig, out, "ctr_lift.png")


def plot_ctr_by_position(by_position: pd.DataFrame, out: Path) -> str:
    fig, ax = plt.subplots(figsize=(8, 4))
    for variant, rows in by_position.groupby("variant"):
        rows = rows.sort_values("position")
        ax.plot(rows["position"], rows["ctr"], marker="o", label=variant)
        ax.fill_between(rows["position"], rows["ctr_ci_low"], rows["ctr_ci_high"], alpha=0.2)
    ax.set(title="CTR by position on the page", xlabel="position", ylabel="CTR")
    ax.legend()
    return _save(fig, out, "ctr_by_position.png")


def plot_offline_metrics(offline: pd.DataFrame, out: Path) -> str:
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for name, rows in offline.groupby("metric_name"):
        ax = axes[0] if "ndcg" in name else axes[1]
        rows = rows.sort_values("computed_at")
        ax.plot(rows["computed_at"], rows["metric_value"], marker="o", label=name)
    axes[0].set(title="NDCG@10 per run: model and baselines")
    axes[1].set(title="Coverage per run")
    for ax in axes:
        ax.legend()
        ax.tick_params(axis="x", labelrotation=30)
    return _save(fig, out, "offline_metrics.png")


def build_report(spark, pg: PgSettings, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    daily = spark.table("movie_recs.fct_ctr_daily").toPandas()
    if daily.empty:
        raise ValueError("no impressions yet: run simulate-serving and a nightly first")
    ab = spark.table("movie_recs.fct_ab_test_results").toPandas()
    by_position = spark.table("movie_recs.fct_ctr_by_position").toPandas()
    with pg.transaction() as cur:
        offline = read_frame(
            cur,
            "select run_id, metric_name, metric_value, computed_at from model_performance_logs"
            " where variant is null and metric_name = any(%s)",
            (list(OFFLINE_METRICS),),
        )
    plots = [
        plot_ctr_over_time(daily, out),
        plot_lift(ab, out),
        plot_ctr_by_position(by_position, out),
        plot_offline_metrics(offline, out),
    ]
    table = ab[["metric", "variant", "trials", "successes", "rate", "ci_low", "ci_high",
                "abs_lift", "rel_lift", "p_value", "is_sample_sufficient"]]  # fmt: skip
    page = REPORT_HTML.format(
        images="\n".join(f'<figure><img src="{html.escape(p)}" alt="{p}"></figure>' for p in plots),
        table=table.to_html(index=False, float_format=lambda v: f"{v:.4g}"),
        window=html.escape(f"{ab['window_start'].min()} to {ab['window_end'].max()}")
        if not ab.empty
        else "no A/B window",
    )
    path = out / "index.html"
    path.write_text(page)
    return path


# `data-plots-rendered` counts the plots the browser decoded: tests read it.
REPORT_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>movie-recs: recommendation metrics</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}} img{{max-width:100%}}
table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:.2em .5em}}</style>
</head><body data-plots-rendered="0">
<h1>Recommendation metrics</h1>
<p>A/B window: {window}</p>
{table}
{images}
<script>
window.addEventListener("load", () => {{
  const ok = [...document.images].filter(i => i.complete && i.naturalWidth > 0).length;
  document.body.dataset.plotsRendered = String(ok);
}});
</script>
</body></html>
"""
