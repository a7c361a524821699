"""The worker's batch economy: fast jobs are claimed together in one store round trip, slow
jobs one at a time; every completion is written when its job returns, and one that cannot be
written leaves the message to be delivered again."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from jobline.core.context import JobContext
from jobline.core.registry import job_type
from jobline.core.states import JobState
from jobline.engine import batch
from jobline.engine.attempt import LEASE_GRACE_SECONDS
from jobline.engine.enqueue import enqueue
from jobline.engine.worker import Worker
from jobline_dev.support import FakeClock, receive, sqs_event
from tests import jobtypes

Q = jobtypes.QUEUE
# What each job saw of the others when it ran: their states, by job id.
SEEN: dict[str, dict[str, JobState]] = {}


@job_type(Q, "test-peek")
def peek(payload: dict[str, Any], ctx: JobContext) -> None:
    import time

    SEEN[ctx.job_id] = {other: ctx.runtime.store.get(other).state for other in payload["others"]}
    time.sleep(payload.get("sleep", 0))


@pytest.fixture
def fast(monkeypatch) -> None:
    """Every job counts as fast (moto's DynamoDB alone takes tens of milliseconds a write)."""
    monkeypatch.setattr(batch, "CLAIM_AHEAD_BUDGET_SECONDS", 10.0)


def batch_of(runtime, count: int, **data: Any) -> tuple[list[str], dict[str, Any]]:
    ids = [
        enqueue(runtime, queue=Q, name="test-echo", data={"value": str(n), **data}, tenant_id="t-claims").job.id
        for n in range(count)
    ]
    messages = receive(runtime, Q, max_messages=10)
    assert len(messages) == count
    return ids, sqs_event(runtime, Q, messages)


def count_round_trips(runtime, monkeypatch) -> list[str]:
    calls: list[str] = []
    store = runtime.store
    for name in (
        "get",
        "replace",
        "replace_counted",
        "replace_many",
        "get_many",
        "paused_queues",
        "pauses",
        "is_paused",
    ):
        original = getattr(store, name)

        def counted(*args: Any, _original: Any = original, _name: str = name, **kwargs: Any) -> Any:
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(store, name, counted)
    return calls


# Redis pipelines a claim's writes; the other stores write them one by one behind the same call.
@pytest.mark.parametrize("store", ["redis"], indirect=True)
@pytest.mark.usefixtures("fast")
def test_a_batch_of_fast_jobs_takes_a_few_store_round_trips_not_two_per_job(runtime, monkeypatch) -> None:
    ids, event = batch_of(runtime, 10)
    calls = count_round_trips(runtime, monkeypatch)
    assert Worker(runtime).handle_batch(event) == {"batchItemFailures": []}
    calls = list(calls)  # the worker's calls, not the reads below
    jobs = runtime.store.get_many(ids)
    assert {job.state for job in jobs.values()} == {JobState.COMPLETED}
    assert all(job.attempts == 1 and jobtypes.RUNS[job.id] == 1 for job in jobs.values())
    # Read once, claims of 1, 2, 4 and 3 jobs, and each completion (with its counters) when its
    # job returns: 10 jobs in 16 calls instead of 10 reads, 20 writes and 10 counter writes.
    assert calls.count("get") == 0 and calls.count("get_many") == 1
    assert calls.count("replace_counted") == 10 and calls.count("replace") == 0, calls
    assert calls.count("replace_many") <= 5, calls
    assert len(calls) <= 17, calls


@pytest.mark.usefixtures("fast")
def test_each_job_of_a_fast_batch_records_its_own_start_and_one_attempt(runtime) -> None:
    ids, event = batch_of(runtime, 6)
    Worker(runtime).handle_batch(event)
    for job in runtime.store.get_many(ids).values():
        assert job.started_at is not None and job.finished_at is not None
        assert job.started_at <= job.finished_at
        assert job.lease_until is None and job.progress == 100


def test_slow_jobs_are_taken_one_at_a_time(runtime, monkeypatch) -> None:
    monkeypatch.setattr(batch, "CLAIM_AHEAD_BUDGET_SECONDS", 0.01)
    ids = [
        enqueue(runtime, queue=Q, name="test-peek", data={"others": [], "sleep": 0}, tenant_id="t-claims").job.id
        for _ in range(3)
    ]
    # Each job looks at the other two while it runs; slow ones must not find them taken.
    for job_id in ids:
        job = runtime.store.get(job_id)
        runtime.store.replace(
            job.model_copy(update={"data": {"others": [i for i in ids if i != job_id], "sleep": 0.05}}),
            expected_version=job.version,
        )
    event = sqs_event(runtime, Q, receive(runtime, Q, max_messages=10))
    assert Worker(runtime).handle_batch(event) == {"batchItemFailures": []}
    order = sorted(ids, key=lambda i: runtime.store.get(i).started_at)
    first, second, third = order
    assert SEEN[first] == {second: JobState.WAITING, third: JobState.WAITING}
    assert SEEN[second][third] is JobState.WAITING


@pytest.mark.usefixtures("fast")
def test_fast_jobs_are_claimed_ahead_together(runtime) -> None:
    ids = [
        enqueue(runtime, queue=Q, name="test-peek", data={"others": []}, tenant_id="t-claims").job.id for _ in range(4)
    ]
    for job_id in ids:
        job = runtime.store.get(job_id)
        runtime.store.replace(
            job.model_copy(update={"data": {"others": [i for i in ids if i != job_id]}}), expected_version=job.version
        )
    event = sqs_event(runtime, Q, receive(runtime, Q, max_messages=10))
    assert Worker(runtime).handle_batch(event) == {"batchItemFailures": []}
    order = sorted(ids, key=lambda i: runtime.store.get(i).started_at)
    # The first job ran alone; it was fast, so the next two were taken together.
    assert set(SEEN[order[0]].values()) == {JobState.WAITING}
    assert SEEN[order[1]][order[2]] is JobState.ACTIVE


@pytest.mark.parametrize("store", ["redis"], indirect=True)
@pytest.mark.usefixtures("fast")
def test_a_completion_that_cannot_be_written_is_redelivered_and_run_again(runtime, monkeypatch) -> None:
    clock = FakeClock(runtime.clock())
    runtime.clock = clock
    ids, event = batch_of(runtime, 3)
    original = runtime.store.replace_counted

    def completions_fail(job, **kwargs):
        raise ConnectionError("store went away")

    monkeypatch.setattr(runtime.store, "replace_counted", completions_fail)
    response = Worker(runtime).handle_batch(event)
    assert {item["itemIdentifier"] for item in response["batchItemFailures"]} == {
        record["messageId"] for record in event["Records"]
    }
    assert {runtime.store.get(i).state for i in ids} == {JobState.ACTIVE}

    # SQS hands them out again; once their lease is over they are taken over and completed.
    monkeypatch.setattr(runtime.store, "replace_counted", original)
    lease = max(runtime.store.get(i).lease_until for i in ids)
    clock.now = lease + dt.timedelta(seconds=1)
    assert lease - dt.timedelta(seconds=LEASE_GRACE_SECONDS) > runtime.store.get(ids[0]).started_at
    assert Worker(runtime).handle_batch(event) == {"batchItemFailures": []}
    for job_id in ids:
        job = runtime.store.get(job_id)
        # Taken first, its attempt was counted at the claim; claimed ahead, only by the write that was lost.
        assert job.state is JobState.COMPLETED and job.attempts in (1, 2)
        assert jobtypes.RUNS[job_id] == 2  # at least once: the first run's completion was lost
