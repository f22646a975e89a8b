"""Run dbt Python models on dbt-spark's in-process `session` connection.

dbt-spark ships Python model submission only for Databricks clusters
(dbt-labs/dbt-spark#415). This module adds a `session` submission method that
executes the compiled model code against the process's live SparkSession, and
makes it the default when the target uses `method: session`.

dbt-core imports every installed top-level module whose name starts with
`dbt_` at start-up (its plugin manager), so installing this module (`make
setup` puts the project root on the venv's path) is enough for plain
`dbt build` to run the models in `python_models/`.
"""

from __future__ import annotations

import os
from typing import Any

from dbt.adapters.base import PythonJobHelper
from dbt.adapters.spark import SparkCredentials
from dbt.adapters.spark.connections import SparkConnectionMethod
from dbt.adapters.spark.impl import SparkAdapter

SUBMISSION_METHOD = "session"


class SessionPythonJobHelper(PythonJobHelper):
    """Executes a compiled Python model in this process, on the active SparkSession."""

    def __init__(self, parsed_model: dict, credentials: SparkCredentials) -> None:
        self.parsed_model = parsed_model
        self.credentials = credentials

    def submit(self, compiled_code: str) -> None:
        from pyspark.sql import SparkSession

        # dbt-spark's session cursor has already created the session with the
        # target's server_side_parameters; this returns that same session.
        spark = SparkSession.builder.getOrCreate()
        # dbt-spark's wrapper around the model tries `import pyspark.pandas`,
        # which warns once in every process unless this is set (pandas-on-Spark's
        # own advice for pyarrow 2 and later)
        os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")
        name = f"<dbt python model {self.parsed_model['unique_id']}>"
        namespace: dict[str, Any] = {"spark": spark, "__name__": "__dbt_python_model__"}
        exec(compile(compiled_code, name, "exec"), namespace)


def _install() -> None:
    original_helpers = SparkAdapter.python_submission_helpers.fget
    original_default = SparkAdapter.default_python_submission_method.fget

    def python_submission_helpers(self: SparkAdapter) -> dict[str, type[PythonJobHelper]]:
        return {**original_helpers(self), SUBMISSION_METHOD: SessionPythonJobHelper}

    def default_python_submission_method(self: SparkAdapter) -> str:
        if self.config.credentials.method == SparkConnectionMethod.SESSION:
            return SUBMISSION_METHOD
        return original_default(self)

    SparkAdapter.python_submission_helpers = property(python_submission_helpers)
    SparkAdapter.default_python_submission_method = property(default_python_submission_method)


_install()
