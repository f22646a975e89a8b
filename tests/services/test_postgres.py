"""The project-local PostgreSQL cluster and the schema migrations."""

from __future__ import annotations

import json
import socket
import stat

import psycopg2
import pytest

from movie_recs.db.migrate import migrate, migration_files
from movie_recs.pipeline.service_errors import POSTGRES, failed_service
from movie_recs.services.postgres import LocalPostgres, settings_from_env


def test_local_cluster_listens_on_loopback_with_passwords(pg):
    assert pg.host == "127.0.0.1"
    with pg.transaction() as cur:
        cur.execute("show listen_addresses")
        assert cur.fetchone()[0] == "127.0.0.1"
        cur.execute("select current_user, current_database()")
        assert cur.fetchone() == ("movie_recs", "movie_recs")


def test_wrong_password_is_refused(pg):
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(
            host=pg.host, port=pg.port, user=pg.user, password="wrong", dbname=pg.dbname
        )


def test_refused_credentials_are_not_an_outage_to_retry(pg):
    with pytest.raises(psycopg2.OperationalError) as refused:
        psycopg2.connect(
            host=pg.host, port=pg.port, user=pg.user, password="wrong", dbname=pg.dbname
        )
    assert failed_service(refused.value) is None
    with pytest.raises(psycopg2.OperationalError) as no_database:
        psycopg2.connect(
            host=pg.host, port=pg.port, user=pg.user, password=pg.password, dbname="nope"
        )
    assert failed_service(no_database.value) is None
    with socket.socket() as free:  # a port nothing listens on: a server that is down
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    with pytest.raises(psycopg2.OperationalError) as down:
        psycopg2.connect(host=pg.host, port=port, user=pg.user, password=pg.password)
    assert failed_service(down.value) == POSTGRES


def test_a_nightly_refused_by_postgres_says_so_at_once(pg, cli):
    env = {"PGHOST": pg.host, "PGPORT": str(pg.port), "PGUSER": pg.user, "PGPASSWORD": "wrong"}
    result = cli("nightly", env=env | {"PGDATABASE": pg.dbname})
    assert result.returncode == 2
    assert "stopped: PostgreSQL refused the connection" in result.stderr
    assert "password authentication failed" in result.stderr
    assert "unreachable" not in result.stderr and "retry" not in result.stderr


def test_a_lost_passwords_file_is_named_not_replaced(tmp_path, cli):
    """New passwords would not open the cluster made with the old ones: the
    command names the missing file (exit 2) and works again once it is back."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    local = LocalPostgres(tmp_path, port)
    env = {"MOVIE_RECS_STATE": str(tmp_path), "MOVIE_RECS_PG_PORT": str(port)}
    try:
        assert cli("env", env=env).returncode == 0  # makes and starts the cluster
        kept = local.credentials_file.read_text()
        local.credentials_file.unlink()
        lost = cli("env", env=env)
        assert lost.returncode == 2
        assert f"{local.credentials_file} is missing" in lost.stderr
        assert "Traceback" not in lost.stderr
        assert not local.credentials_file.exists()  # no new passwords made
        local.credentials_file.write_text(kept)
        password = json.loads(kept)["app_password"]
        assert f"export PGPASSWORD={password}" in cli("env", env=env, check=True).stdout
    finally:
        local.destroy()


def test_transaction_commits_rolls_back_on_error_and_closes(pg):
    with pg.transaction() as cur:
        cur.execute("create table transaction_probe (n int)")
        cur.execute("insert into transaction_probe values (1)")
        committed = cur.connection
    assert committed.closed
    with pytest.raises(psycopg2.errors.InvalidTextRepresentation), pg.transaction() as cur:
        cur.execute("insert into transaction_probe values (2)")
        failed = cur.connection
        cur.execute("insert into transaction_probe values ('two')")
    assert failed.closed
    with pg.transaction() as cur:
        cur.execute("select n from transaction_probe")
        assert [r[0] for r in cur] == [1]
        cur.execute("drop table transaction_probe")


def test_start_is_idempotent(pg):
    def server_started_at():
        with pg.transaction() as cur:
            cur.execute("select pg_postmaster_start_time()")
            return cur.fetchone()[0]

    before = server_started_at()
    local = LocalPostgres()
    local.start()  # already running: a no-op, same credentials
    assert server_started_at() == before
    assert local.settings() == pg
    assert stat.S_IMODE(local.credentials_file.stat().st_mode) == 0o600


def test_migrations_apply_once_and_are_recorded(pg):
    assert migrate(pg) == []  # the fixture applied them already
    with pg.transaction() as cur:
        cur.execute("select version from schema_migrations order by version")
        assert [r[0] for r in cur] == [p.stem for p in migration_files()]
        cur.execute(
            "select count(*) from information_schema.tables where table_name in"
            " ('rt_user_interactions', 'movies', 'recommendation_logs',"
            " 'recommendation_feedback', 'batch_recommendations', 'model_performance_logs',"
            " 'pipeline_runs', 'rejected_events')"
        )
        assert cur.fetchone()[0] == 8


def test_pg_variables_name_the_server(monkeypatch):
    monkeypatch.setenv("PGHOST", "db.example.internal")
    monkeypatch.setenv("PGPORT", "6543")
    monkeypatch.setenv("PGUSER", "analyst")
    monkeypatch.setenv("PGDATABASE", "recs")
    settings = settings_from_env()
    assert (settings.host, settings.port, settings.user, settings.dbname) == (
        "db.example.internal",
        6543,
        "analyst",
        "recs",
    )
    assert settings.jdbc_url == "jdbc:postgresql://db.example.internal:6543/recs"


def test_bad_port_variable_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("PGHOST", "localhost")
    monkeypatch.setenv("PGPORT", "five")
    with pytest.raises(ValueError, match="PGPORT must be an integer"):
        settings_from_env()
