"""Time in one place, so tests can move it."""

from __future__ import annotations

import datetime as dt

# The per-minute tick's reach: what falls due before the next tick is sent now, with the
# seconds it still has to wait as its SQS delay, so it starts on time.
TICK_HORIZON = dt.timedelta(seconds=60)


def utcnow() -> dt.datetime:
    """The current time, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)


def as_utc(moment: dt.datetime) -> dt.datetime:
    """`moment` with a time zone: a naive one is taken to be UTC, as every API caller is told."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
