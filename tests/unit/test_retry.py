"""Backoff and the retry decision, as tables."""

from __future__ import annotations

import pytest

from jobline.core.retry import MAX_BACKOFF_SECONDS, Backoff, next_retry_delay


@pytest.mark.parametrize(
    ("backoff", "attempts_made", "expected"),
    [
        (Backoff(type="exponential", delay=2), 1, 2),
        (Backoff(type="exponential", delay=2), 2, 4),
        (Backoff(type="exponential", delay=2), 3, 8),
        (Backoff(type="exponential", delay=1), 3, 4),
        (Backoff(type="fixed", delay=5), 1, 5),
        (Backoff(type="fixed", delay=5), 4, 5),
        (Backoff(type="fixed", delay=0), 2, 0),
        (Backoff(type="exponential", delay=2), 40, MAX_BACKOFF_SECONDS),
    ],
)
def test_backoff_delay_after_attempt(backoff: Backoff, attempts_made: int, expected: int) -> None:
    assert backoff.delay_after(attempts_made) == expected


@pytest.mark.parametrize(
    ("attempts_made", "max_attempts", "expected"),
    [(1, 3, 2), (2, 3, 4), (3, 3, None), (1, 1, None), (4, 3, None)],
)
def test_next_retry_delay_none_when_out_of_attempts(
    attempts_made: int, max_attempts: int, expected: int | None
) -> None:
    backoff = Backoff(type="exponential", delay=2)
    assert next_retry_delay(backoff=backoff, attempts_made=attempts_made, max_attempts=max_attempts) == expected


def test_backoff_rejects_negative_delay() -> None:
    with pytest.raises(ValueError):
        Backoff(delay=-1)


def test_backoff_delay_after_zero_attempts_is_an_error() -> None:
    with pytest.raises(ValueError):
        Backoff().delay_after(0)
