"""The waitlist's queues, all internal: no route adds a job to them by name, only the waitlist's
own code, schedules and trigger routes do.

Seed 003's policies: expired holds 3 attempts (exponential), cleanup 2 attempts (fixed delay).
"""

from __future__ import annotations

from jobline.core.queues import (
    EXPONENTIAL_FROM_2S,
    WAITLIST_WORKER,
    notification_queue,
    one_at_a_time_queue,
    queue_settings,
)
from jobline.core.retry import Backoff, BackoffKind

EXPIRED_HOLDS = "waitlist-expired-holds"
CASCADE = "waitlist-cascade"
NOTIFICATIONS = "waitlist-notifications"
CLEANUP = "waitlist-cleanup"

DOMAIN_QUEUES = (
    one_at_a_time_queue(EXPIRED_HOLDS, WAITLIST_WORKER, attempts=3, job_timeout_seconds=50, internal=True),
    queue_settings(
        CASCADE, WAITLIST_WORKER, attempts=5, backoff=EXPONENTIAL_FROM_2S, job_timeout_seconds=50, internal=True
    ),
    notification_queue(NOTIFICATIONS, internal=True),
    one_at_a_time_queue(
        CLEANUP,
        WAITLIST_WORKER,
        attempts=2,
        backoff=Backoff(type=BackoffKind.FIXED, delay=5),
        job_timeout_seconds=50,
        internal=True,
    ),
)
# The four, in the order the job-management routes list, pause and clear them.
WAITLIST_QUEUES = tuple(queue.name for queue in DOMAIN_QUEUES)
