"""Least privilege: the online service's role can do its job and nothing more."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg2
import pytest

from movie_recs.services.postgres import LocalPostgres

NOW = datetime.now(UTC)


PROBE_ID = 77_000_001


@pytest.fixture(scope="module")
def service(pg):
    conn = LocalPostgres().service_settings().connect()
    conn.autocommit = True
    yield conn.cursor()
    conn.close()
    # the pipeline's role removes what the probes wrote
    with pg.transaction() as cur:
        for table, key in (
            ("recommendation_feedback", "feedback_id"),
            ("recommendation_logs", "serve_id"),
            ("rt_user_interactions", "event_id"),
        ):
            cur.execute(f"delete from {table} where {key} = %s", (PROBE_ID,))


@pytest.mark.parametrize(
    ("statement", "params"),
    [
        ("select count(*) from batch_recommendations", ()),
        ("select count(*) from movies", ()),
        (
            "insert into rt_user_interactions (event_id, user_id, movie_id, event_type, event_ts)"
            " values (%s, 1, 1, 'view', %s)",
            (PROBE_ID, NOW),
        ),
        (
            "insert into recommendation_logs values (%s, 1, 1, 1, 'als-x', 'als', %s)",
            (PROBE_ID, NOW),
        ),
        (
            "insert into recommendation_feedback values (%s, %s, 1, 1, 'click', %s)",
            (PROBE_ID, PROBE_ID, NOW),
        ),
    ],
)
def test_service_can(service, statement, params):
    service.execute(statement, params)
    if statement.startswith("insert"):
        assert service.rowcount == 1


@pytest.mark.parametrize(
    "statement",
    [
        "update batch_recommendations set score = 0",
        "delete from batch_recommendations",
        "insert into batch_recommendations values (1, 1, 1, 1.0, 'forged', now())",
        "truncate batch_recommendations",
        "select * from model_performance_logs",
        "insert into model_performance_logs (run_id, model_version, metric_name, metric_value)"
        " values ('forged', 'forged', 'rmse', 0)",
        "delete from model_performance_logs",
        "select * from rt_user_interactions",
        "delete from rt_user_interactions",
        "select * from pipeline_runs",
        "update pipeline_runs set status = 'succeeded'",
        "create table forged (n int)",
        "select * from rejected_events",
        "update movies set title = 'forged'",
    ],
)
def test_service_cannot(service, statement):
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        service.execute(statement)
