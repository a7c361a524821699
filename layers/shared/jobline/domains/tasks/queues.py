"""The generic-task queue, run by the task worker, with a priority lane."""

from __future__ import annotations

from jobline.core.queues import EXPONENTIAL_FROM_2S, TASK_WORKER, queue_settings

GENERIC_TASK = "generic-task"

DOMAIN_QUEUES = (
    queue_settings(
        GENERIC_TASK, TASK_WORKER, attempts=3, backoff=EXPONENTIAL_FROM_2S, job_timeout_seconds=60, priority_lane=True
    ),
)
