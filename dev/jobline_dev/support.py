"""Test helpers: provision moto's AWS from the queue registry, and deliver SQS batches to a worker."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

from jobline.config import Settings
from jobline.core.errors import UnknownJobType
from jobline.core.queues import DLQ_RETENTION_SECONDS, QUEUES
from jobline.core.registry import JobType, get_job_type, job_type, unregister
from jobline.runtime import Runtime, build_runtime
from jobline.store.ports import JobStore

# The tests' master webhook secret (engine/callbacks.py derives each tenant's signing key from it).
TEST_WEBHOOK_SECRET_PARAMETER = "/jobline/tests/webhook-secret"
TEST_WEBHOOK_SECRET = "jobline-tests-webhook-master-secret"


def provision_aws(sqs: Any, s3: Any, *, prefix: str, bucket: str) -> None:
    """Create every registry queue with its DLQ and redrive policy, and the bucket."""
    for queue in QUEUES.values():
        dlq_url = sqs.create_queue(
            QueueName=f"{prefix}{queue.name}-dlq",
            Attributes={"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)},
        )["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        # The priority lane, where there is one, shares the queue's DLQ.
        for suffix in queue.consumed_suffixes:
            sqs.create_queue(
                QueueName=f"{prefix}{suffix}",
                Attributes={
                    "VisibilityTimeout": str(queue.visibility_timeout_seconds),
                    "RedrivePolicy": json.dumps(
                        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(queue.max_receive_count)}
                    ),
                },
            )
    s3.create_bucket(Bucket=bucket)


def make_runtime(store: JobStore, *, database_url: str | None = None) -> Runtime:
    """A runtime on moto (which must be active) with freshly provisioned queues and bucket."""
    prefix = f"t{uuid.uuid4().hex[:6]}-"
    settings = Settings(
        jobline_queue_prefix=prefix,
        jobline_bucket=f"{prefix}payloads",
        jobline_webhook_secret_parameter=TEST_WEBHOOK_SECRET_PARAMETER,
    )
    if database_url is not None:
        settings = settings.model_copy(update={"database_url": database_url})
    runtime = build_runtime(settings, store=store, local=True)
    provision_aws(runtime.transport._sqs, runtime.payloads._s3, prefix=prefix, bucket=settings.jobline_bucket)
    # The master webhook secret where a deployed stage keeps it: a SecureString in SSM.
    runtime.client("ssm").put_parameter(
        Name=TEST_WEBHOOK_SECRET_PARAMETER, Value=TEST_WEBHOOK_SECRET, Type="SecureString", Overwrite=True
    )
    return runtime


def receive(runtime: Runtime, queue: str, *, max_messages: int = 10, dlq: bool = False) -> list[dict[str, Any]]:
    url = runtime.transport.dlq_url(queue) if dlq else runtime.transport.queue_url(queue)
    sqs = runtime.transport._sqs
    response = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=max_messages,
        MessageSystemAttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    return list(response.get("Messages", []))


def sqs_event(runtime: Runtime, queue: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The Lambda SQS event for messages received from `queue`."""
    arn = runtime.transport.queue_arn(queue)
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {k: str(v) for k, v in m.get("Attributes", {}).items()},
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


def deliver(runtime: Runtime, worker: Any, queue: str, *, max_messages: int = 10) -> dict[str, Any] | None:
    """Receive one batch from `queue` and hand it to the worker; None when the queue is empty."""
    messages = receive(runtime, queue, max_messages=max_messages)
    if not messages:
        return None
    return worker.handle_batch(sqs_event(runtime, queue, messages))


def make_visible(runtime: Runtime, queue: str, messages: list[dict[str, Any]]) -> None:
    """Let time pass for SQS: the messages are deliverable again at once."""
    sqs = runtime.transport._sqs
    for m in messages:
        sqs.change_message_visibility(
            QueueUrl=runtime.transport.queue_url(queue), ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
        )


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: Any) -> None:
        self.now = start

    def __call__(self) -> Any:
        return self.now

    def advance(self, seconds: float) -> None:
        import datetime as dt

        self.now = self.now + dt.timedelta(seconds=seconds)


@contextlib.contextmanager
def swapped_job_types(replacements: dict[tuple[str, str], JobType | None]) -> Iterator[None]:
    """Replace (or, with None, remove) job types for a while; the real ones, if loaded, come back after."""
    saved: dict[tuple[str, str], JobType | None] = {}
    for (queue, name), replacement in replacements.items():
        with contextlib.suppress(UnknownJobType):
            saved[(queue, name)] = get_job_type(queue, name)
        unregister(queue, name)
        if replacement is not None:
            _register_again(replacement)
    try:
        yield
    finally:
        for queue, name in replacements:
            unregister(queue, name)
            if (original := saved.get((queue, name))) is not None:
                _register_again(original)


def _register_again(registered: JobType) -> None:
    """Register a job type as it was, its caller check and quota meter included."""
    job_type(
        registered.queue,
        registered.name,
        payload=registered.payload_model,
        authorize=registered.authorizer,
        meter=registered.meter,
    )(registered.run)
