"""The notification domain's queues: e-mail and SMS, run by the notifier, each with a priority lane."""

from __future__ import annotations

from jobline.core.queues import KEEP_A_DAY, RateLimit, notification_queue

EMAIL = "email"
SMS = "sms"

_PER_MINUTE_50 = RateLimit(max_jobs=50, per_seconds=60)

DOMAIN_QUEUES = (
    # Seed 002's email queue: 5 attempts, exponential backoff from 1 s, priority 3 (higher).
    notification_queue(
        EMAIL,
        attempts=5,
        rate_limit=_PER_MINUTE_50,
        priority_lane=True,
        default_priority=3,
        keep_completed=KEEP_A_DAY,
    ),
    notification_queue(SMS, rate_limit=_PER_MINUTE_50, priority_lane=True),
)
