"""The tick's release of delayed jobs: a job delayed past what SQS can hold (15 minutes) waits in
the store with no message, and is sent here once it falls due before the next tick."""

from __future__ import annotations

from jobline.core.clock import TICK_HORIZON
from jobline.core.errors import EnqueueFailed, StaleJob
from jobline.core.states import JobState
from jobline.engine import dispatch
from jobline.runtime import Runtime
from jobline.telemetry.observability import logger

_RELEASE_PAGE = 500


def release_due_delayed(runtime: Runtime, queue: str) -> int:
    """Send the delayed jobs of `queue` that fall due before the next tick; returns how many."""
    now = runtime.clock()
    released = 0
    due = runtime.store.list_due(queue, JobState.DELAYED, until=now + TICK_HORIZON, limit=_RELEASE_PAGE)
    for job in due:
        if job.message_sent:
            continue  # its SQS message (a short delay, or a retry's backoff) is on its way
        waiting = job.moved_to(JobState.WAITING, message_sent=True)
        delay = max(0.0, (job.run_at - now).total_seconds()) if job.run_at else 0.0
        try:
            dispatch.move(runtime, job, waiting, delay_seconds=delay)
        except StaleJob:
            continue  # another tick, a promote or a remove got there first
        except EnqueueFailed:
            # Put back as delayed, unsent: the next tick tries again.
            logger.warning("could not release a delayed job", exc_info=True, extra={"job_id": job.id})
            continue
        released += 1
    return released
