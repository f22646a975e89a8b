"""The one SparkSession of a run, configured from the dbt profile's target.

dbt-spark (`method: session`) builds its session from the target's
`server_side_parameters`; the pipeline builds the same session from the same
block before dbt runs, so both share one JVM and one configuration.
"""

from __future__ import annotations

import os
import sys

import yaml
from pyspark.sql import SparkSession

from movie_recs.settings import PROFILES_DIR, PROJECT_ROOT

PROFILE_NAME = "movie_recs"
LAKE_ROOT_KEY = "spark.movie_recs.lake_root"


def selected_target(target: str | None = None) -> str:
    return target or os.environ.get("DBT_TARGET") or "local"


def spark_conf(target: str | None = None) -> dict[str, str]:
    """The rendered `server_side_parameters` of a target in profiles/profiles.yml."""
    # dbt's own renderer, so env_var() behaves exactly as it does under `dbt build`
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context

    target = selected_target(target)
    raw = yaml.safe_load((PROFILES_DIR / "profiles.yml").read_text())
    outputs = raw[PROFILE_NAME]["outputs"]
    if target not in outputs:
        raise ValueError(f"unknown dbt target {target!r}; profiles.yml has {sorted(outputs)}")
    set_invocation_context(os.environ)
    rendered = ProfileRenderer({}).render_data(outputs[target])
    return {key: str(value) for key, value in rendered["server_side_parameters"].items()}


def get_spark(target: str | None = None) -> SparkSession:
    """Start (or return) the process's SparkSession for a dbt target."""
    os.chdir(PROJECT_ROOT)  # the profile's paths are relative to the project root
    builder = SparkSession.builder.enableHiveSupport()
    for key, value in spark_conf(target).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


def lake_root(spark: SparkSession) -> str:
    """Absolute root of the lake (a local folder or an s3a:// prefix)."""
    root = spark.conf.get(LAKE_ROOT_KEY)
    if "://" not in root:
        root = str((PROJECT_ROOT / root).resolve())
    return root.rstrip("/")


def run_python_workers_on_this_interpreter(spark) -> None:
    # Spark starts its Python workers with PYSPARK_PYTHON, else whatever
    # `python3` is on PATH, which need not have numpy and pyarrow; this
    # interpreter has them. On a cluster whose machines keep Python elsewhere,
    # set PYSPARK_PYTHON.
    if not os.environ.get("PYSPARK_PYTHON"):
        spark.sparkContext.pythonExec = sys.executable
