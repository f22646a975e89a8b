"""Versioned, idempotent schema migrations: plain SQL files applied in order, once.

Each file in `migrations/` (`NNNN_name.sql`) runs in its own transaction and is
recorded in `schema_migrations`; an advisory lock keeps two migrators apart.
`grants.sql` (the online service's privileges) is applied after them every
time, so a role created later by a DBA gets its grants on the next run.
"""

from __future__ import annotations

from pathlib import Path

from movie_recs.services.postgres import PgSettings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
GRANTS_FILE = Path(__file__).parent / "grants.sql"
ADVISORY_LOCK_KEY = 0x6D6F7669  # "movi"


def migration_files() -> list[Path]:
    return sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql"))


def migrate(pg: PgSettings) -> list[str]:
    """Apply the migrations not applied yet; return the versions applied now."""
    applied_now = []
    conn = pg.connect()
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                "create table if not exists schema_migrations ("
                " version text primary key,"
                " applied_at timestamptz not null default now())"
            )
        for path in migration_files():
            version = path.stem
            with conn, conn.cursor() as cur:
                cur.execute("select pg_advisory_xact_lock(%s)", (ADVISORY_LOCK_KEY,))
                cur.execute("select 1 from schema_migrations where version = %s", (version,))
                if cur.fetchone() is not None:
                    continue
                cur.execute(path.read_text())
                cur.execute("insert into schema_migrations (version) values (%s)", (version,))
                applied_now.append(version)
        with conn, conn.cursor() as cur:
            apply_grants(cur)
    finally:
        conn.close()
    return applied_now


def apply_grants(cur) -> None:
    """The online service's privileges (idempotent): after every migration run, and
    whenever a table it reads is replaced."""
    cur.execute(GRANTS_FILE.read_text())
