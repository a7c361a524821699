"""Connection-level failures ("not now", not "not this"), and how long to wait them out.

One classification serves every caller: the worker gives an attempt back when a job's function
meets one (the attempt says nothing about the job), and a request runs a job inline when the
queue or the job store cannot take it (`engine.inline.is_unavailable`). Only failures that say
a dependency cannot be reached or is shedding load count: a refused connection, a dropped one,
a timeout on the wire, throttling, a 5xx. A statement timeout, a constraint violation, a 4xx or a
missing credential are about the request, and are ordinary failures.
"""

from __future__ import annotations

import enum
import random

import pg8000.exceptions
import redis
import sqlalchemy.exc
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from jobline.core.errors import UnrecoverableError


class Dependency(enum.StrEnum):
    """What could not be reached; it names the outage in a job's log."""

    DATABASE = "database"
    JOB_STORE = "job store"
    AWS = "AWS"


# AWS error codes that mean "not now" rather than "not this request".
UNAVAILABLE_AWS_CODES = frozenset(
    {
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalServerError",
        "InternalFailure",
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "SlowDown",
        "AWS.SimpleQueueService.ServiceUnavailable",
    }
)

# Postgres SQLSTATEs of a connection that failed or a server that cannot take one now: class 08
# (connection exception), the shutdowns (57P01-57P03: admin, crash, "the database system is
# starting up") and too many connections. Anything else Postgres answers is about the statement.
_UNAVAILABLE_SQLSTATES = frozenset({"08000", "08001", "08003", "08004", "08006", "57P01", "57P02", "57P03", "53300"})

# How deep a chain of `raise ... from exc` is followed to find the outage under a wrapper.
_MAX_CAUSES = 5


def outage_of(exc: BaseException) -> Dependency | None:
    """The dependency `exc` says is unreachable or shedding load, or None for an ordinary failure.

    Follows explicit causes (`raise Wrapper(...) from exc`) a few levels down, so a service that
    wraps a dropped connection in its own error still reads as an outage; an UnrecoverableError
    never is one, whatever its cause: the job said not to try again.
    """
    current: BaseException | None = exc
    for _ in range(_MAX_CAUSES):
        if current is None or isinstance(current, UnrecoverableError):
            return None
        found = _outage_here(current)
        if found is not None:
            return found
        current = current.__cause__
    return None


def is_outage(exc: BaseException) -> bool:
    return outage_of(exc) is not None


def _outage_here(exc: BaseException) -> Dependency | None:
    if isinstance(exc, sqlalchemy.exc.DisconnectionError):
        return Dependency.DATABASE
    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        # SQLAlchemy marks an error its dialect reads as a lost connection (the pool drops it).
        if exc.connection_invalidated:
            return Dependency.DATABASE
        return _database_outage(exc.orig, operational=isinstance(exc, sqlalchemy.exc.OperationalError))
    if isinstance(exc, pg8000.exceptions.DatabaseError | pg8000.exceptions.InterfaceError):
        return _database_outage(exc, operational=False)
    if isinstance(exc, redis.ConnectionError | redis.TimeoutError):
        return Dependency.JOB_STORE
    if isinstance(exc, BotoConnectionError | HTTPClientError):
        return Dependency.AWS  # no answer: refused, dropped, or timed out on the wire
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        if error.get("Code") in UNAVAILABLE_AWS_CODES or status == 429 or status >= 500:
            return Dependency.AWS
    return None


def _database_outage(orig: BaseException | None, *, operational: bool) -> Dependency | None:
    """A driver error that is about the connection, not the statement."""
    # pg8000 raises InterfaceError for the socket: refused, reset, closed, timed out.
    if isinstance(orig, pg8000.exceptions.InterfaceError):
        return Dependency.DATABASE
    # What Postgres answered (pg8000 passes the server's fields as a dict; psycopg has sqlstate).
    fields = orig.args[0] if orig is not None and orig.args and isinstance(orig.args[0], dict) else {}
    code = fields.get("C") or getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code in _UNAVAILABLE_SQLSTATES:
        return Dependency.DATABASE
    # Other drivers (psycopg) raise an OperationalError without a SQLSTATE when no server answered.
    if operational and code is None:
        return Dependency.DATABASE
    return None


# A job deferred by an outage waits at least this long, and at most OUTAGE_CAP_SECONDS: the
# ceiling doubles with each consecutive deferral, and the wait is drawn uniformly below it (full
# jitter), so the jobs an outage stopped do not all come back at the same moment.
OUTAGE_BASE_SECONDS = 5.0
OUTAGE_CAP_SECONDS = 300.0
# After this many consecutive deferrals (half a day or more at the cap) the attempt counts after
# all: an error misread as an outage must not keep a job waiting forever.
OUTAGE_DEFERRALS_MAX = 288


def outage_delay(deferrals: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before the next try, after `deferrals` consecutive outage deferrals (>= 1)."""
    ceiling = min(OUTAGE_CAP_SECONDS, OUTAGE_BASE_SECONDS * 2 ** max(1, min(deferrals, 32)))
    return (rng or random).uniform(OUTAGE_BASE_SECONDS, ceiling)
