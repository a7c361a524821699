"""The notification domain's queues: e-mail and SMS, run by the notifier, each with a priority lane."""

from __future__ import annotations

from jobline.core.queues import KEEP_A_DAY, RateLimit, notification_queue

EMAIL = "email"
SMS = "sms"

# Per tenant: one tenant's burst fills only its own window, so another tenant's jobs start at once.
# What then bounds the whole account's sending (SES's send rate, SNS's SMS rate) is the notifier's
# concurrency (each queue's ESM MaximumConcurrency, twice that on the priority lane, one send at a
# time per invocation) and the provider's own throttling: a throttled send is a failed recipient,
# retried by the job's backoff for the recipients not reached (see delivery.py).
_PER_MINUTE_50 = RateLimit(max_jobs=50, per_seconds=60, per_tenant=True)

DOMAIN_QUEUES = (
    # Seed 002's email queue: 5 attempts, exponential backoff from 1 s, priority 3 (higher).
    notification_queue(
        EMAIL,
        attempts=5,
        rate_limit=_PER_MINUTE_50,
        priority_lane=True,
        default_priority=3,
        keep_completed=KEEP_A_DAY,
        sync_fallback=True,
    ),
    notification_queue(SMS, rate_limit=_PER_MINUTE_50, priority_lane=True),
)
