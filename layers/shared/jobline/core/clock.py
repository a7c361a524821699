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


def shown_in_utc[T: (dt.datetime, dt.datetime | None)](moment: T) -> T:
    """`moment` unchanged if a UTC clock can show it; a ValueError (for pydantic) otherwise.

    `0001-01-01T00:00+05:00` and `9999-12-31T23:00-05:00` are valid ISO times that no UTC
    clock, Postgres column or DynamoDB key can hold.
    """
    if moment is not None:
        try:
            as_utc(moment).astimezone(dt.UTC)
        except OverflowError:
            raise ValueError("is outside the supported range of times") from None
    return moment
