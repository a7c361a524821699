"""The room domain's queue: room generation, run by the room worker."""

from __future__ import annotations

from jobline.core.queues import DAY, ROOM_WORKER, Retention, one_at_a_time_queue

ROOM_GENERATION = "room-generation"

DOMAIN_QUEUES = (
    one_at_a_time_queue(
        ROOM_GENERATION,
        ROOM_WORKER,
        attempts=4,  # the first try and 3 retries, after 2 s, 4 s and 8 s
        job_timeout_seconds=240,
        keep_completed=Retention(count=100, age_seconds=7 * DAY),
        keep_failed=Retention(count=50, age_seconds=14 * DAY),
    ),
)
