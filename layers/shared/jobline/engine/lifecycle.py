"""Lifecycle events: a finished job is announced on EventBridge, and to its callback URL.

Announcing never changes a job's outcome: an EventBridge failure is logged, and a
callback is a job of its own (queue `webhooks`) with its own retries.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from jobline.core.errors import JoblineError
from jobline.core.job import Job
from jobline.runtime import Runtime
from jobline.telemetry.observability import logger

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


# PutEvents takes at most 10 entries a call.
PUT_EVENTS_MAX = 10
# PutEvents calls of one flush in flight at once (a batch of 100 jobs makes 10).
PUT_EVENTS_CONCURRENCY = 10


class Announcer:
    """Collects finished jobs and publishes their events in batches (one PutEvents per 10 jobs,
    not one per job); callbacks are queued at once, since each is a job of its own."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._pending: list[Job] = []

    def add(self, job: Job) -> None:
        """Queue the job's callback now; keep its event for the next flush."""
        if job.callback_url:
            _queue_callback(self._runtime, job, event_detail(job))
        if self._runtime.settings.jobline_event_bus:
            self._pending.append(job)

    def flush(self) -> None:
        """Publish the kept events, best effort: a failure is logged, the jobs' outcomes stand.

        A batch's PutEvents calls go out side by side: each waits on the network, and one
        after another they would cost a batch of 100 jobs ten round trips to EventBridge.
        """
        pending, self._pending = self._pending, []
        chunks = [pending[start : start + PUT_EVENTS_MAX] for start in range(0, len(pending), PUT_EVENTS_MAX)]
        if not chunks:
            return
        # Made here, once: creating a boto3 client is not safe from several threads at once.
        events = self._runtime.client("events")
        if len(chunks) == 1:
            self._put(events, chunks[0])
            return
        with ThreadPoolExecutor(max_workers=min(len(chunks), PUT_EVENTS_CONCURRENCY)) as pool:
            list(pool.map(lambda chunk: self._put(events, chunk), chunks))

    def _put(self, events: Any, chunk: list[Job]) -> None:
        bus = self._runtime.settings.jobline_event_bus
        entries = [
            {
                "Source": SOURCE,
                "DetailType": f"Job {job.state.value.title()}",
                "Detail": json.dumps(event_detail(job), default=str),
                "EventBusName": bus,
            }
            for job in chunk
        ]
        try:
            response = events.put_events(Entries=entries)
            if response.get("FailedEntryCount"):
                logger.warning("lifecycle events refused", extra={"entries": response["Entries"]})
        except Exception:  # noqa: BLE001 - the outcomes are recorded; the events are best effort
            logger.exception("lifecycle events not published", extra={"job_ids": [j.id for j in chunk]})


def announce(runtime: Runtime, job: Job) -> None:
    """Publish one finished job's event now and queue its callback, if it has one."""
    announcer = Announcer(runtime)
    announcer.add(job)
    announcer.flush()


def _queue_callback(runtime: Runtime, job: Job, detail: dict[str, Any]) -> None:
    from jobline.engine import callbacks  # the callback job type lives beside its sender
    from jobline.engine.enqueue import JobOptions, enqueue

    try:
        enqueue(
            runtime,
            queue=callbacks.QUEUE,
            name=callbacks.JOB_NAME,
            data={"url": job.callback_url, "event": f"job.{job.state.value}", "payload": detail},
            tenant_id=job.tenant_id,
            # One callback per outcome of each dispatch, however often this runs.
            options=JobOptions(job_id=f"callback:{job.id}:{job.dispatch}:{job.state.value}"),
        )
    except (JoblineError, Exception):  # noqa: BLE001 - a lost callback must not undo the job's outcome
        logger.exception("callback not queued", extra={"job_id": job.id, "queue": job.queue})
