"""Lifecycle events: a finished job is announced on EventBridge, and to its callback URL.

Announcing never changes a job's outcome: an EventBridge failure is logged, and a
callback is a job of its own (queue `webhooks`) with its own retries.
"""

from __future__ import annotations

import json
from typing import Any

from jobline.errors import JoblineError
from jobline.jobs import Job
from jobline.observability import logger
from jobline.runtime import Runtime

SOURCE = "jobline"
# EventBridge takes 256 KB per entry; a result larger than this is left out of the event.
MAX_RESULT_CHARS = 64 * 1024


def event_detail(job: Job) -> dict[str, Any]:
    """What subscribers learn about a finished job (its result only if it is small)."""
    result = job.result
    if result is not None and len(json.dumps(result, default=str)) > MAX_RESULT_CHARS:
        result = None
    return {
        "jobId": job.id,
        "queue": job.queue,
        "name": job.name,
        "tenantId": job.tenant_id,
        "state": job.state.value,
        "attemptsMade": job.attempts,
        "result": result,
        "failedReason": job.error,
        "finishedAt": job.finished_at.isoformat() if job.finished_at else None,
    }


def announce(runtime: Runtime, job: Job) -> None:
    """Publish the finished job's event and queue its callback, if it has one."""
    detail = event_detail(job)
    if runtime.settings.jobline_event_bus:
        try:
            response = runtime.client("events").put_events(
                Entries=[
                    {
                        "Source": SOURCE,
                        "DetailType": f"Job {job.state.value.title()}",
                        "Detail": json.dumps(detail, default=str),
                        "EventBusName": runtime.settings.jobline_event_bus,
                    }
                ]
            )
            if response.get("FailedEntryCount"):
                logger.warning("lifecycle event refused", extra={"job_id": job.id, "entries": response["Entries"]})
        except Exception:  # noqa: BLE001 - the job's outcome is recorded; the event is best effort
            logger.exception("lifecycle event not published", extra={"job_id": job.id, "queue": job.queue})
    if job.callback_url:
        _queue_callback(runtime, job, detail)


def _queue_callback(runtime: Runtime, job: Job, detail: dict[str, Any]) -> None:
    from jobline import webhooks  # the callback job type lives beside its sender
    from jobline.enqueue import JobOptions, enqueue

    try:
        enqueue(
            runtime,
            queue=webhooks.QUEUE,
            name=webhooks.JOB_NAME,
            data={"url": job.callback_url, "event": f"job.{job.state.value}", "payload": detail},
            tenant_id=job.tenant_id,
            # One callback per outcome of each dispatch, however often this runs.
            options=JobOptions(job_id=f"callback:{job.id}:{job.dispatch}:{job.state.value}"),
        )
    except (JoblineError, Exception):  # noqa: BLE001 - a lost callback must not undo the job's outcome
        logger.exception("callback not queued", extra={"job_id": job.id, "queue": job.queue})
