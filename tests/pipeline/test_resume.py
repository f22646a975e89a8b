"""Where a rerun of a run date starts, from what its earlier attempts recorded."""

from __future__ import annotations

import pytest

from movie_recs.pipeline.nightly import STEPS, resume_point

OK = "succeeded"


def attempts(**statuses: str) -> dict:
    return {task: (status, {f"{task}_fact": 1.0}) for task, status in statuses.items()}


def test_a_new_date_starts_at_the_first_task():
    assert resume_point({}) == (0, {})


def test_a_completed_date_has_nothing_to_do():
    index, _ = resume_point(attempts(**{step.name: OK for step in STEPS}))
    assert index == len(STEPS)


@pytest.mark.parametrize("failed", ["archive", "train", "validate", "publish", "analytics"])
def test_a_rerun_resumes_at_the_first_unfinished_task(failed):
    names = [step.name for step in STEPS]
    latest = attempts(**{n: OK for n in names[: names.index(failed)]}, **{failed: "failed"})
    index, facts = resume_point(latest)
    assert names[index] == failed
    assert set(facts) == {f"{n}_fact" for n in names[:index]}  # inherited from those before


def test_a_later_task_succeeded_before_does_not_skip_a_failed_earlier_one():
    """A --force rerun that crashed in archive: train's older success is not reused."""
    latest = attempts(active_users=OK, archive="failed", train=OK, validate=OK, publish=OK)
    assert STEPS[resume_point(latest)[0]].name == "archive"
