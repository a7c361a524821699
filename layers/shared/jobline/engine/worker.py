"""The worker runtime: one SQS record is one job call, partial batch failures always reported.

Timeline of one delivery:

    receive ─▶ read job ─▶ (removed | finished | stale dispatch) ─▶ ack, nothing runs
                    │
                    ├─▶ another worker's lease is live ─▶ leave the message, look again when it ends
                    ├─▶ queue (or its tenant there) paused / rate limited / not due ─▶ re-send with a delay,
                    │   ack (no attempt spent)
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
import dataclasses
import datetime as dt
import enum
import time
import traceback
from collections.abc import Iterator
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic_core import to_jsonable_python

from jobline.aws.sqs import MAX_DELAY_SECONDS
from jobline.core.context import JobContext
from jobline.core.errors import JobCancelled, StaleJob, UnrecoverableError
from jobline.core.job import MAX_STACKTRACE_CHARS, Job, JobMessage
from jobline.core.queues import QueueSettings, get_queue
from jobline.core.registry import get_job_type
from jobline.core.retry import next_retry_delay
from jobline.core.states import JobState
from jobline.core.timeouts import run_with_timeout
from jobline.engine import lifecycle, outcomes
from jobline.runtime import Runtime
from jobline.store.ports import Pauses, Replacement
from jobline.telemetry import metrics
from jobline.telemetry.observability import logger, trace_root, tracer

# How long a paused queue's (or paused tenant's) message waits before it looks at the flags again.
PAUSED_RECHECK_SECONDS = 30
# A lease outlives the job timeout by this much, so only a dead worker loses its lease.
LEASE_GRACE_SECONDS = 30
# Leave the Lambda this long after a job times out, to record the outcome.
LAMBDA_RESERVE_SECONDS = 5
# Claiming ahead: while a batch's jobs each run within this budget, the worker takes the next
# ones together (in one store round trip), doubling up to this many at once.
CLAIM_AHEAD_BUDGET_SECONDS = 0.05
CLAIM_AHEAD_MAX = 100
# What every log line names while a job is handled.
JOB_LOG_KEYS = ("job_id", "queue", "tenant_id")


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


@dataclasses.dataclass
class _Batch:
    """What the worker knows of the SQS batch it is handling."""

    messages: list[tuple[str, JobMessage]]  # (message id, message), in the order they are handled
    jobs: dict[str, Job]  # read up front; each serves its first message only
    paused: Pauses | None  # None: read the flags per message
    claimed: dict[str, Job] = dataclasses.field(default_factory=dict)  # by message id, claimed ahead
    claim_size: int = 1
    last_claim: tuple[float, int] = (0.0, 0)  # (monotonic time, jobs) of the latest claim

    def next_claim_size(self, now: float) -> int:
        """Claim ahead only while jobs run fast: a claim whose jobs all ran within the budget
        doubles the next one; a slow job brings it back to one."""
        claimed_at, count = self.last_claim
        if count and now - claimed_at <= CLAIM_AHEAD_BUDGET_SECONDS * count:
            self.claim_size = min(CLAIM_AHEAD_MAX, self.claim_size * 2)
        else:
            self.claim_size = 1
        return self.claim_size


class Worker:
    """Runs the jobs that SQS delivers, against one runtime."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._announcer = lifecycle.Announcer(runtime)
        self._emf = metrics.EmfRecorder()
        self._batch: _Batch | None = None

    def handle_batch(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """The Lambda entry point for an SQS batch; returns the partial batch response."""
        processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        # A batch's lifecycle events and EMF metrics go out together, after its last record.
        self._batch = self._read_batch(event)
        try:
            response = process_partial_response(
                event=event, record_handler=self._handle_record, processor=processor, context=context
            )
        finally:
            self._batch = None
            self._flush()
        return dict(response)

    def _read_batch(self, event: dict[str, Any]) -> _Batch:
        """Read the batch's jobs and the pauses in two round trips, not two per record."""
        messages = []
        for record in event.get("Records", []):
            try:
                messages.append((record["messageId"], JobMessage.model_validate_json(record["body"])))
            except (KeyError, ValueError):
                continue  # the record fails on its own when its turn comes
        try:
            jobs = self.runtime.store.get_many([message.job_id for _, message in messages])
            paused = self.runtime.store.pauses()
        except Exception:  # noqa: BLE001 - each record reads for itself then, and fails on its own
            logger.warning("batch prefetch failed; reading job by job", exc_info=True)
            jobs, paused = {}, None
        return _Batch(messages=messages, jobs=jobs, paused=paused)

    def _read_job(self, job_id: str) -> Job | None:
        batch = self._batch
        if batch is None:
            return self.runtime.store.get(job_id)
        prefetched = batch.jobs.pop(job_id, None)
        return prefetched if prefetched is not None else self.runtime.store.get(job_id)

    def _is_paused(self, job: Job) -> bool:
        """Whether the job's queue is paused, or its tenant's jobs on that queue are."""
        if self._batch is not None and self._batch.paused is not None:
            return self._batch.paused.stops(job.queue, job.tenant_id)
        return self.runtime.store.is_paused(job.queue, tenant_id=job.tenant_id)

    def _flush(self) -> None:
        self._announcer.flush()
        self._emf.flush()

    def _attempt_ended(self, job: Job, status: metrics.EmfStatus, *, announce: bool) -> None:
        """Count the attempt (EMF) and announce a finished job; at once unless a batch is running."""
        self._emf.record(job, status, self.runtime.clock())
        if announce:
            self._announcer.add(job)
        if self._batch is None:
            self._flush()

    def _handle_record(self, record: SQSRecord, lambda_context: Any = None) -> str:
        remaining = None
        if lambda_context is not None and hasattr(lambda_context, "get_remaining_time_in_millis"):
            remaining = lambda_context.get_remaining_time_in_millis() / 1000
        try:
            return self.process(
                record.body,
                receipt_handle=record.receipt_handle,
                remaining_seconds=remaining,
                message_id=record.message_id,
            )
        except RedeliverLater as later:
            message = JobMessage.model_validate_json(record.body)
            try:
                self.runtime.transport.change_visibility(message, record.receipt_handle, later.seconds)
            except Exception:  # noqa: BLE001 - the message still comes back, after the queue's default timeout
                logger.exception(
                    "could not set the message's visibility", extra={"job_id": message.job_id, "queue": message.queue}
                )
            raise

    def process(
        self,
        body: str,
        *,
        receipt_handle: str = "",
        remaining_seconds: float | None = None,
        message_id: str = "",
    ) -> str:
        """Handle one message; returns the outcome or raises RedeliverLater to keep the message.

        Every log line written meanwhile, the job function's included, carries the job id,
        queue and tenant; the X-Ray subsegment names the trace of the request that enqueued it.
        """
        message = JobMessage.model_validate_json(body)
        # Thread-local keys: the local stack runs several workers and the API in one process.
        logger.thread_safe_append_keys(job_id=message.job_id, queue=message.queue)
        try:
            with self._traced(message):
                return self._process(message, message_id, remaining_seconds)
        finally:
            logger.thread_safe_remove_keys(JOB_LOG_KEYS)

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

    def _process(self, message: JobMessage, message_id: str, remaining_seconds: float | None) -> str:
        settings = get_queue(message.queue)
        claimed = self._batch.claimed.pop(message_id, None) if self._batch is not None and message_id else None
        if claimed is not None:
            logger.thread_safe_append_keys(tenant_id=claimed.tenant_id)
            # It was claimed with an earlier job of the batch; its attempt starts now, and is counted
            # by the write of its outcome (the claim only leased it).
            claimed = claimed.model_copy(update={"started_at": self.runtime.clock(), "attempts": claimed.attempts + 1})
            return self._run(claimed, message, self._timeout(claimed, settings, remaining_seconds))

        store = self.runtime.store
        job = self._read_job(message.job_id)
        if job is None or job.dispatch != message.dispatch or job.is_finished:
            logger.info("message needs no work", extra={"state": job.state if job else "removed"})
            return Outcome.SKIPPED
        logger.thread_safe_append_keys(tenant_id=job.tenant_id)
        now = self.runtime.clock()

        if job.state is JobState.ACTIVE and job.lease_until and job.lease_until > now:
            wait = (job.lease_until - now).total_seconds() + 1
            raise RedeliverLater(wait, Outcome.DEFERRED, "another worker holds the job")
        if self._is_paused(job):
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
        job = self._claim(job, message_id, timeout, remaining_seconds)
        logger.debug("job started", extra={"attempt": job.attempts})
        return self._run(job, message, timeout)

    def _claim(self, job: Job, message_id: str, timeout: float, remaining_seconds: float | None) -> Job:
        """Take the job (CAS to active, one more attempt, a lease), and, while the batch's jobs run
        fast, the next plain ones with it, in one store round trip.

        The lease covers every job of the claim run one after another, within what is left of
        the invocation, so no other worker takes one over while it waits its turn here.
        """
        batch = self._batch
        now = self.runtime.clock()
        chunk = [(message_id, job, timeout)]
        if batch is not None and message_id:
            size = batch.next_claim_size(time.monotonic())
            chunk += self._claimable_after(batch, message_id, size - 1, now, remaining_seconds)
        hold_for = sum(seconds for _, _, seconds in chunk)
        if remaining_seconds is not None:
            hold_for = min(hold_for, max(1.0, remaining_seconds - LAMBDA_RESERVE_SECONDS))
        lease_until = now + dt.timedelta(seconds=hold_for + LEASE_GRACE_SECONDS)
        # The job taken now starts its attempt; the ones claimed ahead are only leased: an attempt is
        # spent when it runs, so a worker that dies before their turn costs them none.
        claims = [
            Replacement(
                job=taken.moved_to(
                    JobState.ACTIVE,
                    attempts=taken.attempts + (1 if i == 0 else 0),
                    started_at=now,
                    lease_until=lease_until,
                    progress=0,
                ),
                expected_version=taken.version,
                previous=taken,
            )
            for i, (_, taken, _) in enumerate(chunk)
        ]
        own, *ahead = self.runtime.store.replace_many(claims)
        for (ahead_id, _, _), outcome in zip(chunk[1:], ahead, strict=True):
            if isinstance(outcome, Job) and batch is not None:
                batch.claimed[ahead_id] = outcome
        if batch is not None:
            batch.last_claim = (time.monotonic(), len(chunk))
        if isinstance(own, StaleJob):
            raise RedeliverLater(1, Outcome.DEFERRED, "the job changed while it was being taken")
        if isinstance(own, Exception):
            raise own
        return own

    def _claimable_after(
        self, batch: _Batch, message_id: str, limit: int, now: dt.datetime, remaining_seconds: float | None
    ) -> list[tuple[str, Job, float]]:
        """Up to `limit` of the batch's next messages whose jobs can be taken without a question:
        waiting, of this dispatch, in a running queue without a rate limit, attempts left."""
        if limit <= 0 or batch.paused is None:
            return []
        ids = [mid for mid, _ in batch.messages]
        try:
            after = ids.index(message_id) + 1
        except ValueError:
            return []
        taken: list[tuple[str, Job, float]] = []
        seen = {job.id for job in batch.claimed.values()}
        for mid, message in batch.messages[after:]:
            if len(taken) >= limit:
                break
            job = batch.jobs.get(message.job_id)
            if job is None or message.job_id in seen:
                continue
            seen.add(message.job_id)
            settings = get_queue(job.queue)
            if (
                job.state is JobState.WAITING
                and job.dispatch == message.dispatch
                and not batch.paused.stops(job.queue, job.tenant_id)
                and settings.rate_limit is None
                and job.attempts < job.max_attempts
            ):
                del batch.jobs[message.job_id]
                taken.append((mid, job, self._timeout(job, settings, remaining_seconds)))
        return taken

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
            stored = outcomes.record_finished(self.runtime, done, job)
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
            stored = outcomes.record_finished(self.runtime, failed, job)
        except StaleJob:
            return Outcome.SKIPPED
        logger.error("job failed", extra={"error": error, "attempt": stored.attempts})
        self._attempt_ended(stored, metrics.EmfStatus.FAILED, announce=True)
        return Outcome.FAILED
