"""Running a job inside the request that created it, with its queue as the safety net."""

from __future__ import annotations

from typing import Any

from jobline.core.context import JobContext
from jobline.core.errors import EnqueueFailed
from jobline.core.job import Job, JobMessage, new_job_id
from jobline.core.registry import get_job_type
from jobline.core.states import JobState
from jobline.core.timeouts import run_with_timeout
from jobline.engine import outages
from jobline.engine.outcomes import RedeliverLater
from jobline.engine.worker import Worker
from jobline.runtime import Runtime

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
        # Not a dispatch (engine/dispatch.py): the record is the worker's to write, and a failed send here
        # leaves the enqueue's held-back message to wake it, as it would a request that died.
        runtime.transport.send(message, delay_seconds=later.seconds)
    return runtime.store.get(job.id) or job


# A job run inside a request gets this long: API Gateway gives up after 30 s.
REQUEST_BUDGET_SECONDS = 25


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says a backing service (job store, queue) cannot take work now, as opposed to
    a refusal of this request: only then may a job run in the request instead. The same
    classification as the worker's (`engine.outages`), plus an enqueue the queue refused."""
    if isinstance(exc, EnqueueFailed):
        return True  # the record was taken back after the queue refused the message
    return outages.is_outage(exc)


class DetachedContext(JobContext):
    """A job context with nowhere to write: progress, log lines and checkpoints stay on the
    in-memory job, because the store that would keep them is the thing that is down."""

    def _write(self, change: Any) -> None:
        self._job = change(self._job)


def run_in_request(
    runtime: Runtime,
    *,
    queue: str,
    name: str,
    data: dict[str, Any],
    tenant_id: str,
    user_id: str | None,
    remaining_seconds: float,
) -> Job:
    """Run a job of `name` once, now, without the store or the queue; returns the job as it ended
    (never stored). The function's own error propagates: the caller says the job did not run."""
    job_type = get_job_type(queue, name)
    now = runtime.clock()
    job = Job(
        id=new_job_id(),
        queue=queue,
        name=name,
        tenant_id=tenant_id,
        user_id=user_id,
        data=job_type.validate(data),
        state=JobState.ACTIVE,
        attempts=1,
        max_attempts=1,
        created_at=now,
        started_at=now,
        timeout_seconds=remaining_seconds,
    )
    ctx = DetachedContext(runtime, job, timeout_seconds=remaining_seconds)
    payload = job_type.parse(job.data)
    result = run_with_timeout(lambda: job_type.run(payload, ctx), remaining_seconds)
    return ctx.job.moved_to(JobState.COMPLETED, result=result, progress=100, finished_at=runtime.clock())
