"""The worker runtime against moto's SQS and S3, with each job store."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from jobline.core.errors import InvalidPayload
from jobline.core.job import JobMessage
from jobline.core.retry import Backoff
from jobline.core.states import JobState
from jobline.engine import operations
from jobline.engine.enqueue import JobOptions, enqueue
from jobline.engine.outcomes import Outcome, RedeliverLater
from jobline.engine.worker import Worker
from jobline.tick import delayed, periodic
from jobline_dev.support import FakeClock, deliver, make_visible, receive, sqs_event
from tests import jobtypes

Q = jobtypes.QUEUE
T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def add(runtime, value="x", *, tenant="t1", **options):
    payload = {
        "value": value,
        **{k: options.pop(k) for k in list(options) if k in ("fail_times", "crash_times", "sleep", "steps")},
    }
    return enqueue(
        runtime, queue=Q, name="test-echo", data=payload, tenant_id=tenant, options=JobOptions(**options)
    ).job


def test_worker_runs_enqueued_job_to_completed_with_result(runtime) -> None:
    job = add(runtime, "hello")
    response = deliver(runtime, Worker(runtime), Q)
    assert response == {"batchItemFailures": []}
    done = runtime.store.get(job.id)
    assert done.state is JobState.COMPLETED
    assert done.result == {"echo": "hello", "tenant": "t1", "attempt": 1}
    assert done.progress == 100
    assert done.attempts == 1
    assert done.started_at is not None and done.finished_at is not None
    assert receive(runtime, Q) == []


def test_worker_duplicate_delivery_in_one_batch_runs_job_once(runtime) -> None:
    job = add(runtime)
    runtime.transport.send(JobMessage(job_id=job.id, queue=Q, dispatch=job.dispatch))
    messages = receive(runtime, Q)
    assert len(messages) == 2
    response = Worker(runtime).handle_batch(sqs_event(runtime, Q, messages))
    assert response == {"batchItemFailures": []}
    assert jobtypes.RUNS[job.id] == 1
    assert runtime.store.get(job.id).state is JobState.COMPLETED


def test_worker_concurrent_duplicate_delivery_defers_second_copy(runtime) -> None:
    job = add(runtime, sleep=0.5)
    body = JobMessage(job_id=job.id, queue=Q, dispatch=job.dispatch).model_dump_json()
    outcomes: list[str] = []

    def run() -> None:
        try:
            outcomes.append(Worker(runtime).process(body))
        except RedeliverLater as later:
            outcomes.append(later.outcome)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == sorted([Outcome.COMPLETED, Outcome.DEFERRED])
    assert jobtypes.RUNS[job.id] == 1
    # The deferred copy comes back later and finds the job finished.
    assert Worker(runtime).process(body) == Outcome.SKIPPED


def test_worker_batch_with_one_failing_record_retries_only_that_record(runtime) -> None:
    good = [add(runtime, f"ok{i}") for i in range(3)]
    bad = add(runtime, "bad", fail_times=1)
    messages = receive(runtime, Q)
    assert len(messages) == 4
    response = Worker(runtime).handle_batch(sqs_event(runtime, Q, messages))
    failed_ids = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    bad_message = next(m for m in messages if bad.id in m["Body"])
    assert failed_ids == {bad_message["MessageId"]}
    assert all(runtime.store.get(j.id).state is JobState.COMPLETED for j in good)
    retrying = runtime.store.get(bad.id)
    assert retrying.state is JobState.WAITING
    assert retrying.error == "RuntimeError: planned failure 1"


def test_worker_exponential_backoff_waits_2_4_8_seconds(runtime) -> None:
    clock = FakeClock(T0)
    runtime.clock = clock
    job = add(runtime, fail_times=3, attempts=4, backoff=Backoff(type="exponential", delay=2))
    waits = []
    for _ in range(3):
        messages = receive(runtime, Q)
        response = Worker(runtime).handle_batch(sqs_event(runtime, Q, messages))
        assert len(response["batchItemFailures"]) == 1
        stored = runtime.store.get(job.id)
        waits.append((stored.run_at - clock.now).total_seconds())
        # The message is hidden for the backoff: nothing to receive right away.
        assert receive(runtime, Q) == []
        make_visible(runtime, Q, messages)
    assert waits == [2, 4, 8]
    assert deliver(runtime, Worker(runtime), Q) == {"batchItemFailures": []}
    assert runtime.store.get(job.id).state is JobState.COMPLETED
    assert runtime.store.get(job.id).attempts == 4


def test_worker_job_out_of_attempts_is_failed_and_dead_lettered(runtime) -> None:
    job = add(runtime, fail_times=99, attempts=2, backoff=Backoff(type="fixed", delay=0))
    first = deliver(runtime, Worker(runtime), Q)
    assert len(first["batchItemFailures"]) == 1
    second = deliver(runtime, Worker(runtime), Q)
    assert second == {"batchItemFailures": []}
    failed = runtime.store.get(job.id)
    assert failed.state is JobState.FAILED
    assert failed.attempts == 2
    assert failed.error == "RuntimeError: planned failure 2"
    assert "planned failure 2" in failed.stacktrace and "Traceback" in failed.stacktrace
    assert receive(runtime, Q) == []
    dead = receive(runtime, Q, dlq=True)
    assert [JobMessage.model_validate_json(m["Body"]).job_id for m in dead] == [job.id]
    assert dead[0]["MessageAttributes"]["jobline-error"]["StringValue"] == failed.error


def test_worker_unrecoverable_error_fails_without_retries(runtime) -> None:
    job = enqueue(runtime, queue=Q, name="test-unrecoverable", data={}, tenant_id="t1").job
    assert deliver(runtime, Worker(runtime), Q) == {"batchItemFailures": []}
    failed = runtime.store.get(job.id)
    assert failed.state is JobState.FAILED
    assert failed.attempts == 1
    assert failed.max_attempts == 3


def test_worker_crash_then_redelivery_after_lease_takes_job_over(runtime) -> None:
    clock = FakeClock(T0)
    runtime.clock = clock
    job = add(runtime, crash_times=1)
    messages = receive(runtime, Q)
    with pytest.raises(SystemExit):
        Worker(runtime).handle_batch(sqs_event(runtime, Q, messages))
    assert runtime.store.get(job.id).state is JobState.ACTIVE
    # Redelivered while the dead worker's lease still runs: left for later, no attempt spent.
    make_visible(runtime, Q, messages)
    messages = receive(runtime, Q)
    response = Worker(runtime).handle_batch(sqs_event(runtime, Q, messages))
    assert len(response["batchItemFailures"]) == 1
    assert runtime.store.get(job.id).attempts == 1
    assert receive(runtime, Q) == []  # hidden until the lease ends
    clock.advance(3600)
    make_visible(runtime, Q, messages)
    assert deliver(runtime, Worker(runtime), Q) == {"batchItemFailures": []}
    done = runtime.store.get(job.id)
    assert done.state is JobState.COMPLETED
    assert done.attempts == 2


def test_worker_crashed_message_redriven_to_dlq_marks_job_failed(runtime) -> None:
    job = add(runtime, crash_times=99)
    messages = receive(runtime, Q)
    with pytest.raises(SystemExit):
        Worker(runtime).handle_batch(sqs_event(runtime, Q, messages))
    # The worker keeps dying before it can record anything: SQS redrives after maxReceiveCount.
    for _ in range(20):
        make_visible(runtime, Q, messages)
        messages = receive(runtime, Q)
        if not messages:
            break
    assert messages == []
    assert runtime.store.get(job.id).state is JobState.ACTIVE
    report = periodic.run_tick(runtime)
    assert report.dead_letters_recorded == 1
    failed = runtime.store.get(job.id)
    assert failed.state is JobState.FAILED
    assert "dead-letter queue" in failed.error
    assert len(receive(runtime, Q, dlq=True)) == 1
    # A second tick finds it already recorded.
    assert periodic.run_tick(runtime).dead_letters_recorded == 0


def test_worker_job_exceeding_timeout_fails_that_attempt(runtime) -> None:
    job = add(runtime, sleep=3, timeout=300, attempts=1)  # milliseconds
    assert deliver(runtime, Worker(runtime), Q) == {"batchItemFailures": []}
    failed = runtime.store.get(job.id)
    assert failed.state is JobState.FAILED
    assert failed.error.startswith("JobTimeout")


def test_worker_paused_queue_holds_messages_without_spending_attempts(runtime) -> None:
    job = add(runtime)
    operations.pause_queue(runtime, Q)
    response = deliver(runtime, Worker(runtime), Q)
    assert response == {"batchItemFailures": []}
    held = runtime.store.get(job.id)
    assert held.state is JobState.WAITING
    assert held.attempts == 0
    assert jobtypes.RUNS[job.id] == 0
    assert operations.queue_stats(runtime, Q).paused is True
    operations.resume_queue(runtime, Q)
    # The held message comes back after the paused re-check delay; here we take it now.
    sqs = runtime.transport._sqs
    held_messages = sqs.receive_message(QueueUrl=runtime.transport.queue_url(Q), WaitTimeSeconds=0)
    assert held_messages.get("Messages", []) == []  # still delayed
    assert runtime.store.get(job.id).attempts == 0


def test_worker_progress_and_logs_are_recorded(runtime) -> None:
    job = add(runtime, steps=4)
    deliver(runtime, Worker(runtime), Q)
    done = runtime.store.get(job.id)
    assert done.logs == ["step 1", "step 2", "step 3", "step 4"]
    assert done.progress == 100


def test_enqueue_same_job_id_returns_existing_job_and_sends_once(runtime) -> None:
    first = enqueue(
        runtime, queue=Q, name="test-echo", data={"value": "a"}, tenant_id="t1", options=JobOptions(jobId="order-42")
    )
    again = enqueue(
        runtime, queue=Q, name="test-echo", data={"value": "b"}, tenant_id="t1", options=JobOptions(jobId="order-42")
    )
    other_tenant = enqueue(
        runtime, queue=Q, name="test-echo", data={"value": "c"}, tenant_id="t2", options=JobOptions(jobId="order-42")
    )
    assert first.created and not again.created and other_tenant.created
    assert again.job.id == first.job.id and again.job.data == {
        "value": "a",
        "fail_times": 0,
        "crash_times": 0,
        "sleep": 0.0,
        "steps": 0,
    }
    assert other_tenant.job.id != first.job.id
    assert len(receive(runtime, Q)) == 2


def test_enqueue_invalid_payload_raises_with_field(runtime) -> None:
    with pytest.raises(InvalidPayload) as caught:
        enqueue(runtime, queue=Q, name="test-echo", data={"value": 5, "extra": 1}, tenant_id="t1")
    fields = {tuple(e["loc"]) for e in caught.value.errors}
    assert fields == {("value",), ("extra",)}
    assert operations.queue_stats(runtime, Q).total == 0


def test_enqueue_large_payload_goes_to_s3_and_worker_reads_it(runtime) -> None:
    big = "z" * (300 * 1024)
    job = add(runtime, big)
    assert job.data == {} and job.data_ref is not None and job.data_ref.size > 300 * 1024
    message = JobMessage.model_validate_json(receive(runtime, Q)[0]["Body"])
    assert message.data_ref == job.data_ref
    make_visible(runtime, Q, [])
    runtime.transport._sqs.purge_queue(QueueUrl=runtime.transport.queue_url(Q))
    runtime.transport.send(message)
    deliver(runtime, Worker(runtime), Q)
    assert runtime.store.get(job.id).result["echo"] == big


def test_short_delay_uses_sqs_delay_and_long_delay_waits_for_tick(runtime) -> None:
    clock = FakeClock(T0)
    runtime.clock = clock
    short = add(runtime, delay=60_000)
    long = add(runtime, delay=3_600_000)
    assert short.state is JobState.DELAYED and short.message_sent
    assert long.state is JobState.DELAYED and not long.message_sent
    sqs = runtime.transport._sqs
    attrs = sqs.get_queue_attributes(QueueUrl=runtime.transport.queue_url(Q), AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessagesDelayed"] == "1"
    assert delayed.release_due_delayed(runtime, Q) == 0
    clock.advance(3600 - 30)
    assert delayed.release_due_delayed(runtime, Q) == 1
    released = runtime.store.get(long.id)
    assert released.state is JobState.WAITING and released.message_sent
    assert delayed.release_due_delayed(runtime, Q) == 0  # exactly once


def test_worker_delayed_message_arriving_early_is_requeued_not_run(runtime) -> None:
    clock = FakeClock(dt.datetime.now(dt.UTC))
    runtime.clock = clock
    job = add(runtime, delay=120_000)
    body = JobMessage(job_id=job.id, queue=Q, dispatch=job.dispatch).model_dump_json()
    assert Worker(runtime).process(body) == Outcome.REQUEUED
    assert runtime.store.get(job.id).attempts == 0
    clock.advance(121)
    assert Worker(runtime).process(body) == Outcome.COMPLETED


def test_rate_limited_queue_requeues_jobs_over_the_limit_without_attempts(runtime) -> None:
    runtime.clock = FakeClock(T0)
    jobs = [enqueue(runtime, queue="email", name="test-noop", data={}, tenant_id="t1").job for _ in range(52)]
    outcomes = []
    worker = Worker(runtime)
    for job in jobs:
        outcomes.append(worker.process(JobMessage(job_id=job.id, queue="email", dispatch=1).model_dump_json()))
    assert outcomes.count(Outcome.COMPLETED) == 50
    assert outcomes.count(Outcome.REQUEUED) == 2
    assert operations.queue_stats(runtime, "email").waiting == 2


def test_worker_reads_a_batchs_jobs_and_pause_flags_once_not_per_record(runtime, monkeypatch) -> None:
    jobs = [add(runtime, str(n)) for n in range(5)]
    reads: list[str] = []
    monkeypatch.setattr(runtime.store, "get", lambda job_id: reads.append(job_id))
    monkeypatch.setattr(runtime.store, "is_paused", lambda queue: reads.append(queue))
    response = deliver(runtime, Worker(runtime), Q)
    assert response == {"batchItemFailures": []}
    assert reads == []
    assert {runtime.store.get_many([j.id for j in jobs])[j.id].state for j in jobs} == {JobState.COMPLETED}


def test_worker_reads_job_by_job_when_the_batch_read_fails(runtime, monkeypatch) -> None:
    jobs = [add(runtime, str(n)) for n in range(3)]

    def unavailable(job_ids):
        raise ConnectionError("store unreachable for the batch read")

    monkeypatch.setattr(runtime.store, "get_many", unavailable)
    assert deliver(runtime, Worker(runtime), Q) == {"batchItemFailures": []}
    assert {runtime.store.get(j.id).state for j in jobs} == {JobState.COMPLETED}


def test_worker_defers_a_paused_tenants_jobs_without_an_attempt_and_runs_the_others(runtime, monkeypatch) -> None:
    monkeypatch.setattr("jobline.engine.worker.PAUSED_RECHECK_SECONDS", 0)  # the deferred message comes back at once
    held = add(runtime, "a", tenant="t1")
    other = add(runtime, "b", tenant="t2")
    operations.pause_queue(runtime, Q, tenant_id="t1")
    for _ in range(2):  # deferred again while the pause lasts, never spending an attempt
        assert deliver(runtime, Worker(runtime), Q) == {"batchItemFailures": []}
        waiting = runtime.store.get(held.id)
        assert (waiting.state, waiting.attempts, jobtypes.RUNS[held.id]) == (JobState.WAITING, 0, 0)
    assert runtime.store.get(other.id).state is JobState.COMPLETED
    operations.resume_queue(runtime, Q, tenant_id="t1")
    assert deliver(runtime, Worker(runtime), Q) == {"batchItemFailures": []}
    done = runtime.store.get(held.id)
    assert (done.state, done.attempts, jobtypes.RUNS[held.id]) == (JobState.COMPLETED, 1, 1)


def test_worker_reading_job_by_job_still_defers_a_paused_tenants_jobs(runtime, monkeypatch) -> None:
    held, other = add(runtime, "a", tenant="t1"), add(runtime, "b", tenant="t2")
    runtime.store.set_paused(Q, True, tenant_id="t1")

    def unavailable(job_ids):
        raise ConnectionError("store unreachable for the batch read")

    monkeypatch.setattr(runtime.store, "get_many", unavailable)
    assert deliver(runtime, Worker(runtime), Q) == {"batchItemFailures": []}
    assert (runtime.store.get(held.id).state, jobtypes.RUNS[held.id]) == (JobState.WAITING, 0)
    assert runtime.store.get(other.id).state is JobState.COMPLETED


def test_worker_sees_a_pause_made_before_the_batch(runtime) -> None:
    job = add(runtime)
    runtime.store.set_paused(Q, True)
    assert deliver(runtime, Worker(runtime), Q) == {"batchItemFailures": []}
    assert runtime.store.get(job.id).state is JobState.WAITING
    assert jobtypes.RUNS[job.id] == 0
