"""The BullMQ system's (seed 002) `ai` queue, run by the task worker."""

from __future__ import annotations

from jobline.core.queues import KEEP_A_DAY, TASK_WORKER, RateLimit, one_at_a_time_queue

AI = "ai"

DOMAIN_QUEUES = (
    # One at a time: a model call may take the whole 60 s timeout.
    one_at_a_time_queue(
        AI,
        TASK_WORKER,
        attempts=3,
        job_timeout_seconds=60,
        concurrency=3,
        default_priority=7,
        rate_limit=RateLimit(max_jobs=20, per_seconds=60),
        keep_completed=KEEP_A_DAY,
    ),
)
