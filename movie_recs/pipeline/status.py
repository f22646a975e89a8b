"""What the last runs did: tasks, attempts, timings, row counts, and metrics."""

from __future__ import annotations

import json
from typing import Any

from movie_recs.services.postgres import PgSettings


def recent_runs(pg: PgSettings, limit: int = 5) -> list[dict[str, Any]]:
    with pg.transaction() as cur:
        cur.execute(
            "select run_id, max(run_date) from pipeline_runs group by run_id"
            " order by max(started_at) desc limit %s",
            (limit,),
        )
        runs = [{"run_id": r[0], "run_date": r[1].isoformat(), "tasks": []} for r in cur]
        for run in runs:
            cur.execute(
                "select task, attempt, status, started_at, finished_at, rows_in, rows_out,"
                " rows_rejected, details, error from pipeline_runs where run_id = %s"
                " order by started_at, attempt",
                (run["run_id"],),
            )
            for task, attempt, status, started, finished, r_in, r_out, r_rej, det, err in cur:
                run["tasks"].append(
                    {
                        "task": task,
                        "attempt": attempt,
                        "status": status,
                        "started_at": started.isoformat(),
                        "seconds": round((finished - started).total_seconds(), 1)
                        if finished
                        else None,
                        "rows_in": r_in,
                        "rows_out": r_out,
                        "rows_rejected": r_rej,
                        "details": det,
                        "error": err,
                    }
                )
            cur.execute(
                "select model_version, metric_name, metric_value from model_performance_logs"
                " where run_id = %s and variant is null order by metric_name",
                (run["run_id"],),
            )
            metrics = cur.fetchall()
            run["model_version"] = metrics[0][0] if metrics else None
            run["metrics"] = {name: value for _, name, value in metrics}
    return runs


def format_runs(runs: list[dict[str, Any]], as_json: bool = False) -> str:
    if as_json:
        return json.dumps(runs, indent=2)
    if not runs:
        return "no nightly runs recorded yet"
    lines = []
    for run in runs:
        lines.append(f"{run['run_id']}  model {run['model_version'] or '-'}")
        for t in run["tasks"]:
            lines.append(
                f"  {t['task']:<13} #{t['attempt']} {t['status']:<9} "
                f"{t['seconds'] if t['seconds'] is not None else '-':>7}s  "
                f"in={t['rows_in']} out={t['rows_out']} rejected={t['rows_rejected']}"
                + (f"\n      error: {t['error'].splitlines()[0][:160]}" if t["error"] else "")
            )
        for name, value in run["metrics"].items():
            lines.append(f"  {name:<30} {value:.6g}")
    return "\n".join(lines)
