"""The BullMQ system's (seed 002) `scheduled` queue, run by the task worker: campaigns and the sitemap."""

from __future__ import annotations

from jobline.core.queues import TASK_WORKER, one_at_a_time_queue

SCHEDULED = "scheduled"

DOMAIN_QUEUES = (
    one_at_a_time_queue(SCHEDULED, TASK_WORKER, attempts=3, job_timeout_seconds=240, concurrency=2, default_priority=5),
)
