"""The export domain's queues, run by the task worker: seed 001's `data-export` and the BullMQ
system's (seed 002) `export`, with its defaults."""

from __future__ import annotations

from jobline.core.queues import KEEP_A_DAY, KEEP_A_WEEK, TASK_WORKER, RateLimit, one_at_a_time_queue

DATA_EXPORT = "data-export"
EXPORT = "export"

DOMAIN_QUEUES = (
    one_at_a_time_queue(DATA_EXPORT, TASK_WORKER, job_timeout_seconds=240, sync_fallback=True),
    one_at_a_time_queue(
        EXPORT,
        TASK_WORKER,
        attempts=2,
        job_timeout_seconds=240,
        concurrency=2,
        default_priority=5,
        rate_limit=RateLimit(max_jobs=10, per_seconds=60),
        keep_completed=KEEP_A_DAY,
        keep_failed=KEEP_A_WEEK,
        sync_fallback=True,
    ),
)
