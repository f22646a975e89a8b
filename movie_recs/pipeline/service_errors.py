"""Which service a failure came from, when it is one worth retrying.

PostgreSQL errors arrive as psycopg2 exceptions, or as JDBC errors inside a
Spark error; S3 errors arrive inside Spark (or dbt) errors as the S3A client's
exceptions. Anything else is not a service fault and is not retried.
"""

from __future__ import annotations

import psycopg2
from py4j.protocol import Py4JNetworkError

POSTGRES, OBJECT_STORE, SPARK = "PostgreSQL", "the S3 object store", "the Spark driver (JVM)"

# Connection-level failures (not bad requests), as Java and the AWS SDK word them
_UNREACHABLE = (
    "Connection refused",
    "ConnectException",
    "Unable to execute HTTP request",
    "SdkClientException",
    "AWSClientIOException",
    "SocketTimeoutException",
    "NoHttpResponseException",
    "Connection reset",
    "The connection attempt failed",
    "terminating connection",
    "server closed the connection",
)


# PostgreSQL answered, and refused: retrying cannot help, and the server is not down
_REFUSED = ("password authentication failed", "no pg_hba.conf entry", "does not exist")


def refused_by_postgres(exc: BaseException) -> bool:
    """PostgreSQL answered and refused the connection (credentials, database)."""
    return isinstance(exc, psycopg2.OperationalError) and any(r in str(exc) for r in _REFUSED)


def failed_service(exc: BaseException) -> str | None:
    """The unreachable service behind `exc`, or None if it is not a service fault."""
    if isinstance(exc, psycopg2.OperationalError | psycopg2.InterfaceError):
        return None if refused_by_postgres(exc) else POSTGRES
    if isinstance(exc, Py4JNetworkError):
        return SPARK
    text = str(exc)
    if not any(marker in text for marker in _UNREACHABLE):
        return None
    if "s3a://" in text or "S3A" in text or "AWS" in text or "amazonaws" in text:
        return OBJECT_STORE
    if "postgresql" in text.lower() or "PSQLException" in text:
        return POSTGRES
    return None
