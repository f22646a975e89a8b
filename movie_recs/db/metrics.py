"""`model_performance_logs`: a run's metrics, replaced as a whole on a rerun."""

from __future__ import annotations

from psycopg2.extras import execute_values


def replace_run_metrics(cur, run_id: str, rows: list[tuple], *, per_variant: bool) -> None:
    """Replace the run's offline (variant null) or per-variant metrics with `rows`:
    (run_id, model_version, variant, metric_name, metric_value, window_start,
    window_end, computed_at). Runs inside the caller's transaction."""
    variant_filter = "variant is not null" if per_variant else "variant is null"
    cur.execute(
        f"delete from model_performance_logs where run_id = %s and {variant_filter}", (run_id,)
    )
    execute_values(
        cur,
        "insert into model_performance_logs (run_id, model_version, variant, metric_name,"
        " metric_value, window_start, window_end, computed_at) values %s",
        rows,
    )
