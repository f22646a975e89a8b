"""PostgreSQL: the server named by the PG* variables, or a project-local cluster.

When `PGHOST` is set, that server is used as it is. Otherwise the project runs
its own cluster: data in `<state>/postgres/`, listening on 127.0.0.1 only
(port `MOVIE_RECS_PG_PORT`, default 55432), password authentication, and a
`movie_recs` role and database whose generated password stays in the state folder.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import os
import pwd
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import psycopg2.extensions

from movie_recs.errors import UserError
from movie_recs.settings import env_int, generated_secrets, state_dir

log = logging.getLogger(__name__)

DEFAULT_PORT = 55432
APP_ROLE = "movie_recs"
SERVICE_ROLE = "movie_recs_service"
START_TIMEOUT_S = 60


@dataclass(frozen=True)
class PgSettings:
    host: str
    port: int
    user: str
    password: str
    dbname: str

    def env(self) -> dict[str, str]:
        """The standard libpq variables, for psql and for child processes."""
        return {
            "PGHOST": self.host,
            "PGPORT": str(self.port),
            "PGUSER": self.user,
            "PGPASSWORD": self.password,
            "PGDATABASE": self.dbname,
        }

    def connect(self, **kwargs):
        return psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=self.dbname,
            **kwargs,
        )

    @contextmanager
    def transaction(self) -> Iterator[psycopg2.extensions.cursor]:
        """A cursor in one transaction, committed when the block ends (rolled
        back on an error), on a connection closed after it: psycopg2's own
        `with connection:` ends the transaction but leaves the connection open."""
        conn = self.connect()
        try:
            with conn, conn.cursor() as cur:
                yield cur
        finally:
            conn.close()

    @property
    def jdbc_url(self) -> str:
        return f"jdbc:postgresql://{self.host}:{self.port}/{self.dbname}"


def settings_from_env() -> PgSettings | None:
    """The server the PG* variables name, or None when they name none."""
    host = os.environ.get("PGHOST")
    if not host:
        return None
    user = os.environ.get("PGUSER") or pwd.getpwuid(os.getuid()).pw_name
    return PgSettings(
        host=host,
        port=env_int("PGPORT", 5432),
        user=user,
        password=os.environ.get("PGPASSWORD", ""),
        dbname=os.environ.get("PGDATABASE") or user,
    )


def _server_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    on_path = shutil.which(name)
    if on_path:
        return on_path
    raise RuntimeError(
        f"PostgreSQL server program {name!r} not found: run `make setup` "
        "(installs Debian's postgresql) or set PGHOST to use an existing server"
    )


def _cluster_folder(wanted: Path) -> Path:
    """Where the cluster lives: `wanted`, unless the `postgres` system user (who owns
    it when we run as root) cannot reach it, as in a checkout under /root; then a
    folder of its own under /var/lib/movie-recs, named after `wanted`."""
    if os.geteuid() != 0:
        return wanted
    wanted.parent.mkdir(parents=True, exist_ok=True)
    probe = ["runuser", "-u", "postgres", "--", "test", "-x", str(wanted.parent)]
    if subprocess.run(probe, capture_output=True).returncode == 0:
        return wanted
    digest = hashlib.sha1(str(wanted).encode()).hexdigest()[:12]
    fallback = Path("/var/lib/movie-recs") / digest / "postgres"
    log.warning("user postgres cannot reach %s; the local cluster lives in %s", wanted, fallback)
    return fallback


class LocalPostgres:
    """A PostgreSQL cluster owned by the project, in a project-local folder."""

    def __init__(self, root: Path | None = None, port: int | None = None) -> None:
        self.root = _cluster_folder((root or state_dir()) / "postgres")
        self.port = port or env_int("MOVIE_RECS_PG_PORT", DEFAULT_PORT)
        self.data_dir = self.root / "data"
        self.socket_dir = self.root / "run"
        self.credentials_file = self.root / "credentials.json"
        self.log_file = self.root / "server.log"

    # initdb and postgres refuse to run as root; then the cluster belongs to
    # the `postgres` system user that Debian's package creates.
    def _as_owner(self, argv: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return argv
        return ["runuser", "-u", "postgres", "--", *argv]

    def _chown_to_owner(self, path: Path) -> None:
        if os.geteuid() == 0:
            shutil.chown(path, user="postgres", group="postgres")

    def _credentials(self) -> dict[str, str]:
        if not self.credentials_file.exists() and (self.data_dir / "PG_VERSION").exists():
            # new passwords would not open the cluster: every login would be refused
            raise UserError(
                f"{self.credentials_file} is missing, and the cluster in {self.data_dir}"
                " was made with the passwords it held: restore the file, or remove"
                f" {self.root} to start an empty cluster"
            )
        return generated_secrets(
            self.credentials_file,
            lambda: {
                f"{role}_password": secrets.token_urlsafe(24)
                for role in ("superuser", "app", "service")
            },
        )

    def _superuser(self) -> PgSettings:
        password = self._credentials()["superuser_password"]
        return PgSettings("127.0.0.1", self.port, "postgres", password, "postgres")

    def settings(self) -> PgSettings:
        password = self._credentials()["app_password"]
        return PgSettings("127.0.0.1", self.port, APP_ROLE, password, APP_ROLE)

    def service_settings(self) -> PgSettings:
        """The online service's least-privilege role (grants: movie_recs/db/grants.sql)."""
        password = self._credentials()["service_password"]
        return PgSettings("127.0.0.1", self.port, SERVICE_ROLE, password, APP_ROLE)

    def _initdb(self) -> None:
        creds = self._credentials()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        pwfile = self.root / "initdb.pw"
        pwfile.write_text(creds["superuser_password"])
        for path in (self.root, self.data_dir, self.socket_dir, pwfile):
            self._chown_to_owner(path)
        try:
            subprocess.run(
                self._as_owner(
                    [
                        _server_bin("initdb"),
                        "--pgdata",
                        str(self.data_dir),
                        "--username",
                        "postgres",
                        "--pwfile",
                        str(pwfile),
                        "--auth",
                        "scram-sha-256",
                        "--encoding",
                        "UTF8",
                        "--locale",
                        "C",
                    ]
                ),
                check=True,
                capture_output=True,
                text=True,
            )
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(f"initdb failed: {exc.stderr.strip()}") from exc
        finally:
            pwfile.unlink(missing_ok=True)

    def is_running(self) -> bool:
        try:
            self._superuser().connect(connect_timeout=2).close()
            return True
        except psycopg2.OperationalError:
            return False

    def start(self) -> None:
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        if self.is_running():
            return
        if os.geteuid() == 0:
            self.log_file.touch()
            self._chown_to_owner(self.log_file)
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.socket_dir}"
        )
        result = subprocess.run(
            self._as_owner(
                [
                    _server_bin("pg_ctl"),
                    "--pgdata",
                    str(self.data_dir),
                    "--log",
                    str(self.log_file),
                    "--options",
                    options,
                    "--wait",
                    f"--timeout={START_TIMEOUT_S}",
                    "start",
                ]
            ),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            tail = self.log_file.read_text()[-2000:] if self.log_file.exists() else ""
            raise RuntimeError(
                f"local PostgreSQL did not start on 127.0.0.1:{self.port}: "
                f"{result.stderr.strip()}\n{tail}"
            )
        self._wait_until_accepting()

    def _wait_until_accepting(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.is_running():
            if time.monotonic() > deadline:
                raise RuntimeError(f"local PostgreSQL on port {self.port} accepts no connections")
            time.sleep(0.2)

    def stop(self, mode: str = "fast") -> None:
        if not (self.data_dir / "postmaster.pid").exists():
            return
        subprocess.run(
            self._as_owner(
                [
                    _server_bin("pg_ctl"),
                    "--pgdata",
                    str(self.data_dir),
                    "-m",
                    mode,
                    "--wait",
                    "stop",
                ]
            ),
            capture_output=True,
            check=False,
        )

    def destroy(self) -> None:
        """Stop the cluster and delete its folder (tests start from nothing)."""
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def ensure_app_database(self) -> PgSettings:
        """Create the pipeline's and the online service's roles and the database once;
        return how the pipeline reaches them."""
        app = self.settings()
        conn = self._superuser().connect()
        conn.autocommit = True  # CREATE DATABASE cannot run in a transaction
        with conn.cursor() as cur:
            for role in (app, self.service_settings()):
                cur.execute("select 1 from pg_roles where rolname = %s", (role.user,))
                if cur.fetchone() is None:
                    cur.execute(f"create role {role.user} login password %s", (role.password,))
            cur.execute("select 1 from pg_database where datname = %s", (APP_ROLE,))
            if cur.fetchone() is None:
                cur.execute(f"create database {APP_ROLE} owner {APP_ROLE}")
        conn.close()
        return app


def ensure_postgres() -> PgSettings:
    """The configured server, or the local cluster, started and ready."""
    configured = settings_from_env()
    if configured is not None:
        return configured
    local = LocalPostgres()
    local.start()
    return local.ensure_app_database()
