"""`orchestrate.py tune`: a small, bounded sweep of ALS parameters.

Trains on the evaluation split of the matrix the last run built, scores each
combination with the nightly's own evaluation, prints a table and appends it
to `<lake>/tuning`. It never publishes anything.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, replace
from datetime import UTC, datetime

import pandas as pd
from pyspark.sql import DataFrame, SparkSession

from movie_recs.model.als import AlsParams, baseline_metrics, checked_matrix, model_metrics
from movie_recs.model.evaluation import EvalSpec, evaluation_users, held_out, split_pairs

MAX_COMBINATIONS = 36
GRID_PARAMS = {"rank": int, "reg_param": float, "alpha": float, "max_iter": int}
DEFAULT_GRID = {"rank": [10, 50, 100], "reg_param": [0.1, 1.0], "alpha": [0.5, 1.0, 5.0]}
SHOWN = [
    "ndcg_at_10", "recall_at_50", "precision_at_10", "map_at_10", "hit_rate_at_10",
    "catalog_coverage_at_50", "popular_share_at_50", "rmse",
]  # fmt: skip


def parse_grid(items: list[str]) -> dict[str, list]:
    """["rank=10,20", "alpha=1,40"] -> {"rank": [10, 20], "alpha": [1.0, 40.0]}."""
    grid: dict[str, list] = {}
    for item in items:
        name, sep, values = item.partition("=")
        if not sep or name not in GRID_PARAMS:
            raise ValueError(
                f"--grid takes NAME=V1,V2 with NAME in {sorted(GRID_PARAMS)}: {item!r}"
            )
        grid[name] = [GRID_PARAMS[name](v) for v in values.split(",") if v]
    return grid


def combinations(base: AlsParams, grid: dict[str, list]) -> list[AlsParams]:
    names = sorted(grid)
    combos = [
        replace(base, **dict(zip(names, values, strict=True)))
        for values in itertools.product(*(grid[n] for n in names))
    ]
    if not combos or len(combos) > MAX_COMBINATIONS:
        raise ValueError(
            f"the grid has {len(combos)} combinations; 1 to {MAX_COMBINATIONS} allowed"
        )
    return combos


def tune(matrix: DataFrame, base: AlsParams, spec: EvalSpec, grid: dict) -> pd.DataFrame:
    """One row per baseline and per combination, best NDCG@10 first."""
    candidates = combinations(base, grid)
    scores = checked_matrix(matrix)[0].cache()
    train, test = split_pairs(scores, spec, cache=True)
    users = evaluation_users(train, test, spec).cache()
    held = held_out(train, test, users)
    baselines = baseline_metrics(train, test, held, spec)
    rows = [
        {"model": name} | {m: baselines.get(f"{name}_{m}") for m in SHOWN}
        for name in ("popularity", "random")
    ]
    for params in candidates:
        metrics = model_metrics(train, test, users, held, params, spec)
        label = "implicit" if params.implicit else "explicit"
        rows.append(
            {"model": f"als-{label}"}
            | {k: v for k, v in asdict(params).items() if k in GRID_PARAMS}
            | ({} if params.implicit else {"alpha": None})  # explicit ALS has no alpha
            | {m: metrics.get(m) for m in SHOWN}
        )
    table = pd.DataFrame(rows)[["model", *GRID_PARAMS, *SHOWN]]
    table = table.astype({"rank": "Int64", "max_iter": "Int64"})
    table = table.sort_values("ndcg_at_10", ascending=False, ignore_index=True)
    table.insert(0, "split", spec.split)
    table.insert(0, "tuned_at", datetime.now(UTC))
    return table


def save(spark: SparkSession, table: pd.DataFrame, path: str) -> None:
    frame = spark.createDataFrame(
        table.astype({c: "float64" for c in SHOWN} | {"rank": "float64", "max_iter": "float64"})
    )
    frame.write.format("delta").mode("append").option("mergeSchema", "true").save(path)
