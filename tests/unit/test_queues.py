"""The queue registry's invariants."""

from __future__ import annotations

import pytest

from jobline.core.errors import UnknownQueue
from jobline.core.queues import QUEUES, VISIBILITY_TIMEOUT_FACTOR, get_queue, queues_consumed_by


@pytest.mark.parametrize("queue", list(QUEUES.values()), ids=list(QUEUES))
def test_queue_job_timeout_fits_inside_its_function_timeout(queue) -> None:
    assert queue.job_timeout_seconds < queue.consumer.timeout_seconds
    assert queue.visibility_timeout_seconds == VISIBILITY_TIMEOUT_FACTOR * queue.consumer.timeout_seconds
    assert queue.max_receive_count > queue.attempts


def test_room_generation_queue_has_the_issue_settings() -> None:
    rooms = get_queue("room-generation")
    assert rooms.attempts == 4  # three retries
    assert [rooms.backoff.delay_after(n) for n in (1, 2, 3)] == [2, 4, 8]
    assert (rooms.keep_completed.count, rooms.keep_failed.count) == (100, 50)


def test_get_queue_unknown_name_raises() -> None:
    with pytest.raises(UnknownQueue):
        get_queue("nope")


def test_every_queue_is_consumed_by_exactly_one_function() -> None:
    consumed = [q.name for name in {q.consumer.name for q in QUEUES.values()} for q in queues_consumed_by(name)]
    assert sorted(consumed) == sorted(QUEUES)
