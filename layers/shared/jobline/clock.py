"""Time in one place, so tests can move it."""

from __future__ import annotations

import datetime as dt

# The per-minute tick's reach: what falls due before the next tick is sent now, with the
# seconds it still has to wait as its SQS delay, so it starts on time.
TICK_HORIZON = dt.timedelta(seconds=60)


def utcnow() -> dt.datetime:
    """The current time, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)
