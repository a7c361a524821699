"""Running a job inside the request that created it, with its queue as the safety net."""

from __future__ import annotations

from jobline.jobs import Job, JobMessage
from jobline.runtime import Runtime
from jobline.worker import RedeliverLater, Worker

# The enqueued message of an inline job is held back this long. If the request dies
# mid-run, the worker takes the job over from there (after its lease); if the run
# finished, the message finds the job done and is dropped.
SAFETY_NET_DELAY_SECONDS = 60


def run_inline(runtime: Runtime, job: Job, *, remaining_seconds: float | None = None) -> Job:
    """Run one attempt of `job` now, exactly as a worker would; returns the job as recorded after it.

    A failed attempt with attempts left is re-queued with its backoff; a paused or
    rate-limited queue leaves the job to its worker.
    """
    message = JobMessage.for_job(job)
    try:
        Worker(runtime).process(message.model_dump_json(), remaining_seconds=remaining_seconds)
    except RedeliverLater as later:
        runtime.transport.send(message, delay_seconds=later.seconds)
    return runtime.store.get(job.id) or job
