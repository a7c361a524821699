"""Priority lanes: jobs with priority 1..10 ride a second SQS queue with its own consumer."""

from __future__ import annotations

import pytest

from jobline.core.job import JobMessage
from jobline.core.queues import PRIORITY_LANE_MAX, get_queue
from jobline.core.retry import Backoff
from jobline.core.states import JobState
from jobline.engine import operations
from jobline.engine.enqueue import JobOptions, enqueue
from jobline.engine.worker import Worker
from jobline_dev.support import sqs_event
from tests import jobtypes

Q = jobtypes.QUEUE  # generic-task has a priority lane


def lane_url(runtime) -> str:
    return runtime.transport.url_for(JobMessage(job_id="-", queue=Q, priority=1))


def receive_from(runtime, url: str) -> list[dict]:
    sqs = runtime.transport._sqs
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", [])


def add(runtime, priority: int | None, **payload):
    return enqueue(
        runtime,
        queue=Q,
        name="test-echo",
        data={"value": "v", **payload},
        tenant_id="t1",
        options=JobOptions(priority=priority, attempts=2, backoff=Backoff(type="fixed", delay=30)),
    ).job


@pytest.mark.parametrize(
    ("priority", "lane"),
    [(None, False), (0, False), (1, True), (PRIORITY_LANE_MAX, True), (PRIORITY_LANE_MAX + 1, False)],
)
def test_lane_for_priority(priority, lane) -> None:
    settings = get_queue(Q)
    assert (settings.lane_for(priority or 0) == settings.lane_name_suffix) is lane
    assert get_queue("room-generation").lane_for(1) == "room-generation"  # no lane there


def test_priority_job_skips_the_backlog_of_ordinary_jobs(memory_runtime) -> None:
    backlog = [add(memory_runtime, None) for _ in range(25)]
    urgent = add(memory_runtime, 1)
    lane = receive_from(memory_runtime, lane_url(memory_runtime))
    assert [JobMessage.model_validate_json(m["Body"]).job_id for m in lane] == [urgent.id]
    response = Worker(memory_runtime).handle_batch(sqs_event(memory_runtime, Q, lane))
    assert response == {"batchItemFailures": []}
    assert memory_runtime.store.get(urgent.id).state is JobState.COMPLETED
    assert all(memory_runtime.store.get(j.id).state is JobState.WAITING for j in backlog)
    assert operations.queue_stats(memory_runtime, Q).sqs_visible == 25


def test_failed_priority_job_waits_its_backoff_on_the_lane(memory_runtime) -> None:
    job = add(memory_runtime, 2, fail_times=1)
    lane = receive_from(memory_runtime, lane_url(memory_runtime))
    response = Worker(memory_runtime).handle_batch(sqs_event(memory_runtime, Q, lane))
    assert len(response["batchItemFailures"]) == 1
    assert receive_from(memory_runtime, lane_url(memory_runtime)) == []  # hidden for the backoff
    stats = operations.queue_stats(memory_runtime, Q)
    assert (stats.sqs_in_flight, stats.waiting) == (1, 1)
    assert memory_runtime.store.get(job.id).error == "RuntimeError: planned failure 1"


def test_paused_priority_job_is_requeued_onto_its_lane(memory_runtime) -> None:
    job = add(memory_runtime, 1)
    operations.pause_queue(memory_runtime, Q)
    lane = receive_from(memory_runtime, lane_url(memory_runtime))
    Worker(memory_runtime).handle_batch(sqs_event(memory_runtime, Q, lane))
    assert memory_runtime.store.get(job.id).attempts == 0
    assert operations.queue_stats(memory_runtime, Q).sqs_delayed == 1
    sqs = memory_runtime.transport._sqs
    lane_attrs = sqs.get_queue_attributes(QueueUrl=lane_url(memory_runtime), AttributeNames=["All"])["Attributes"]
    assert lane_attrs["ApproximateNumberOfMessagesDelayed"] == "1"
