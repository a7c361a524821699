"""Lifecycle events on EventBridge and signed callbacks with retries."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from jobline.core.retry import Backoff
from jobline.core.states import JobState
from jobline.engine import callbacks, lifecycle
from jobline.engine.enqueue import JobOptions, enqueue
from jobline.engine.worker import Worker
from jobline_dev.support import deliver, make_visible, receive, sqs_event
from tests import jobtypes
from tests.callback_receiver import Receiver

Q = jobtypes.QUEUE
SECRET = "callback-master-secret-for-tests"
SECRET_PARAMETER = "/jobline/test/webhook-secret"


@pytest.fixture
def events_queue(memory_runtime) -> str:
    """An SQS queue subscribed to every Jobline event on the default bus."""
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="jobline-events-tap")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bridge = boto3.client("events")
    bridge.put_rule(Name="tap", EventPattern=json.dumps({"source": ["jobline"]}))
    bridge.put_targets(Rule="tap", Targets=[{"Id": "q", "Arn": arn}])
    return url


def tapped(url: str) -> list[dict[str, Any]]:
    messages = boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def test_completed_and_failed_jobs_are_published_on_eventbridge(memory_runtime, events_queue) -> None:
    ok = enqueue(memory_runtime, queue=Q, name="test-echo", data={"value": "v"}, tenant_id="t1").job
    bad = enqueue(
        memory_runtime,
        queue=Q,
        name="test-echo",
        data={"value": "v", "fail_times": 9},
        tenant_id="t1",
        options=JobOptions(attempts=1),
    ).job
    deliver(memory_runtime, Worker(memory_runtime), Q)
    events = {e["detail"]["jobId"]: e for e in tapped(events_queue)}
    assert events[ok.id]["detail-type"] == "Job Completed"
    assert events[ok.id]["source"] == "jobline"
    assert events[ok.id]["detail"]["result"] == {"echo": "v", "tenant": "t1", "attempt": 1}
    assert events[bad.id]["detail-type"] == "Job Failed"
    assert events[bad.id]["detail"]["failedReason"] == "RuntimeError: planned failure 1"
    assert events[bad.id]["detail"]["tenantId"] == "t1"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver([500, 200])
    yield hook
    hook.server.shutdown()


def allow_callbacks(runtime, *, secret: str = SECRET, private: bool = True) -> None:
    """The master secret in moto's SSM (none at all when `secret` is empty), named by the settings."""
    callbacks.forget_master_secret()
    if secret:
        boto3.client("ssm").put_parameter(Name=SECRET_PARAMETER, Value=secret, Type="SecureString", Overwrite=True)
    runtime.settings = runtime.settings.model_copy(
        update={
            "jobline_webhook_secret_parameter": SECRET_PARAMETER if secret else "",
            "jobline_callbacks_allow_private": private,
        }
    )


def run_job_with_callback(runtime, url: str) -> str:
    job = enqueue(
        runtime, queue=Q, name="test-echo", data={"value": "v"}, tenant_id="t1", options=JobOptions(callbackUrl=url)
    ).job
    deliver(runtime, Worker(runtime), Q)
    return job.id


def test_callback_is_signed_retried_on_5xx_and_delivered_once(memory_runtime, receiver) -> None:
    allow_callbacks(memory_runtime)
    job_id = run_job_with_callback(memory_runtime, receiver.url())
    messages = receive(memory_runtime, callbacks.QUEUE)
    first = Worker(memory_runtime).handle_batch(sqs_event(memory_runtime, callbacks.QUEUE, messages))
    assert len(first["batchItemFailures"]) == 1  # the 500: retried after its backoff
    make_visible(memory_runtime, callbacks.QUEUE, messages)
    assert deliver(memory_runtime, Worker(memory_runtime), callbacks.QUEUE) == {"batchItemFailures": []}
    assert len(receiver.requests) == 2
    headers, body = receiver.requests[-1]
    webhook_id = headers[callbacks.WEBHOOK_ID_HEADER]
    # Signed with tenant t1's key (derived from the master), not with the master itself.
    key = callbacks.signing_key(SECRET, "t1")
    assert callbacks.verify(key, body, headers[callbacks.SIGNATURE_HEADER], webhook_id=webhook_id)
    assert not callbacks.verify(SECRET, body, headers[callbacks.SIGNATURE_HEADER], webhook_id=webhook_id)
    assert not callbacks.verify("another-secret", body, headers[callbacks.SIGNATURE_HEADER], webhook_id=webhook_id)
    # The retry is the same delivery: the same id, so a receiver that saw the first can drop it.
    assert receiver.requests[0][0][callbacks.WEBHOOK_ID_HEADER] == webhook_id
    sent = json.loads(body)
    assert sent["event"] == "job.completed"
    assert sent["data"]["jobId"] == job_id
    delivered = memory_runtime.store.list_jobs(callbacks.QUEUE, JobState.COMPLETED)
    assert [(c.attempts, c.result["status"]) for c in delivered] == [(2, 200)]


