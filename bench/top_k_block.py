"""One block of the top-k scoring vs the plain numpy way, on one core.

    .venv/bin/python bench/top_k_block.py [MOVIES ...]   # default 2400 12000 60000

A block of 256 users with rank-50 factors, about 1 % of the catalogue seen per
user, k = 50: `movie_recs.model.top_k.top_k_block` (scores, seen movies
blanked, a bound on each row's k-th best, the candidates sorted)
against the plain way (the same scores, then `argpartition` of every row and
a sort of its k best). Both give the same lists (checked); prints the median
milliseconds of each over 7 rounds, after one warm-up. The demo catalogue has
2,400 movies at 1M events, 12,000 at 5M and 60,000 at 25M (MovieLens-25M's).
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one core, as each Spark worker has

import numpy as np
import pyarrow as pa

from movie_recs.model.top_k import group_count, top_k_block

USERS, RANK, K, ROUNDS = 256, 50, 50, 7


def plain_top_k(block: pa.RecordBatch, item_ids: np.ndarray, item_vectors: np.ndarray) -> list:
    users = block.column("features").flatten().to_numpy().reshape(USERS, RANK)
    scores = users @ item_vectors.T
    for row, seen in enumerate(block.column("seen").to_pylist()):
        scores[row, np.searchsorted(item_ids, seen)] = -np.inf
    best = np.argpartition(-scores, K, axis=1)[:, :K]
    out = []
    for row, cols in enumerate(best):
        ranked = cols[np.lexsort((item_ids[cols], -scores[row, cols]))]
        out.append(item_ids[ranked].tolist())
    return out


def median_ms(run, *args) -> float:
    run(*args)
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        run(*args)
        times.append((time.perf_counter() - started) * 1000)
    return float(np.median(times))


def main(catalogue_sizes: list[int]) -> None:
    rng = np.random.default_rng(0)
    print(f"{'movies':>7} {'groups':>6} {'top_k_block ms':>15} {'plain ms':>9} {'ratio':>6}")
    for n_movies in catalogue_sizes:
        item_ids = np.arange(n_movies, dtype=np.int32)
        item_vectors = rng.standard_normal((n_movies, RANK)).astype(np.float32)
        user_vectors = rng.standard_normal((USERS, RANK)).astype(np.float32)
        seen = [rng.choice(n_movies, n_movies // 100, replace=False) for _ in range(USERS)]
        block = pa.RecordBatch.from_arrays(
            [
                pa.array(range(USERS), pa.int32()),
                pa.array(user_vectors.tolist(), pa.list_(pa.float32())),
                pa.array([np.sort(s).tolist() for s in seen], pa.list_(pa.int32())),
            ],
            names=["user_id", "features", "seen"],
        )
        ours = top_k_block(block, item_ids, item_vectors, K).to_pydict()
        by_user = [ours["movie_id"][u * K : (u + 1) * K] for u in range(USERS)]
        assert by_user == plain_top_k(block, item_ids, item_vectors), "lists differ"
        fast = median_ms(top_k_block, block, item_ids, item_vectors, K)
        plain = median_ms(plain_top_k, block, item_ids, item_vectors)
        groups = group_count(n_movies, K)
        print(f"{n_movies:>7} {groups:>6} {fast:>15.1f} {plain:>9.1f} {fast / plain:>6.2f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [2_400, 12_000, 60_000])
