"""Admin job routes (Bull-board style): stats, listing, retry, remove, promote, pause, clean, drain.

Admins act on their own tenant's jobs; operators on every tenant's. An admin's pause stops
its tenant's jobs on the queue (the others run); an operator's stops the queue for everyone.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from jobline.api import deps
from jobline.api.envelope import Envelope, responses
from jobline.api.errors import InvalidRequest
from jobline.api.queues import act_on_job, set_paused, stats_views
from jobline.api.schemas import (
    CleanRequest,
    DrainRequest,
    JobIdPath,
    JobPage,
    JobView,
    QueuePath,
    QueuePaused,
    QueueStatsView,
    Removed,
)
from jobline.core.queues import QUEUES
from jobline.core.states import JobState
from jobline.engine import operations
from jobline.store.ports import MAX_PAGE

router = APIGatewayHttpRouter()
TAGS = ["admin"]
# Seed 002's default page: jobs 0..10 (inclusive, like BullMQ's getJobs).
DEFAULT_PAGE_END = 10


@router.get("/admin/jobs/stats", summary="Job counts of every queue", tags=TAGS, responses=responses(403))
def all_stats(runtime: deps.RuntimeDep, admin: deps.AdminDep) -> Envelope[list[QueueStatsView]]:
    """One entry per queue in the registry."""
    return Envelope(message="queue stats", data=stats_views(runtime, QUEUES, tenant_id=admin.scope))


@router.get("/admin/jobs/<queue>/stats", summary="Job counts of one queue", tags=TAGS, responses=responses(403, 404))
def queue_stats(queue: QueuePath, runtime: deps.RuntimeDep, admin: deps.AdminDep) -> Envelope[QueueStatsView]:
    """Counts per state, the paused flag and, for operators, the SQS and DLQ depths."""
    stats = operations.queue_stats(runtime, queue, tenant_id=admin.scope)
    return Envelope(message="queue stats", data=QueueStatsView.of(stats))


@router.get("/admin/jobs/<queue>/jobs", summary="A page of a queue's jobs", tags=TAGS, responses=responses(403, 404))
def list_jobs(
    queue: QueuePath,
    runtime: deps.RuntimeDep,
    admin: deps.AdminDep,
    state: Annotated[JobState, Query()] = JobState.WAITING,
    start: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    end: Annotated[int, Query(ge=0, le=1_000_000)] = DEFAULT_PAGE_END,
) -> Envelope[JobPage]:
    """Jobs `start`..`end` (inclusive, like Bull's getJobs) in `state`; finished ones newest first."""
    if end < start:
        raise InvalidRequest("query.end", "end must not be before start")
    if end - start + 1 > MAX_PAGE:
        raise InvalidRequest("query.end", f"a page holds at most {MAX_PAGE} jobs")
    jobs = operations.list_jobs(runtime, queue, state, offset=start, limit=end - start + 1, tenant_id=admin.scope)
    page = JobPage(state=state, start=start, end=end, jobs=[JobView.of(job) for job in jobs])
    return Envelope(message="jobs", data=page)


@router.get("/admin/jobs/<queue>/<jobId>", summary="One job", tags=TAGS, responses=responses(403, 404))
def get_job(queue: QueuePath, job_id: JobIdPath, runtime: deps.RuntimeDep, admin: deps.AdminDep) -> Envelope[JobView]:
    """The job, if it is in `queue` and visible to the caller."""
    return act_on_job(operations.get_job, runtime, queue, job_id, admin, "job")


@router.post(
    "/admin/jobs/<queue>/<jobId>/retry", summary="Retry a failed job", tags=TAGS, responses=responses(403, 404, 409)
)
def retry_job(queue: QueuePath, job_id: JobIdPath, runtime: deps.RuntimeDep, admin: deps.AdminDep) -> Envelope[JobView]:
    """Put a failed job back on its queue with its attempts renewed; 409 unless it failed."""
    return act_on_job(operations.retry_job, runtime, queue, job_id, admin, "job retried")


@router.post(
    "/admin/jobs/<queue>/<jobId>/promote",
    summary="Run a delayed job now",
    tags=TAGS,
    responses=responses(403, 404, 409),
)
def promote_job(
    queue: QueuePath, job_id: JobIdPath, runtime: deps.RuntimeDep, admin: deps.AdminDep
) -> Envelope[JobView]:
    """Move a delayed job to waiting; 409 unless it is delayed."""
    return act_on_job(operations.promote_job, runtime, queue, job_id, admin, "job promoted")


@router.delete("/admin/jobs/<queue>/<jobId>", summary="Remove a job", tags=TAGS, responses=responses(403, 404, 409))
def remove_job(
    queue: QueuePath, job_id: JobIdPath, runtime: deps.RuntimeDep, admin: deps.AdminDep
) -> Envelope[JobView]:
    """Delete a job that is not running (409 while it runs); answers the removed job."""
    return act_on_job(operations.remove_job, runtime, queue, job_id, admin, "job removed")


@router.post(
    "/admin/jobs/<queue>/pause",
    summary="Pause a queue (an admin: its tenant's jobs; an operator: everyone's)",
    tags=TAGS,
    responses=responses(403, 404),
)
def pause_queue(queue: QueuePath, runtime: deps.RuntimeDep, admin: deps.AdminDep) -> Envelope[QueuePaused]:
    """Stop running the caller's tenant's jobs on `queue` (an operator: the whole queue); messages
    wait and no attempt is spent."""
    return set_paused(runtime, [queue], paused=True, tenant_id=admin.scope, label="queue")


@router.post(
    "/admin/jobs/<queue>/resume",
    summary="Resume a queue (an admin: its tenant's jobs; an operator: everyone's)",
    tags=TAGS,
    responses=responses(403, 404),
)
def resume_queue(queue: QueuePath, runtime: deps.RuntimeDep, admin: deps.AdminDep) -> Envelope[QueuePaused]:
    """Run the caller's tenant's jobs on `queue` again (an operator: restart the whole queue)."""
    return set_paused(runtime, [queue], paused=False, tenant_id=admin.scope, label="queue")


@router.post("/admin/jobs/<queue>/clean", summary="Remove old finished jobs", tags=TAGS, responses=responses(403, 404))
def clean_queue(
    queue: QueuePath, body: Annotated[CleanRequest, Body()], runtime: deps.RuntimeDep, admin: deps.AdminDep
) -> Envelope[Removed]:
    """Remove completed (or failed) jobs that finished more than `grace` ms ago."""
    removed = operations.clean_queue(
        runtime,
        queue,
        grace=dt.timedelta(milliseconds=body.grace),
        state=JobState(body.state),
        limit=body.limit or operations.SWEEP_LIMIT,
        tenant_id=admin.scope,
    )
    return Envelope(message="queue cleaned", data=Removed(removed=removed, by_queue={queue: removed}))


@router.post("/admin/jobs/<queue>/drain", summary="Remove waiting jobs", tags=TAGS, responses=responses(403, 404))
def drain_queue(
    queue: QueuePath,
    runtime: deps.RuntimeDep,
    admin: deps.AdminDep,
    body: Annotated[DrainRequest | None, Body()] = None,
) -> Envelope[Removed]:
    """Remove waiting jobs, and delayed ones when `{"delayed": true}`."""
    include_delayed = body.delayed if body else False
    removed = operations.drain_queue(runtime, queue, include_delayed=include_delayed, tenant_id=admin.scope)
    return Envelope(message="queue drained", data=Removed(removed=removed, by_queue={queue: removed}))
