"""The tick's re-send of jobs whose worker died: an `active` job whose lease has expired.

A worker killed mid-attempt (crash, Lambda timeout, out of memory) leaves its job `active`,
and the message it held stays invisible until the queue's visibility timeout ends (30
minutes for the room and task queues). The lease says much sooner that nobody runs the job
any more, so the tick puts it back on its queue with a fresh message (a new dispatch, through
`dispatch.move`). The next delivery goes through the worker's usual gates: it takes the job
over (one more attempt) or, when the dead worker had its last attempt, fails it. The dead
worker's own message, when it comes back, names the old dispatch and is dropped as stale.

The re-sent job keeps its state and clears its lease (`lease_until` None: nobody holds it),
which is also what keeps the next tick from sending it again while its message waits in a
long queue: only a lease, set by the next claim, can expire again.
"""

from __future__ import annotations

from jobline.core.errors import EnqueueFailed, StaleJob
from jobline.core.job import Job
from jobline.core.states import JobState
from jobline.engine import dispatch
from jobline.runtime import Runtime
from jobline.telemetry.observability import logger

# Active jobs number about the running workers (and what they claimed ahead), so a few pages
# cover a queue; the bounds keep one tick's work small even when a whole fleet died at once.
PAGE = 500
MAX_PAGES_PER_QUEUE = 4
MAX_RESENDS_PER_QUEUE = 200


def _expired(runtime: Runtime, queue: str) -> list[Job]:
    """Up to MAX_RESENDS_PER_QUEUE active jobs of `queue` whose lease ended, oldest first."""
    now = runtime.clock()
    found: list[Job] = []
    for page in range(MAX_PAGES_PER_QUEUE):
        jobs = runtime.store.list_jobs(queue, JobState.ACTIVE, offset=page * PAGE, limit=PAGE)
        found.extend(job for job in jobs if job.lease_until is not None and job.lease_until < now)
        if len(jobs) < PAGE or len(found) >= MAX_RESENDS_PER_QUEUE:
            break
    return found[:MAX_RESENDS_PER_QUEUE]


def resend_expired_leases(runtime: Runtime, queue: str) -> int:
    """Put `queue`'s active jobs whose lease expired back on it with a fresh message; returns how many."""
    resent = 0
    for job in _expired(runtime, queue):
        moved = job.moved_to(JobState.ACTIVE, lease_until=None, dispatch=job.dispatch + 1, message_sent=True)
        try:
            dispatch.move(runtime, job, moved)
        except StaleJob:
            continue  # its outcome was written, or another worker or tick moved it, since we read it
        except EnqueueFailed:
            # Put back as it was (lease expired): the next tick tries again.
            logger.warning("could not re-send a job whose lease expired", exc_info=True, extra={"job_id": job.id})
            continue
        logger.info(
            "re-sent a job whose worker stopped", extra={"job_id": job.id, "queue": queue, "attempt": job.attempts}
        )
        resent += 1
    return resent
