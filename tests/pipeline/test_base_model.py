"""Which full fit an incremental night folds into (als_refit_every_days)."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

import pytest

from movie_recs.pipeline.tasks.train import base_model

TONIGHT = date(2031, 3, 10)


@pytest.fixture
def runs(pg, record_attempt):
    """Record nights: (days before tonight, train details, publish status)."""

    def record(days_before: int, details: dict, publish: str = "succeeded") -> None:
        day = TONIGHT - timedelta(days=days_before)
        record_attempt(f"base-test-{day}", day, "train", "succeeded", details)
        record_attempt(f"base-test-{day}", day, "publish", publish, {})

    yield record
    with pg.transaction() as cur:
        cur.execute("delete from pipeline_runs where run_id like 'base-test-%'")


def night(pg, every: int):
    return SimpleNamespace(pg=pg, run_date=TONIGHT, vars={"als_refit_every_days": every})


def test_every_night_refits_by_default(pg, runs):
    runs(1, {"model_version": "full-1"})
    assert base_model(night(pg, 1)) is None


def test_folds_into_the_latest_published_full_fit_within_the_interval(pg, runs):
    runs(3, {"model_version": "full-3"})
    runs(2, {"model_version": "full-2"})
    runs(1, {"model_version": "folded-1", "folded_in": 1.0})  # not a full fit
    runs(4, {"model_version": "full-4-later-in-the-list"})
    assert base_model(night(pg, 7)) == "full-2"


def test_an_unpublished_full_fit_is_not_a_base(pg, runs):
    runs(3, {"model_version": "full-3"})
    runs(1, {"model_version": "full-1-unpublished"}, publish="failed")
    assert base_model(night(pg, 7)) == "full-3"


def test_a_full_fit_as_old_as_the_interval_means_a_refit_tonight(pg, runs):
    runs(7, {"model_version": "full-7"})
    assert base_model(night(pg, 7)) is None
    assert base_model(night(pg, 8)) == "full-7"
