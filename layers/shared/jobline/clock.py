"""Time in one place, so tests can move it."""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    """The current time, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)


def epoch(moment: dt.datetime) -> float:
    """Seconds since the epoch of an aware datetime."""
    return moment.timestamp()
