"""SQS as the wake-up channel: send, re-queue, dead-letter, and read queue depths."""

from __future__ import annotations

import functools
import math
from typing import Any

from jobline.core.job import JobMessage
from jobline.core.queues import SQS_MAX_DELAY_SECONDS, get_queue

# SQS limits: DelaySeconds at most 15 minutes, visibility timeout at most 12 hours.
MAX_DELAY_SECONDS = SQS_MAX_DELAY_SECONDS
MAX_VISIBILITY_SECONDS = 12 * 60 * 60

# Message attributes that tell the dead-letter reconciler who put a message in a DLQ.
DEAD_LETTERED_BY = "jobline-dead-lettered-by"
ERROR_ATTRIBUTE = "jobline-error"


class QueueTransport:
    """Talks to the SQS queue and DLQ of each logical queue, named `<prefix><queue>[-dlq]`."""

    def __init__(self, sqs_client: Any, *, prefix: str) -> None:
        self._sqs = sqs_client
        self._prefix = prefix

    @functools.cache  # noqa: B019 - one transport lives as long as its process
    def _url(self, suffix: str) -> str:
        return str(self._sqs.get_queue_url(QueueName=f"{self._prefix}{suffix}")["QueueUrl"])

    def queue_url(self, queue: str) -> str:
        """The URL of `queue`'s SQS queue, looked up once."""
        return self._url(queue)

    def url_for(self, message: JobMessage) -> str:
        """The URL of the SQS queue that carries this message: its queue, or the queue's priority lane."""
        return self._url(get_queue(message.queue).lane_for(message.priority))

    def dlq_url(self, queue: str) -> str:
        """The URL of `queue`'s dead-letter queue, looked up once."""
        return self._url(f"{queue}-dlq")

    @functools.cache  # noqa: B019
    def _arn(self, suffix: str) -> str:
        attrs = self._sqs.get_queue_attributes(QueueUrl=self._url(suffix), AttributeNames=["QueueArn"])
        return str(attrs["Attributes"]["QueueArn"])

    def queue_arn(self, queue: str) -> str:
        return self._arn(queue)

    def source_arns(self, queue: str) -> list[str]:
        """The ARNs of every SQS queue a worker consumes for `queue`: the queue and its priority lane."""
        return [self._arn(suffix) for suffix in get_queue(queue).consumed_suffixes]

    def send(self, message: JobMessage, *, delay_seconds: float = 0) -> str:
        """Put a wake-up call for the job on its queue, visible after `delay_seconds` (capped at 15 min)."""
        delay = max(0, min(MAX_DELAY_SECONDS, math.ceil(delay_seconds)))
        extra: dict[str, Any] = {}
        if message.trace_id:
            # SQS hands it to the worker's Lambda, which joins the enqueuing request's trace.
            extra["MessageSystemAttributes"] = {
                "AWSTraceHeader": {"DataType": "String", "StringValue": message.trace_id}
            }
        response = self._sqs.send_message(
            QueueUrl=self.url_for(message),
            MessageBody=message.model_dump_json(exclude_none=True),
            DelaySeconds=delay,
            **extra,
        )
        return str(response["MessageId"])

    def dead_letter(self, message: JobMessage, *, error: str) -> None:
        """Move the job's message to its DLQ, marked as recorded by the worker."""
        self._sqs.send_message(
            QueueUrl=self.dlq_url(message.queue),
            MessageBody=message.model_dump_json(exclude_none=True),
            MessageAttributes={
                DEAD_LETTERED_BY: {"DataType": "String", "StringValue": "worker"},
                ERROR_ATTRIBUTE: {"DataType": "String", "StringValue": (error or "failed")[:1000]},
            },
        )

    def change_visibility(self, message: JobMessage, receipt_handle: str, seconds: float) -> None:
        """Hide a received message for `seconds` more: the wait before its next delivery."""
        timeout = max(0, min(MAX_VISIBILITY_SECONDS, math.ceil(seconds)))
        self._sqs.change_message_visibility(
            QueueUrl=self.url_for(message), ReceiptHandle=receipt_handle, VisibilityTimeout=timeout
        )

    def depths(self, queue: str) -> dict[str, int]:
        """Approximate message counts of the queue and its DLQ."""
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        totals = dict.fromkeys(names, 0)
        for suffix in get_queue(queue).consumed_suffixes:
            attributes = self._sqs.get_queue_attributes(QueueUrl=self._url(suffix), AttributeNames=names)["Attributes"]
            for name in names:
                totals[name] += int(attributes.get(name, 0))
        dlq = self._sqs.get_queue_attributes(QueueUrl=self.dlq_url(queue), AttributeNames=names[:1])["Attributes"]
        return {
            "visible": totals["ApproximateNumberOfMessages"],
            "in_flight": totals["ApproximateNumberOfMessagesNotVisible"],
            "delayed": totals["ApproximateNumberOfMessagesDelayed"],
            "dlq": int(dlq.get("ApproximateNumberOfMessages", 0)),
        }

    def receive_dead_letters(
        self, queue: str, *, max_messages: int = 10, hide_seconds: int = 0
    ) -> list[dict[str, Any]]:
        """Peek at up to 10 DLQ messages, hidden for `hide_seconds` (0: visible again at once).

        A scan hides what it read so that its next read returns other messages: with visibility 0
        SQS may hand back the same ten each time (moto, and so the local stack, always does)."""
        response = self._sqs.receive_message(
            QueueUrl=self.dlq_url(queue),
            MaxNumberOfMessages=max(1, min(10, max_messages)),
            VisibilityTimeout=hide_seconds,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        )
        return list(response.get("Messages", []))

    def release_dead_letters(self, queue: str, receipt_handles: list[str]) -> None:
        """Make DLQ messages a scan hid visible again."""
        for start in range(0, len(receipt_handles), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                for i, handle in enumerate(receipt_handles[start : start + 10])
            ]
            self._sqs.change_message_visibility_batch(QueueUrl=self.dlq_url(queue), Entries=entries)

    def delete_dead_letter(self, queue: str, receipt_handle: str) -> None:
        self._sqs.delete_message(QueueUrl=self.dlq_url(queue), ReceiptHandle=receipt_handle)

    def purge_dead_letters(self, queue: str) -> None:
        """Empty the DLQ. SQS allows one purge a minute per queue; a second raises (the API answers 429)."""
        self._sqs.purge_queue(QueueUrl=self.dlq_url(queue))
