"""Backoff as a small pure object: how long to wait before the next attempt.

Two faces of one policy: `Backoff` is what a job record and the queue registry keep
(seconds, the unit SQS visibility timeouts take); `BackoffOption` is what users send and
are shown (milliseconds, as Bull, BullMQ and bee-queue write `backoff.delay`).
"""

from __future__ import annotations

import enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

# SQS caps a message's visibility timeout at 12 hours; a backoff never exceeds it.
MAX_BACKOFF_SECONDS = 12 * 60 * 60
MAX_BACKOFF_MS = MAX_BACKOFF_SECONDS * 1000


class BackoffKind(enum.StrEnum):
    FIXED = "fixed"
    EXPONENTIAL = "exponential"


class Backoff(BaseModel):
    """The retry policy as kept: `fixed` waits `delay` seconds each time, `exponential` doubles it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: BackoffKind = BackoffKind.EXPONENTIAL
    delay: float = Field(default=2.0, ge=0, le=MAX_BACKOFF_SECONDS, description="seconds")

    def delay_after(self, attempts_made: int) -> int:
        """Seconds to wait after the `attempts_made`-th failed attempt (1-based)."""
        if attempts_made < 1:
            raise ValueError("attempts_made starts at 1")
        seconds = self.delay if self.type is BackoffKind.FIXED else self.delay * 2 ** (attempts_made - 1)
        return int(min(round(seconds), MAX_BACKOFF_SECONDS))


class BackoffOption(BaseModel):
    """Bull's `backoff` option on the wire: `{"type": "exponential", "delay": 5000}`, delay in
    milliseconds; a bare number is Bull's shorthand for a fixed delay of that many milliseconds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: BackoffKind = BackoffKind.EXPONENTIAL
    delay: int = Field(default=2000, ge=0, le=MAX_BACKOFF_MS, description="milliseconds")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        # bool is an int to Python; `"backoff": true` is a mistake, not a 1 ms backoff.
        if isinstance(value, int | float) and not isinstance(value, bool):
            return {"type": BackoffKind.FIXED, "delay": value}
        if isinstance(value, Backoff):
            # A Python caller holding a kept policy: its unit is known, so no ambiguity.
            return cls.shown(value).model_dump()
        return value

    def policy(self) -> Backoff:
        """The policy a job record keeps (seconds)."""
        return Backoff(type=self.type, delay=self.delay / 1000)

    @classmethod
    def shown(cls, backoff: Backoff) -> BackoffOption:
        """A kept policy as users write it (milliseconds)."""
        return cls(type=backoff.type, delay=round(backoff.delay * 1000))


def next_retry_delay(*, backoff: Backoff, attempts_made: int, max_attempts: int) -> int | None:
    """The wait before the next attempt, or None when the job is out of attempts."""
    if attempts_made >= max_attempts:
        return None
    return backoff.delay_after(attempts_made)
