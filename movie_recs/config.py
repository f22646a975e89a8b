"""The pipeline's knobs: dbt vars from dbt_project.yml, so dbt and Python agree."""

from __future__ import annotations

import csv
from functools import cache
from typing import Any

import yaml

from movie_recs.settings import PROJECT_ROOT


@cache
def _project_vars() -> dict[str, Any]:
    project = yaml.safe_load((PROJECT_ROOT / "dbt_project.yml").read_text())
    return dict(project.get("vars") or {})


def dbt_vars(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The project's vars with run-time overrides applied (unknown names refused)."""
    values = dict(_project_vars())
    for name, value in (overrides or {}).items():
        if name not in values:
            raise ValueError(f"unknown dbt var {name!r}; known: {sorted(values)}")
        values[name] = value
    return values


@cache
def event_weights() -> dict[str, float]:
    """Known event types and their implicit-feedback weights (seeds/event_weights.csv)."""
    with open(PROJECT_ROOT / "seeds" / "event_weights.csv", newline="") as seed:
        return {row["event_type"]: float(row["weight"]) for row in csv.DictReader(seed)}
