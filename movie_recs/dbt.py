"""dbt, invoked in-process so that it shares the run's SparkSession.

dbt's programmatic API is not safe to call concurrently: one invocation at a time.
"""

from __future__ import annotations

import logging

from movie_recs.settings import PROFILES_DIR, PROJECT_ROOT

log = logging.getLogger(__name__)


class DbtFailed(RuntimeError):
    """A dbt command finished with failed models or tests."""

    def __init__(self, command: list[str], failures: list[str]) -> None:
        self.failures = failures
        detail = "; ".join(failures) if failures else "see logs/dbt.log"
        super().__init__(f"dbt {' '.join(command)} failed: {detail}")


# dbt's unit tests check the models' SQL on fixed inputs, not a night's data:
# CI's plain `dbt build` runs them, the nightly's builds leave them out
WITHOUT_UNIT_TESTS = ("--exclude-resource-type", "unit_test")


def run_dbt(command: list[str], target: str, dbt_vars: dict | None = None):
    """Run one dbt command against the project; raise DbtFailed unless it succeeds."""
    import json

    from dbt.cli.main import dbtRunner

    argv = [
        *command,
        "--project-dir",
        str(PROJECT_ROOT),
        "--profiles-dir",
        str(PROFILES_DIR),
        "--target",
        target,
    ]
    if dbt_vars:
        argv += ["--vars", json.dumps(dbt_vars)]
    log.info("dbt %s", " ".join(argv))
    result = dbtRunner().invoke(argv)
    if result.success:
        return result.result
    failures = []
    for node_result in getattr(result.result, "results", None) or []:
        if str(node_result.status) in ("error", "fail"):
            failures.append(
                f"{node_result.node.name}: {node_result.status} ({node_result.message})"
            )
    if result.exception is not None:
        failures.append(str(result.exception))
    raise DbtFailed(command, failures)
