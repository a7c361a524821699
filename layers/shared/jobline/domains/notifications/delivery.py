"""Sending one message to many recipients across attempts, never twice to a recipient that got it.

The delivery record is the job's result-so-far: while an attempt runs, it writes
`{channel, total, successful, failed, pending, results: [{recipient, status, messageId |
error, attempt}]}` into the job record every few sends (a conditional write, like
progress). A failed attempt keeps the record, so the next attempt reads it back from
`ctx.job.result`. Per attempt:

- send only to recipients without a recorded messageId (failed before, or not tried yet);
- every recipient delivered: the job completes with the record as its result;
- some not delivered, attempts left: raise `Undelivered`; the queue's backoff retries the
  job, and the next attempt sends to those recipients only;
- last attempt, some delivered (in any attempt): the job completes with `failed > 0` and
  each failure's error, a campaign's outcome rather than a job failure;
- last attempt, none ever delivered: raise; the job is failed, the record stays its result.

Timeline of one send:

    send ─▶ provider accepts ─▶ outcome held in memory ─▶ checkpoint (at most 10 sends or 1 s later)

Any exception (provider, SIGALRM timeout, lost job) checkpoints before it propagates, and
the loop stops short of the deadline to record what it sent. Only a worker killed between
a send and its checkpoint (a crash) loses outcomes; the next attempt may then repeat those
last few sends, since neither SES nor SNS takes an idempotency key. An operator's retry
of a failed job (`operations.retry_job`) clears the result and so starts over.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jobline.core.errors import JoblineError
from jobline.domains.notifications.channels import ChannelError
from jobline.telemetry.observability import logger

if TYPE_CHECKING:
    from jobline.core.context import JobContext

CHECKPOINT_EVERY = 10
CHECKPOINT_SECONDS = 1.0
# Stop sending this long before the attempt's timeout (a tenth of a short one), so the
# checkpoint still fits.
DEADLINE_RESERVE_SECONDS = 3.0
MAX_ERROR_CHARS = 500

Sender = Callable[[str], str]


class RecipientStatus(enum.StrEnum):
    SENT = "sent"
    FAILED = "failed"
    PENDING = "pending"


class RecipientResult(BaseModel):
    """One recipient's outcome; `attempt` is the attempt that produced it."""

    model_config = ConfigDict(populate_by_name=True)

    recipient: str
    status: RecipientStatus
    message_id: str | None = Field(default=None, alias="messageId")
    error: str | None = None
    attempt: int | None = None


class DeliveryReport(BaseModel):
    """A notification job's result, and its result-so-far while it runs."""

    channel: str
    total: int
    successful: int
    failed: int
    pending: int
    results: list[RecipientResult]

    @classmethod
    def of(cls, channel: str, outcomes: dict[str, RecipientResult]) -> DeliveryReport:
        results = list(outcomes.values())
        count = {status: sum(r.status is status for r in results) for status in RecipientStatus}
        return cls(
            channel=channel,
            total=len(results),
            successful=count[RecipientStatus.SENT],
            failed=count[RecipientStatus.FAILED],
            pending=count[RecipientStatus.PENDING],
            results=results,
        )

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def first_error(self) -> str:
        return next((r.error for r in self.results if r.error), "not tried before the attempt ran out of time")


class Undelivered(JoblineError):
    """The attempt left recipients without the message; the job is retried for them, or fails."""


def previous_outcomes(result: Any, recipients: list[str]) -> dict[str, RecipientResult]:
    """What earlier attempts recorded (deliveries and failures), read back from the job's result-so-far."""
    if not isinstance(result, dict):
        return {}
    try:
        report = DeliveryReport.model_validate(result)
    except ValidationError:
        return {}  # no record of ours: nothing was delivered
    wanted = set(recipients)
    return {
        r.recipient: r
        for r in report.results
        if r.recipient in wanted
        and (r.status is RecipientStatus.FAILED or (r.status is RecipientStatus.SENT and r.message_id))
    }


