"""The worker runtime: one SQS record is one job call, partial batch failures always reported.

Timeline of one delivery:

    receive ─▶ read job ─▶ (removed | finished | stale dispatch) ─▶ ack, nothing runs
                    │
                    ├─▶ another worker's lease is live ─▶ leave the message, look again when it ends
                    ├─▶ queue paused / rate limited / not due ─▶ re-send with a delay, ack (no attempt spent)
                    ▼
               CAS waiting→active (attempts+1, lease) ─▶ run the function under its timeout
                    │
                    ├─▶ returned ─▶ CAS active→completed, ack
                    ├─▶ raised, attempts left ─▶ CAS active→waiting, visibility = backoff, report failure
                    └─▶ raised, out of attempts ─▶ message to DLQ, CAS active→failed, ack

A message that kills its worker is redelivered after the visibility timeout; its job
is still `active` with an expired lease, so the next delivery takes it over (or fails
it when that was the last attempt). If the worker dies every time, SQS's redrive moves
the message to the DLQ and `ticks.reconcile_dead_letters` marks the job failed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import traceback
from collections.abc import Iterator
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic_core import to_jsonable_python

from jobline import lifecycle, metrics
from jobline.context import JobContext
from jobline.errors import JobCancelled, StaleJob, UnrecoverableError
from jobline.handlers import get_job_type
from jobline.jobs import MAX_STACKTRACE_CHARS, Job, JobMessage
from jobline.observability import logger, trace_root, tracer
from jobline.queues import QueueSettings, get_queue
from jobline.retry import next_retry_delay
from jobline.runtime import Runtime
from jobline.states import JobState
from jobline.timeouts import run_with_timeout
from jobline.transport import MAX_DELAY_SECONDS

# How long a paused queue's message waits before it looks at the flag again.
PAUSED_RECHECK_SECONDS = 30
# A lease outlives the job timeout by this much, so only a dead worker loses its lease.
LEASE_GRACE_SECONDS = 30
# Leave the Lambda this long after a job times out, to record the outcome.
LAMBDA_RESERVE_SECONDS = 5


class Outcome(enum.StrEnum):
    COMPLETED = "completed"
    RETRYING = "retrying"
    FAILED = "failed"
    SKIPPED = "skipped"
    REQUEUED = "requeued"
    DEFERRED = "deferred"


class RedeliverLater(Exception):
    """Leave the message on its queue, to be delivered again after `seconds`."""

    def __init__(self, seconds: float, outcome: Outcome, reason: str) -> None:
        super().__init__(reason)
        self.seconds = seconds
        self.outcome = outcome


class Worker:
    """Runs the jobs that SQS delivers, against one runtime."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._announcer = lifecycle.Announcer(runtime)
        self._outcomes = metrics.OutcomeRecorder()
        self._in_batch = False
        # What the batch being handled read up front: its jobs (each used once) and the paused queues.
        self._prefetched: dict[str, Job] = {}
        self._paused: set[str] | None = None

    def handle_batch(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """The Lambda entry point for an SQS batch; returns the partial batch response."""
        processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        # A batch's lifecycle events and metrics go out together, after its last record.
        self._in_batch = True
        self._prefetch(event)
        try:
            response = process_partial_response(
                event=event, record_handler=self._handle_record, processor=processor, context=context
            )
        finally:
            self._in_batch = False
            self._prefetched, self._paused = {}, None
            self._flush()
        return dict(response)

    def _prefetch(self, event: dict[str, Any]) -> None:
        """Read the batch's jobs and the paused queues in two round trips, not two per record."""
        try:
            ids = [JobMessage.model_validate_json(record["body"]).job_id for record in event.get("Records", [])]
            self._prefetched = self.runtime.store.get_many(ids)
            self._paused = self.runtime.store.paused_queues()
        except Exception:  # noqa: BLE001 - each record reads for itself then, and fails on its own
            logger.warning("batch prefetch failed; reading job by job", exc_info=True)
            self._prefetched, self._paused = {}, None

    def _read_job(self, job_id: str) -> Job | None:
        # A prefetched job serves its first record only: a second copy of the message in the
        # batch must see what the first one wrote.
        prefetched = self._prefetched.pop(job_id, None)
        return prefetched if prefetched is not None else self.runtime.store.get(job_id)

    def _is_paused(self, queue: str) -> bool:
        return queue in self._paused if self._paused is not None else self.runtime.store.is_paused(queue)

    def _flush(self) -> None:
        self._announcer.flush()
        self._outcomes.flush(self.runtime)

    def _attempt_ended(self, job: Job, status: metrics.EmfStatus, *, announce: bool) -> None:
        """Count the attempt and announce a finished job; at once unless a batch is running."""
        self._outcomes.record(job, status, self.runtime.clock())
        if announce:
            self._announcer.add(job)
        if not self._in_batch:
            self._flush()

    def _handle_record(self, record: SQSRecord, lambda_context: Any = None) -> str:
        remaining = None
        if lambda_context is not None and hasattr(lambda_context, "get_remaining_time_in_millis"):
            remaining = lambda_context.get_remaining_time_in_millis() / 1000
        try:
            return self.process(record.body, receipt_handle=record.receipt_handle, remaining_seconds=remaining)
        except RedeliverLater as later:
            message = JobMessage.model_validate_json(record.body)
            try:
                self.runtime.transport.change_visibility(message, record.receipt_handle, later.seconds)
            except Exception:  # noqa: BLE001 - the message still comes back, after the queue's default timeout
                logger.exception(
                    "could not set the message's visibility", extra={"job_id": message.job_id, "queue": message.queue}
                )
            raise

    def process(self, body: str, *, receipt_handle: str = "", remaining_seconds: float | None = None) -> str:
        """Handle one message; returns the outcome or raises RedeliverLater to keep the message.

        Every log line written meanwhile, the job function's included, carries the job id,
        queue and tenant; the X-Ray subsegment names the trace of the request that enqueued it.
        """
        message = JobMessage.model_validate_json(body)
        with logger.append_context_keys(job_id=message.job_id, queue=message.queue), self._traced(message):
            try:
                return self._process(message, remaining_seconds)
            finally:
                logger.remove_keys(["tenant_id"])

    @contextlib.contextmanager
    def _traced(self, message: JobMessage) -> Iterator[None]:
        if tracer.disabled:
            yield
            return
        with tracer.provider.in_subsegment(f"## job {message.queue}") as subsegment:
            subsegment.put_annotation("job_id", message.job_id)
            subsegment.put_annotation("queue", message.queue)
            origin = trace_root(message.trace_id)
            if origin:
                subsegment.put_annotation("origin_trace_id", origin)
            yield

    def _process(self, message: JobMessage, remaining_seconds: float | None) -> str:
        settings = get_queue(message.queue)
        store = self.runtime.store
        job = self._read_job(message.job_id)
        if job is None or job.dispatch != message.dispatch or job.is_finished:
            logger.info("message needs no work", extra={"state": job.state if job else "removed"})
            return Outcome.SKIPPED
        logger.append_keys(tenant_id=job.tenant_id)
        now = self.runtime.clock()

        if job.state is JobState.ACTIVE and job.lease_until and job.lease_until > now:
            wait = (job.lease_until - now).total_seconds() + 1
            raise RedeliverLater(wait, Outcome.DEFERRED, "another worker holds the job")
        if self._is_paused(job.queue):
            return self._requeue(message, PAUSED_RECHECK_SECONDS, "queue paused")
        if job.run_at and job.state is JobState.DELAYED and (job.run_at - now).total_seconds() > 1:
            return self._requeue(message, (job.run_at - now).total_seconds(), "not due yet")
        if settings.rate_limit is not None:
            wait = store.take_rate_slot(
                job.queue, max_jobs=settings.rate_limit.max_jobs, per_seconds=settings.rate_limit.per_seconds, now=now
            )
            if wait > 0:
                return self._requeue(message, wait, "rate limited")
        if job.state is JobState.ACTIVE and job.attempts >= job.max_attempts:
            # The lease expired: the worker of the last attempt died (crash or Lambda timeout).
            return self._fail(job, message, "the worker stopped during the last attempt (crash or timeout)", None)

        timeout = self._timeout(job, settings, remaining_seconds)
        try:
            job = store.replace(
                job.moved_to(
                    JobState.ACTIVE,
                    attempts=job.attempts + 1,
                    started_at=now,
                    lease_until=now + dt.timedelta(seconds=timeout + LEASE_GRACE_SECONDS),
                    progress=0,
                ),
                expected_version=job.version,
                previous=job,
            )
        except StaleJob:
            raise RedeliverLater(1, Outcome.DEFERRED, "the job changed while it was being taken") from None
        logger.debug("job started", extra={"attempt": job.attempts})
        return self._run(job, message, timeout)

    def _timeout(self, job: Job, settings: QueueSettings, remaining_seconds: float | None) -> float:
        timeout = float(job.timeout_seconds or settings.job_timeout_seconds)
        if remaining_seconds is not None:
            timeout = min(timeout, max(1.0, remaining_seconds - LAMBDA_RESERVE_SECONDS))
        return timeout

    def _requeue(self, message: JobMessage, seconds: float, reason: str) -> str:
        # A fresh message instead of a visibility change: SQS counts every receive toward
        # the redrive limit, and waiting on a pause or a limit must not push a job to the DLQ.
        self.runtime.transport.send(message, delay_seconds=min(seconds, MAX_DELAY_SECONDS))
        logger.info("message re-queued", extra={"reason": reason, "delay_seconds": round(seconds, 3)})
        return Outcome.REQUEUED

    def _run(self, job: Job, message: JobMessage, timeout: float) -> str:
        """Run the attempt and decide its outcome: the one place a job's final state is chosen."""
        context = JobContext(self.runtime, job, timeout_seconds=timeout)
        try:
            job_type = get_job_type(job.queue, job.name)
            data = self.runtime.payloads.get(job.data_ref) if job.data_ref else job.data
            payload = job_type.parse(data)
            result = to_jsonable_python(run_with_timeout(lambda: job_type.run(payload, context), timeout))
        except JobCancelled:
            logger.info("job removed while it ran")
            return Outcome.SKIPPED
        except Exception as exc:  # noqa: BLE001 - any failure of the job's function is the job's failure
            return self._attempt_failed(context.job, message, exc)
        return self._complete(context.job, result)

    def _complete(self, job: Job, result: Any) -> str:
        now = self.runtime.clock()
        done = job.moved_to(
            JobState.COMPLETED,
            result=result,
            progress=100,
            finished_at=now,
            lease_until=None,
            error=None,
            stacktrace=None,
        )
        try:
            stored = self.runtime.store.replace(done, expected_version=job.version, previous=job)
        except StaleJob:
            logger.warning("job changed before it could be recorded completed")
            return Outcome.SKIPPED
        logger.info("job completed", extra={"attempt": stored.attempts})
        self._attempt_ended(stored, metrics.EmfStatus.COMPLETED, announce=True)
        return Outcome.COMPLETED

    def _attempt_failed(self, job: Job, message: JobMessage, exc: BaseException) -> str:
        error = f"{type(exc).__name__}: {exc}"
        stack = "".join(traceback.format_exception(exc))[-MAX_STACKTRACE_CHARS:]
        delay = None
        if not isinstance(exc, UnrecoverableError):
            delay = next_retry_delay(backoff=job.backoff, attempts_made=job.attempts, max_attempts=job.max_attempts)
        if delay is None:
            return self._fail(job, message, error, stack)
        now = self.runtime.clock()
        retry = job.moved_to(
            JobState.WAITING,
            error=error,
            stacktrace=stack,
            lease_until=None,
            run_at=now + dt.timedelta(seconds=delay),
        ).with_log(f"attempt {job.attempts} failed: {error}; next attempt in {delay} s")
        try:
            stored = self.runtime.store.replace(retry, expected_version=job.version, previous=job)
        except StaleJob:
            return Outcome.SKIPPED
        logger.warning("job attempt failed; retrying", extra={"delay_seconds": delay, "error": error})
        self._attempt_ended(stored, metrics.EmfStatus.RETRYING, announce=False)
        raise RedeliverLater(delay, Outcome.RETRYING, error)

    def _fail(self, job: Job, message: JobMessage, error: str, stack: str | None) -> str:
        # The DLQ first: if recording fails afterwards, the redelivery finds the job still
        # active and fails it again; the reconciler drops a DLQ copy whose job is gone.
        self.runtime.transport.dead_letter(message, error=error)
        failed = job.moved_to(
            JobState.FAILED, error=error, stacktrace=stack, finished_at=self.runtime.clock(), lease_until=None
        )
        try:
            stored = self.runtime.store.replace(failed, expected_version=job.version, previous=job)
        except StaleJob:
            return Outcome.SKIPPED
        logger.error("job failed", extra={"error": error, "attempt": stored.attempts})
        self._attempt_ended(stored, metrics.EmfStatus.FAILED, announce=True)
        return Outcome.FAILED