def test_callback_to_a_private_address_is_refused_without_sending(memory_runtime, receiver) -> None:
    allow_callbacks(memory_runtime, private=False)
    run_job_with_callback(memory_runtime, receiver.url())
    deliver(memory_runtime, Worker(memory_runtime), callbacks.QUEUE)
    [failed] = memory_runtime.store.list_jobs(callbacks.QUEUE, JobState.FAILED)
    assert "private address" in failed.error
    assert receiver.requests == []


def test_callback_without_a_secret_fails_rather_than_sending_unsigned(memory_runtime, receiver) -> None:
    allow_callbacks(memory_runtime, secret="")
    run_job_with_callback(memory_runtime, receiver.url())
    deliver(memory_runtime, Worker(memory_runtime), callbacks.QUEUE)
    [failed] = memory_runtime.store.list_jobs(callbacks.QUEUE, JobState.FAILED)
    assert "no webhook secret parameter" in failed.error
    assert receiver.requests == []


def test_callback_answered_404_fails_at_once(memory_runtime) -> None:
    hook = Receiver([404])
    try:
        allow_callbacks(memory_runtime)
        run_job_with_callback(memory_runtime, hook.url())
        deliver(memory_runtime, Worker(memory_runtime), callbacks.QUEUE)
        [failed] = memory_runtime.store.list_jobs(callbacks.QUEUE, JobState.FAILED)
        assert (failed.attempts, failed.error) == (1, "UnrecoverableError: callback refused with HTTP 404")
    finally:
        hook.server.shutdown()


def test_signature_older_than_tolerance_is_rejected() -> None:
    header = callbacks.sign(SECRET, b"{}", webhook_id="w1", timestamp=1_000)
    assert callbacks.verify(SECRET, b"{}", header, webhook_id="w1", now=1_100)
    assert not callbacks.verify(SECRET, b"{}", header, webhook_id="w1", now=2_000)
    assert not callbacks.verify(SECRET, b"{}", "garbage", webhook_id="w1")


def test_failed_attempts_with_retries_left_publish_nothing(memory_runtime, events_queue) -> None:
    enqueue(
        memory_runtime,
        queue=Q,
        name="test-echo",
        data={"value": "v", "fail_times": 1},
        tenant_id="t1",
        options=JobOptions(attempts=2, backoff=Backoff(type="fixed", delay=0)),
    )
    deliver(memory_runtime, Worker(memory_runtime), Q)
    assert tapped(events_queue) == []


def test_a_flush_of_many_jobs_publishes_each_event_once_over_several_calls(memory_runtime, events_queue) -> None:
    jobs = [
        enqueue(memory_runtime, queue=Q, name="test-echo", data={"value": str(n)}, tenant_id="t1").job
        for n in range(25)
    ]
    calls: list[int] = []
    events_client = memory_runtime.client("events")
    events_client.meta.events.register("before-call.events.PutEvents", lambda **kwargs: calls.append(1))
    announcer = lifecycle.Announcer(memory_runtime)
    for job in jobs:
        announcer.add(job.moved_to(JobState.ACTIVE).moved_to(JobState.COMPLETED))
    announcer.flush()
    assert len(calls) == 3  # 10 + 10 + 5 entries
    published: list[str] = []
    while batch := tapped(events_queue):
        published += [event["detail"]["jobId"] for event in batch]
    assert sorted(published) == sorted(job.id for job in jobs)
