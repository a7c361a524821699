"""The tick re-sends the jobs of a killed worker once their lease expires, not after the visibility timeout."""

from __future__ import annotations

import datetime as dt

import pytest

from jobline.core.job import JobMessage
from jobline.core.states import JobState
from jobline.engine.enqueue import JobOptions, enqueue
from jobline.engine.worker import Worker
from jobline.tick import periodic
from jobline_dev.support import FakeClock, deliver, make_visible, receive, sqs_event
from tests import jobtypes

Q = jobtypes.QUEUE
T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def clocked(runtime):
    runtime.clock = FakeClock(T0)
    return runtime


def killed_worker(runtime, **options):
    """A job whose worker died mid-attempt: `active`, its message invisible until the visibility timeout."""
    job = enqueue(
        runtime,
        queue=Q,
        name="test-echo",
        data={"value": "x", "crash_times": 1},
        tenant_id="t1",
        options=JobOptions(**options),
    ).job
    messages = receive(runtime, Q)
    with pytest.raises(SystemExit):
        Worker(runtime).handle_batch(sqs_event(runtime, Q, messages))
    dead = runtime.store.get(job.id)
    assert dead.state is JobState.ACTIVE and dead.lease_until is not None
    return dead, messages


def test_tick_resends_a_job_whose_lease_expired_and_one_delivery_completes_it(clocked) -> None:
    job, old_messages = killed_worker(clocked, attempts=3)
    # The lease still runs: the worker may be alive, the tick leaves the job alone.
    assert periodic.run_tick(clocked).expired_leases_resent == 0
    assert receive(clocked, Q) == []
    assert clocked.store.get(job.id).dispatch == job.dispatch

    clocked.clock.advance((job.lease_until - T0).total_seconds() + 1)
    assert periodic.run_tick(clocked).expired_leases_resent == 1
    resent = clocked.store.get(job.id)
    assert resent.state is JobState.ACTIVE and resent.lease_until is None and resent.dispatch == job.dispatch + 1
    # A second tick before the new message is taken sends nothing more: the lease was cleared.
    assert periodic.run_tick(clocked).expired_leases_resent == 0

    # One delivery, at once (no visibility timeout waited out), takes the job over and finishes it.
    assert deliver(clocked, Worker(clocked), Q) == {"batchItemFailures": []}
    done = clocked.store.get(job.id)
    assert done.state is JobState.COMPLETED
    assert done.attempts == 2
    assert jobtypes.RUNS[job.id] == 2

    # The dead worker's message, when its timeout ends, names the old dispatch: dropped, nothing runs.
    make_visible(clocked, Q, old_messages)
    [old] = receive(clocked, Q)
    assert JobMessage.model_validate_json(old["Body"]).dispatch == job.dispatch
    assert Worker(clocked).handle_batch(sqs_event(clocked, Q, [old])) == {"batchItemFailures": []}
    assert jobtypes.RUNS[job.id] == 2
    assert receive(clocked, Q) == []


def test_tick_resent_job_that_had_its_last_attempt_is_failed_by_the_next_delivery(clocked) -> None:
    job, _ = killed_worker(clocked, attempts=1)
    clocked.clock.advance(3600)
    assert periodic.run_tick(clocked).expired_leases_resent == 1
    assert deliver(clocked, Worker(clocked), Q) == {"batchItemFailures": []}
    failed = clocked.store.get(job.id)
    assert failed.state is JobState.FAILED
    assert "worker stopped" in failed.error
    assert jobtypes.RUNS[job.id] == 1
    assert len(receive(clocked, Q, dlq=True)) == 1


def test_tick_leaves_live_leases_and_other_states_alone(clocked) -> None:
    job, _ = killed_worker(clocked, attempts=3)
    waiting = enqueue(clocked, queue=Q, name="test-echo", data={"value": "y"}, tenant_id="t2").job
    clocked.clock.advance((job.lease_until - T0).total_seconds() - 5)
    report = periodic.run_tick(clocked)
    assert report.expired_leases_resent == 0
    assert clocked.store.get(job.id).version == job.version
    assert clocked.store.get(waiting.id).state is JobState.WAITING
