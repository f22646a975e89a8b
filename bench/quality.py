"""The docs/QUALITY.md table: every offline metric for popularity, random, the
seed's explicit ALS and the default (tuned) implicit ALS, on one split.

    .venv/bin/python bench/quality.py [../shared/data/movielens/ml-latest-small]

Loads the data with `load-movielens` (replacing the local inputs), runs the
nightly twice with --force (explicit ALS with its gate vs random switched off,
so that it is measured even though it does not pass; then the defaults), and
prints a Markdown table from what each run's train task recorded.
"""

from __future__ import annotations

import subprocess
import sys

from harness import MOVIELENS_SMALL

from movie_recs.services.postgres import ensure_postgres
from movie_recs.settings import PROJECT_ROOT

RANKING = ("precision", "recall", "ndcg", "map", "hit_rate", "catalog_coverage", "popular_share")
ROWS = [f"{name}_at_{k}" for k in (10, 50) for name in RANKING] + ["eval_user_coverage"]


def cli(*args: str) -> None:
    subprocess.run([sys.executable, str(PROJECT_ROOT / "orchestrate.py"), *args], check=True)


def last_train_details() -> dict:
    with ensure_postgres().transaction() as cur:
        cur.execute(
            "select details from pipeline_runs where task = 'train' and status = 'succeeded'"
            " order by finished_at desc limit 1"
        )
        return cur.fetchone()[0]


def main(data: str) -> None:
    cli("load-movielens", data)
    cli("nightly", "--force", "--var", "als_implicit=false", "--var", "min_ndcg_at_10_vs_random=0")
    explicit = last_train_details()
    cli("nightly", "--force")
    implicit = last_train_details()
    columns = {
        "popularity": {m: implicit.get(f"popularity_{m}") for m in ROWS},
        "random": {m: implicit.get(f"random_{m}") for m in ROWS},
        "explicit ALS (seed)": explicit,
        "implicit ALS (default)": implicit,
    }
    print("| metric | " + " | ".join(columns) + " |")
    print("| --- |" + " ---: |" * len(columns))
    for metric in [*ROWS, "rmse", "mae"]:
        cells = [columns[c].get(metric) for c in columns]
        print(f"| {metric} | " + " | ".join("-" if v is None else f"{v:.4f}" for v in cells) + " |")
    print(
        f"\nevaluated users {implicit['eval_users']:.0f}, held-out pairs "
        f"{implicit['test_pairs']:.0f}, RMSE of the global mean {implicit['rmse_global_mean']:.4f}"
    )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else MOVIELENS_SMALL)
