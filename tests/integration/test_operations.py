"""Queue operations on the job core: stats, retry, remove, promote, clean, drain, clear, retention."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Iterator

import pytest

from jobline.core.errors import EnqueueFailed, IllegalTransition, JobLocked, JobNotFound, UnknownQueue
from jobline.core.job import JobMessage
from jobline.core.queues import QUEUES
from jobline.core.retry import Backoff
from jobline.core.states import JobState
from jobline.domains.waitlist import cascade, notify
from jobline.domains.waitlist import jobs as waitlist_jobs  # noqa: F401 - registers the waitlist's job types
from jobline.engine import inline, operations, recurring
from jobline.engine.enqueue import JobOptions, enqueue
from jobline.engine.worker import Worker
from jobline.tick import delayed, periodic
from jobline.tick import recurring as tick_recurring
from jobline_dev.support import FakeClock, deliver, receive
from tests import jobtypes

Q = jobtypes.QUEUE
T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def add(runtime, value="x", *, tenant="t1", fail_times=0, **options):
    return enqueue(
        runtime,
        queue=Q,
        name="test-echo",
        data={"value": value, "fail_times": fail_times},
        tenant_id=tenant,
        options=JobOptions(**options),
    ).job


def run_all(runtime) -> None:
    while deliver(runtime, Worker(runtime), Q) is not None:
        pass


def test_stats_match_the_jobs_after_a_mixed_run(runtime) -> None:
    for i in range(3):
        add(runtime, f"ok{i}")
    add(runtime, "doomed", fail_times=9, attempts=1)
    add(runtime, "later", delay=3_600_000)
    add(runtime, "other tenant", tenant="t2")
    run_all(runtime)
    add(runtime, "still waiting")
    stats = operations.queue_stats(runtime, Q)
    assert (stats.waiting, stats.active, stats.completed, stats.failed, stats.delayed) == (1, 0, 4, 1, 1)
    assert stats.paused is False
    assert stats.sqs_visible == 1
    assert stats.dlq_depth == 1
    mine = operations.queue_stats(runtime, Q, tenant_id="t2")
    assert (mine.waiting, mine.completed, mine.failed) == (0, 1, 0)
    assert mine.dlq_depth is None  # queue depths mix tenants: operators only
    listed = operations.list_jobs(runtime, Q, JobState.COMPLETED)
    assert len(listed) == 4


def test_retry_failed_job_requeues_and_completes(runtime) -> None:
    job = add(runtime, fail_times=1, attempts=1)
    run_all(runtime)
    assert runtime.store.get(job.id).state is JobState.FAILED
    retried = operations.retry_job(runtime, job.id, tenant_id="t1")
    assert retried.state is JobState.WAITING and retried.attempts == 0 and retried.error is None
    run_all(runtime)
    done = runtime.store.get(job.id)
    assert done.state is JobState.COMPLETED
    # The DLQ copy of the earlier dispatch is dropped by the next tick.
    assert periodic.run_tick(runtime).stale_dead_letters_dropped == 1
    assert receive(runtime, Q, dlq=True) == []


def test_retry_of_a_job_that_has_not_failed_is_refused(runtime) -> None:
    job = add(runtime)
    with pytest.raises(IllegalTransition):
        operations.retry_job(runtime, job.id)


def test_other_tenant_job_reads_as_not_found(runtime) -> None:
    job = add(runtime, tenant="t1")
    with pytest.raises(JobNotFound):
        operations.get_job(runtime, job.id, tenant_id="t2")
    with pytest.raises(JobNotFound):
        operations.remove_job(runtime, job.id, tenant_id="t2")
    with pytest.raises(JobNotFound):
        operations.get_job(runtime, job.id, queue="email")
    assert operations.get_job(runtime, job.id, tenant_id="t1").id == job.id


def test_remove_waiting_job_makes_its_message_a_no_op(runtime) -> None:
    job = add(runtime)
    operations.remove_job(runtime, job.id)
    assert runtime.store.get(job.id) is None
    run_all(runtime)
    assert jobtypes.RUNS[job.id] == 0


def test_remove_active_job_is_refused(runtime) -> None:
    job = add(runtime)
    stored = runtime.store.get(job.id)
    runtime.store.replace(stored.moved_to(JobState.ACTIVE), expected_version=stored.version)
    with pytest.raises(JobLocked):
        operations.remove_job(runtime, job.id)


def test_promote_delayed_job_runs_it_now_and_old_message_is_ignored(runtime) -> None:
    job = add(runtime, delay=600_000)
    promoted = operations.promote_job(runtime, job.id)
    assert promoted.state is JobState.WAITING and promoted.dispatch == 2
    worker = Worker(runtime)
    assert worker.process(JobMessage(job_id=job.id, queue=Q, dispatch=1).model_dump_json()) == "skipped"
    run_all(runtime)
    assert runtime.store.get(job.id).state is JobState.COMPLETED
    assert jobtypes.RUNS[job.id] == 1


def test_clean_removes_only_finished_jobs_older_than_grace(runtime) -> None:
    clock = FakeClock(T0)
    runtime.clock = clock
    old = add(runtime, "old")
    run_all(runtime)
    clock.advance(3600)
    new = add(runtime, "new")
    run_all(runtime)
    removed = operations.clean_queue(runtime, Q, grace=dt.timedelta(minutes=30), state=JobState.COMPLETED)
    assert removed == 1
    assert runtime.store.get(old.id) is None
    assert runtime.store.get(new.id) is not None


def test_clean_for_one_tenant_leaves_other_tenants_jobs(runtime) -> None:
    mine = add(runtime, tenant="t1")
    theirs = add(runtime, tenant="t2")
    run_all(runtime)
    assert operations.clean_queue(runtime, Q, grace=dt.timedelta(0), state=JobState.COMPLETED, tenant_id="t1") == 1
    assert runtime.store.get(mine.id) is None
    assert runtime.store.get(theirs.id) is not None


def test_drain_removes_waiting_and_optionally_delayed_jobs(runtime) -> None:
    waiting = [add(runtime) for _ in range(3)]
    delayed = add(runtime, delay=3_600_000)
    assert operations.drain_queue(runtime, Q) == 3
    assert all(runtime.store.get(j.id) is None for j in waiting)
    assert runtime.store.get(delayed.id) is not None
    assert operations.drain_queue(runtime, Q, include_delayed=True) == 1
    run_all(runtime)
    assert sum(jobtypes.RUNS[j.id] for j in waiting) == 0


def test_clear_failed_removes_failed_jobs_and_empties_dlq(runtime) -> None:
    for _ in range(2):
        add(runtime, fail_times=9, attempts=1)
    run_all(runtime)
    assert operations.queue_stats(runtime, Q).failed == 2
    assert operations.clear_failed(runtime, Q) == 2
    stats = operations.queue_stats(runtime, Q)
    assert stats.failed == 0
    assert stats.dlq_depth == 0


def test_retention_drops_completed_jobs_past_their_age(memory_runtime) -> None:
    runtime = memory_runtime
    clock = FakeClock(T0)
    runtime.clock = clock
    old = [add(runtime).id for _ in range(5)]
    run_all(runtime)
    clock.advance(QUEUES[Q].keep_completed.age_seconds + 60)
    fresh = add(runtime, "fresh")
    run_all(runtime)
    assert operations.apply_retention(runtime, Q) == 5
    assert all(runtime.store.get(i) is None for i in old)
    assert runtime.store.get(fresh.id).state is JobState.COMPLETED


def test_retention_keeps_only_the_newest_completed_jobs_by_count(memory_runtime) -> None:
    runtime = memory_runtime
    clock = FakeClock(T0)
    runtime.clock = clock
    keep = QUEUES["room-generation"].keep_completed.count
    worker = Worker(runtime)
    ids = []
    for _ in range(keep + 3):
        job = enqueue(runtime, queue="room-generation", name="test-room-noop", data={}, tenant_id="t1").job
        worker.process(JobMessage(job_id=job.id, queue="room-generation", dispatch=1).model_dump_json())
        ids.append(job.id)
        clock.advance(1)
    assert periodic.run_nightly(runtime)["room-generation"] == 3
    assert [runtime.store.get(i) for i in ids[:3]] == [None, None, None]
    assert operations.queue_stats(runtime, "room-generation", with_sqs=False).completed == keep


def test_unknown_queue_is_refused_by_every_operation(memory_runtime) -> None:
    with pytest.raises(UnknownQueue):
        operations.queue_stats(memory_runtime, "nope")
    with pytest.raises(UnknownQueue):
        operations.pause_queue(memory_runtime, "nope")


def test_backoff_options_are_recorded_on_the_job(memory_runtime) -> None:
    job = add(memory_runtime, attempts=5, backoff=Backoff(type="fixed", delay=7))
    assert job.max_attempts == 5
    assert job.backoff.delay_after(3) == 7


def test_pause_and_resume_switch_the_event_source_mapping_in_aws(memory_runtime) -> None:
    import io
    import json
    import zipfile

    import boto3

    from jobline.aws.consumers import EventSourceMappingSwitch

    runtime = memory_runtime
    runtime.switch = EventSourceMappingSwitch(boto3.client("lambda"), runtime.transport)
    role = boto3.client("iam").create_role(RoleName="worker", AssumeRolePolicyDocument=json.dumps({"Statement": []}))
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def lambda_handler(event, context):\n    return {}\n")
    lambda_client = boto3.client("lambda")
    lambda_client.create_function(
        FunctionName="task-worker",
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="app.lambda_handler",
        Code={"ZipFile": code.getvalue()},
    )
    mapping = lambda_client.create_event_source_mapping(
        EventSourceArn=runtime.transport.queue_arn(Q), FunctionName="task-worker", BatchSize=10
    )

    def state() -> str:
        return lambda_client.get_event_source_mapping(UUID=mapping["UUID"])["State"]

    operations.pause_queue(runtime, Q)
    assert (state(), runtime.store.is_paused(Q)) == ("Disabled", True)
    operations.resume_queue(runtime, Q)
    assert (state(), runtime.store.is_paused(Q)) == ("Enabled", False)
    # One tenant's pause keeps the mapping on: the other tenants' jobs still run.
    operations.pause_queue(runtime, Q, tenant_id="t1")
    assert (state(), runtime.store.is_paused(Q), runtime.store.is_paused(Q, tenant_id="t1")) == ("Enabled", False, True)
    operations.resume_queue(runtime, Q, tenant_id="t1")
    assert (state(), runtime.store.is_paused(Q, tenant_id="t1")) == ("Enabled", False)


def test_tenant_pause_shows_in_that_tenants_stats_only(memory_runtime) -> None:
    operations.pause_queue(memory_runtime, Q, tenant_id="t1")
    assert operations.queue_stats(memory_runtime, Q, tenant_id="t1").paused is True
    assert operations.queue_stats(memory_runtime, Q, tenant_id="t2").paused is False
    assert operations.queue_stats(memory_runtime, Q).paused is False  # the queue itself runs
    operations.pause_queue(memory_runtime, Q)
    assert operations.queue_stats(memory_runtime, Q, tenant_id="t2").paused is True
    operations.resume_queue(memory_runtime, Q, tenant_id="t1")
    assert operations.queue_stats(memory_runtime, Q, tenant_id="t1").paused is True  # the operator's pause holds
    with pytest.raises(UnknownQueue):
        operations.pause_queue(memory_runtime, "nope", tenant_id="t1")


# ------------------------------------------------- a failed send leaves no orphan, on every dispatch path
#
# Every path that writes a job record and then sends its message goes through engine/dispatch.py.
# When the send fails, the store must be as it was before the call: a new record removed (its id
# or key free for the caller's retry), a moved record put back (CAS), never a job that says its
# message is on the way with none coming. Once SQS takes messages again, the same call succeeds.


@contextlib.contextmanager
def sends_refused(runtime) -> Iterator[None]:
    """SQS refuses every message while inside, as a throttled or unreachable queue does."""

    def refuse(*args, **kwargs):
        raise ConnectionError("SQS unreachable")

    runtime.transport.send = refuse
    try:
        yield
    finally:
        del runtime.transport.send  # the transport's own send again


def every_job(runtime) -> dict[str, dict]:
    """Each stored job of every queue, as it reads but for its version (a write put back bumps it)."""
    return {
        job.id: job.model_dump(exclude={"version"})
        for queue in QUEUES
        for state in JobState
        for job in runtime.store.list_jobs(queue, state, limit=1_000)
    }


def enqueue_path(runtime):
    return lambda: add(runtime)


def keyed_enqueue_path(runtime):
    return lambda: add(runtime, job_id="order-42")


def large_payload_enqueue_path(runtime):
    # Past the inline payload limit the data goes to S3 first: the record that names it is what is taken back.
    big = "x" * (runtime.settings.jobline_max_inline_payload_bytes + 1)
    return lambda: add(runtime, big)


def retry_path(runtime):
    job = add(runtime, fail_times=1, attempts=1)
    run_all(runtime)
    return lambda: operations.retry_job(runtime, job.id, tenant_id="t1")


def promote_path(runtime):
    job = add(runtime, delay=3_600_000)
    return lambda: operations.promote_job(runtime, job.id)


def tick_release_path(runtime):
    add(runtime, delay=3_600_000)  # past SQS's 15 minutes: the tick releases it
    runtime.clock.advance(3_600)
    return lambda: delayed.release_due_delayed(runtime, Q)


def tick_recurring_run_path(runtime):
    recurring.create_schedule(runtime, queue=Q, name="test-echo", tenant_id="t1", data={"value": "x"}, every_seconds=60)
    runtime.clock.advance(60)
    return lambda: tick_recurring.enqueue_due_runs(runtime)


def repeat_on_add_path(runtime):
    return lambda: add(runtime, repeat={"every": 60_000})


def repeat_immediately_on_add_path(runtime):
    return lambda: add(runtime, repeat={"every": 60_000, "immediately": True})


def inline_safety_net_path(runtime, *, fail_times=0):
    # A job run in its request is enqueued first with a held-back message (rooms.service);
    # when that fails, the request runs it without the store (`inline.run_in_request`).
    return lambda: (
        enqueue(
            runtime,
            queue=Q,
            name="test-echo",
            data={"value": "x", "fail_times": fail_times},
            tenant_id="t1",
            options=JobOptions(attempts=2),
            message_delay=inline.SAFETY_NET_DELAY_SECONDS,
        ).job
    )


def waitlist_cascade_path(runtime):
    return lambda: cascade.enqueue_cascade(runtime, tenant_id="t1", slot_id=uuid.uuid4())


def waitlist_notification_path(runtime):
    return lambda: notify.enqueue_send(runtime, tenant_id="t1", notification_id=uuid.uuid4())


# Each path: how it says the send failed (it raises EnqueueFailed, or tells its caller in its answer).
DISPATCH_PATHS = {
    "enqueue": (enqueue_path, EnqueueFailed),
    "enqueue with a jobId": (keyed_enqueue_path, EnqueueFailed),
    "enqueue of a payload kept in S3": (large_payload_enqueue_path, EnqueueFailed),
    "retry": (retry_path, EnqueueFailed),
    "promote": (promote_path, EnqueueFailed),
    "tick: release of a due delayed job": (tick_release_path, 0),
    "tick: start of a due recurring run": (tick_recurring_run_path, EnqueueFailed),
    "add with repeat": (repeat_on_add_path, EnqueueFailed),
    "add with repeat, immediately": (repeat_immediately_on_add_path, EnqueueFailed),
    "inline: enqueue with the safety net": (inline_safety_net_path, EnqueueFailed),
    "waitlist: cascade of a freed slot": (waitlist_cascade_path, None),
    "waitlist: send of a notification": (waitlist_notification_path, None),
}


@pytest.mark.parametrize("path", DISPATCH_PATHS)
def test_a_failed_send_leaves_the_store_as_it_was(runtime, path) -> None:
    setup, failed = DISPATCH_PATHS[path]
    runtime.clock = FakeClock(T0)
    attempt = setup(runtime)
    before = every_job(runtime)
    with sends_refused(runtime):
        if failed is EnqueueFailed:
            with pytest.raises(EnqueueFailed) as refused:
                attempt()
            # What a request's sync fallback reads as "the queue cannot take work now".
            assert inline.is_unavailable(refused.value)
        else:
            assert attempt() == failed
    assert every_job(runtime) == before, "no job left saying its message is on the way"
    assert attempt(), "once SQS takes messages again, the same call succeeds"
    assert every_job(runtime) != before


def test_a_job_run_in_its_request_whose_retry_send_fails_keeps_its_safety_net(runtime) -> None:
    # The one send outside engine/dispatch.py: the retry of a job run inline, whose record the
    # worker already moved to waiting. Its enqueue's held-back message still wakes it.
    runtime.clock = FakeClock(T0)
    job = inline_safety_net_path(runtime, fail_times=1)()
    with sends_refused(runtime), pytest.raises(ConnectionError):
        inline.run_inline(runtime, job)
    after = runtime.store.get(job.id)
    assert (after.state, after.dispatch, after.attempts) == (JobState.WAITING, job.dispatch, 1)
    assert runtime.transport.depths(Q)["delayed"] == 1, "the safety net's message"
