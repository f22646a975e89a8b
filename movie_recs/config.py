"""The pipeline's knobs: dbt vars from dbt_project.yml, so dbt and Python agree."""

from __future__ import annotations

import csv
from functools import cache
from typing import Any

import yaml

from movie_recs.errors import UserError
from movie_recs.settings import PROJECT_ROOT


@cache
def _project_vars() -> dict[str, Any]:
    project = yaml.safe_load((PROJECT_ROOT / "dbt_project.yml").read_text())
    return dict(project.get("vars") or {})


class BadVar(UserError):
    """A var the run cannot use: unknown, of the wrong type, or out of range."""


def _at_least(low):
    return lambda v: v >= low, f">= {low}"


def _between(low, high):
    return lambda v: low <= v <= high, f"between {low} and {high}"


def _above(low):
    return lambda v: v > low, f"> {low}"


def _strictly_between(low, high):
    return lambda v: low < v < high, f"between {low} and {high}, exclusive"


# Vars the pipeline computes with: their type and range. A value outside them
# fails the run before it starts, instead of at a later task (or, for the
# retention, by deleting the archive).
VAR_RULES: dict[str, tuple[type, Any]] = {
    "training_window_days": (int, _at_least(1)),
    "archive_after_hours": (int, _at_least(0)),
    "archive_retention_days": (int, _at_least(1)),  # and >= the training window: below
    "future_tolerance_minutes": (int, _at_least(0)),
    "rating_min": (float, _at_least(0)),
    "rating_max": (float, _above(0)),
    "implicit_score_cap": (float, _above(0)),
    "max_reject_share": (float, _between(0, 1)),
    "input_volume_ratio": (float, _at_least(1)),
    "on_input_check_failure": (str, (lambda v: v in ("stop", "warn"), "stop or warn")),
    "als_implicit": (bool, None),
    "als_implicit_rank": (int, _at_least(1)),
    "als_implicit_reg_param": (float, _at_least(0)),
    "als_alpha": (float, _at_least(0)),
    "als_rank": (int, _at_least(1)),
    "als_reg_param": (float, _at_least(0)),
    "als_max_iter": (int, _at_least(1)),
    "als_seed": (int, None),
    "als_refit_every_days": (int, _at_least(1)),
    "top_k": (int, _between(1, 50)),  # batch_recommendations' rank check
    "top_k_block_users": (int, _at_least(1)),
    "test_fraction": (float, _strictly_between(0, 1)),
    "eval_max_users": (int, _at_least(1)),
    "max_rmse": (float, _above(0)),
    "min_ndcg_at_10": (float, _between(0, 1)),
    "min_ndcg_at_10_vs_random": (float, _at_least(0)),
    "min_ndcg_at_10_vs_popularity": (float, _at_least(0)),
    "min_user_coverage": (float, _between(0, 1)),
    "min_catalog_coverage": (float, _between(0, 1)),
    "attribution_window_hours": (int, _at_least(1)),
    "ab_window_days": (int, _at_least(1)),
    "ab_alpha": (float, _strictly_between(0, 1)),
    "ab_min_detectable_effect": (float, _above(0)),
}


def _check(name: str, value: Any) -> None:
    kind, rule = VAR_RULES[name]
    # YAML reads 1 as an int, a fine float; and true as a bool, which is no number
    if isinstance(value, bool) and kind is not bool:
        accepted = False
    else:
        accepted = isinstance(value, (int, float) if kind is float else kind)
    if not accepted:
        raise BadVar(f"dbt var {name} must be {kind.__name__}, got {value!r}")
    if rule and not rule[0](value):
        raise BadVar(f"dbt var {name} must be {rule[1]}, got {value!r}")


def dbt_vars(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The project's vars with run-time overrides applied; unknown names and
    values of the wrong type or out of range are refused (BadVar)."""
    values = dict(_project_vars())
    for name, value in (overrides or {}).items():
        if name not in values:
            raise BadVar(f"unknown dbt var {name!r}; known: {sorted(values)}")
        values[name] = value
    for name in VAR_RULES:
        _check(name, values[name])
    if values["rating_min"] >= values["rating_max"]:
        raise BadVar(
            f"dbt var rating_min ({values['rating_min']}) must be below rating_max"
            f" ({values['rating_max']})"
        )
    if values["archive_retention_days"] < values["training_window_days"]:
        raise BadVar(
            f"dbt var archive_retention_days ({values['archive_retention_days']}) must be at"
            f" least training_window_days ({values['training_window_days']}): the training"
            " window reads the archive"
        )
    return values


@cache
def event_weights() -> dict[str, float]:
    """Known event types and their implicit-feedback weights (seeds/event_weights.csv)."""
    with open(PROJECT_ROOT / "seeds" / "event_weights.csv", newline="") as seed:
        return {row["event_type"]: float(row["weight"]) for row in csv.DictReader(seed)}