class _Checkpoints:
    """Writes the delivery record into the job every few sends, and on demand."""

    def __init__(self, ctx: JobContext, channel: str, outcomes: dict[str, RecipientResult]) -> None:
        self._ctx = ctx
        self._channel = channel
        self._outcomes = outcomes
        self._unsaved = 0
        self._saved_at = time.monotonic()

    def recorded_one(self) -> None:
        self._unsaved += 1
        if self._unsaved >= CHECKPOINT_EVERY or time.monotonic() - self._saved_at >= CHECKPOINT_SECONDS:
            self.save()

    def save(self) -> None:
        attempt = self._ctx.attempt
        done = sum(
            r.status is RecipientStatus.SENT or (r.status is RecipientStatus.FAILED and r.attempt == attempt)
            for r in self._outcomes.values()
        )
        report = DeliveryReport.of(self._channel, self._outcomes).as_json()
        percent = int(100 * done / len(self._outcomes))
        # A conditional write: re-read on a lost race, JobCancelled when the job is gone.
        self._ctx.checkpoint(report, progress=percent)
        self._unsaved = 0
        self._saved_at = time.monotonic()


def deliver(ctx: JobContext, *, channel: str, recipients: list[str], send: Sender) -> dict[str, Any]:
    """Send to every recipient not yet reached, keeping the record; returns the report or raises Undelivered."""
    outcomes = {r: RecipientResult(recipient=r, status=RecipientStatus.PENDING) for r in recipients}
    outcomes.update(previous_outcomes(ctx.job.result, recipients))
    todo = [r for r in recipients if outcomes[r].status is not RecipientStatus.SENT]
    if len(todo) < len(recipients):
        ctx.log(
            f"attempt {ctx.attempt}: {len(recipients) - len(todo)} recipients already have it; sending to {len(todo)}"
        )
    reserve = min(DEADLINE_RESERVE_SECONDS, ctx.remaining_seconds() / 10)
    checkpoints = _Checkpoints(ctx, channel, outcomes)
    try:
        for recipient in todo:
            if ctx.remaining_seconds() < reserve:
                break
            try:
                message_id = send(recipient)
            except ChannelError as exc:
                outcomes[recipient] = RecipientResult(
                    recipient=recipient,
                    status=RecipientStatus.FAILED,
                    error=str(exc)[:MAX_ERROR_CHARS],
                    attempt=ctx.attempt,
                )
            else:
                outcomes[recipient] = RecipientResult(
                    recipient=recipient, status=RecipientStatus.SENT, message_id=message_id, attempt=ctx.attempt
                )
            checkpoints.recorded_one()
    finally:
        checkpoints.save()
    return _decide(ctx, channel, outcomes)


def _decide(ctx: JobContext, channel: str, outcomes: dict[str, RecipientResult]) -> dict[str, Any]:
    """The attempt's end: the report when done, else Undelivered while a retry can still help."""
    report = DeliveryReport.of(channel, outcomes)
    keys = {"job_id": ctx.job_id, "queue": ctx.job.queue, "tenant_id": ctx.tenant_id, "attempt": ctx.attempt}
    logger.info(
        "delivery attempt done",
        extra={**keys, "successful": report.successful, "failed": report.failed, "pending": report.pending},
    )
    missing = report.failed + report.pending
    if missing == 0:
        return report.as_json()
    if ctx.attempt < ctx.job.max_attempts:
        raise Undelivered(f"{missing} of {report.total} recipients not reached yet: {report.first_error()}")
    if report.successful == 0:
        raise Undelivered(f"no recipient could be reached: {report.first_error()}")
    # The last attempt reached some: the campaign is done, with its failures in the result.
    for recipient, outcome in outcomes.items():
        if outcome.status is RecipientStatus.PENDING:
            outcomes[recipient] = outcome.model_copy(
                update={"status": RecipientStatus.FAILED, "error": "not sent: the last attempt ran out of time"}
            )
    ctx.log(f"completed with {missing} of {report.total} recipients not reached")
    return DeliveryReport.of(channel, outcomes).as_json()
