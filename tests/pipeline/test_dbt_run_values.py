"""A night's own values (as_of, model version, base model) reach dbt as env
vars, so that the next night reuses this night's parse: dbt parses only the
files that read them, not the whole project, as it would for changed vars."""

from __future__ import annotations

import json
import os

from movie_recs.config import dbt_vars
from movie_recs.dbt import run_dbt, run_value_env
from movie_recs.settings import state_dir

NIGHT_1 = {"as_of": "2026-03-02 00:00:00", "model_version": "als-20260301-020000"}
NIGHT_2 = {
    "as_of": "2026-03-03 00:00:00",
    "model_version": "als-20260302-020000",
    "als_base_model": "als-20260301-020000",
}


def parse(run_values: dict[str, str]) -> tuple[int, int, dict]:
    """dbt parse as a night's dbt build starts: (files parsed, files, nodes)."""
    run_dbt(["parse"], "local", dbt_vars(), run_values)
    target = state_dir() / "dbt-target"
    perf = json.loads((target / "perf_info.json").read_text())
    nodes = json.loads((target / "manifest.json").read_text())["nodes"]
    return perf["parsed_path_count"], perf["path_count"], nodes


def test_the_next_night_parses_only_the_files_that_read_its_values(monkeypatch, tmp_path):
    monkeypatch.setenv("MOVIE_RECS_STATE", str(tmp_path))  # a state of its own, no parse yet
    parsed, files, _ = parse(NIGHT_1)
    assert parsed == files

    parsed, files, nodes = parse(NIGHT_2)
    assert 0 < parsed <= 10 < files
    model = nodes["model.movie_recs.fct_recommendations"]["config"]
    assert model["model_version"] == NIGHT_2["model_version"]
    assert model["als_base_model"] == NIGHT_2["als_base_model"]
    assert nodes["model.movie_recs.fct_ab_test_results"]["config"]["as_of"] == NIGHT_2["as_of"]

    assert parse(NIGHT_2)[0] == 0  # the same values: nothing parsed again
    assert not any(run_value_env(name) in os.environ for name in NIGHT_2)
