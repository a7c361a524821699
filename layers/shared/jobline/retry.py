"""Backoff as a small pure object: how long to wait before the next attempt."""

from __future__ import annotations

import enum

from pydantic import BaseModel, ConfigDict, Field

# SQS caps a message's visibility timeout at 12 hours; a backoff never exceeds it.
MAX_BACKOFF_SECONDS = 12 * 60 * 60


class BackoffKind(enum.StrEnum):
    FIXED = "fixed"
    EXPONENTIAL = "exponential"


class Backoff(BaseModel):
    """Bull's `backoff` option: `fixed` waits `delay` each time, `exponential` doubles it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: BackoffKind = BackoffKind.EXPONENTIAL
    delay: float = Field(default=2.0, ge=0, le=MAX_BACKOFF_SECONDS, description="seconds")

    def delay_after(self, attempts_made: int) -> int:
        """Seconds to wait after the `attempts_made`-th failed attempt (1-based)."""
        if attempts_made < 1:
            raise ValueError("attempts_made starts at 1")
        seconds = self.delay if self.type is BackoffKind.FIXED else self.delay * 2 ** (attempts_made - 1)
        return int(min(round(seconds), MAX_BACKOFF_SECONDS))


def next_retry_delay(*, backoff: Backoff, attempts_made: int, max_attempts: int) -> int | None:
    """The wait before the next attempt, or None when the job is out of attempts."""
    if attempts_made >= max_attempts:
        return None
    return backoff.delay_after(attempts_made)
