"""dbt, invoked in-process so that it shares the run's SparkSession.

dbt's programmatic API is not safe to call concurrently: one invocation at a time.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from movie_recs.settings import PROFILES_DIR, PROJECT_ROOT, state_dir

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


def run_value_env(name: str) -> str:
    """The env var the project's run_value macro reads for a run value."""
    return f"MOVIE_RECS_{name.upper()}"


@contextmanager
def run_values_in_env(run_values: Mapping[str, str]) -> Iterator[None]:
    """The run values in the process's environment for the duration, as before after."""
    env = {run_value_env(name): str(value) for name, value in run_values.items()}
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                del os.environ[name]
            else:
                os.environ[name] = value


def run_dbt(
    command: list[str],
    target: str,
    dbt_vars: dict | None = None,
    run_values: Mapping[str, str] | None = None,
):
    """Run one dbt command against the project; raise DbtFailed unless it succeeds.

    `dbt_vars` go to --vars; `run_values`, what changes every night (as_of,
    model_version, als_base_model), go to the env vars the project's
    run_value macro reads: dbt parses the whole project again when its vars
    change (about 4 s), but only the few files that read a changed env var
    (1 to 2.5 s), so with the same vars a night reuses the night before's
    parse. dbt's target/ is the state folder's, so that runs in other
    states, or dbt by hand, do not replace that parse.
    """
    from dbt.cli.main import dbtRunner

    argv = [
        *command,
        "--project-dir",
        str(PROJECT_ROOT),
        "--profiles-dir",
        str(PROFILES_DIR),
        "--target",
        target,
        "--target-path",
        str(state_dir() / "dbt-target"),
    ]
    if dbt_vars:
        argv += ["--vars", json.dumps(dbt_vars)]
    log.info("dbt %s (run values %s)", " ".join(argv), dict(run_values or {}))
    with run_values_in_env(run_values or {}):
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
