"""Where the project keeps its files, and which environment variables steer it.

Connections use the ecosystem's own variables (PG* for PostgreSQL, AWS_* for S3).
Everything the project creates for itself lives under the state folder
(`.state/` by default, `MOVIE_RECS_STATE` to move it), which git ignores.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = PROJECT_ROOT / ".cache"
S3PROXY_JARS_DIR = CACHE_DIR / "s3proxy"
PROFILES_DIR = PROJECT_ROOT / "profiles"
# Java options for short-lived JVMs (the test suite's, the class archive's): the
# JIT's quick compiler only, with the code cache and the stack the default
# would have had (BENCHMARKS.md, benchmark 6)
QUICK_JIT_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m -Xss8m"


def state_dir() -> Path:
    """Project-local folder for databases, object store data and the local lake."""
    return Path(os.environ.get("MOVIE_RECS_STATE", PROJECT_ROOT / ".state")).resolve()


def generated_secrets(path: Path, make: Callable[[], dict[str, str]]) -> dict[str, str]:
    """The secrets kept in `path`, made by `make` the first time, in a file only
    its owner can read from the moment it exists."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            json.dump(make(), f)
    return json.loads(path.read_text())


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None


# dbt targets (profiles/profiles.yml); all but `local` keep the lake on S3
TARGETS = ("local", "s3", "cluster")


def lake_on_s3(target: str) -> bool:
    return target != "local"
