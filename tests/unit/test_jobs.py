"""The job record: transitions, logs, ordering and idempotency keys."""

from __future__ import annotations

import datetime as dt

import pytest

from jobline.core.errors import IllegalTransition
from jobline.core.job import MAX_LOG_LINES, Job, job_id_for_key
from jobline.core.states import ALLOWED_TRANSITIONS, JobState

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def job(state: JobState = JobState.WAITING, **kw) -> Job:
    return Job(id="j1", queue="email", name="send", tenant_id="t1", state=state, created_at=T0, **kw)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (JobState.COMPLETED, JobState.ACTIVE),
        (JobState.FAILED, JobState.COMPLETED),
        (JobState.WAITING, JobState.COMPLETED),
        (JobState.DELAYED, JobState.COMPLETED),
        (JobState.COMPLETED, JobState.FAILED),
    ],
)
def test_moved_to_refuses_illegal_transition(start: JobState, end: JobState) -> None:
    with pytest.raises(IllegalTransition):
        job(start).moved_to(end)


def test_every_state_can_reach_a_finished_state() -> None:
    for start in JobState:
        if start.is_finished:
            continue
        seen, frontier = set(), {start}
        while frontier:
            state = frontier.pop()
            seen.add(state)
            frontier |= set(ALLOWED_TRANSITIONS[state]) - seen
        assert seen & {JobState.COMPLETED, JobState.FAILED}, start


def test_moved_to_applies_changes_and_keeps_original() -> None:
    original = job()
    moved = original.moved_to(JobState.ACTIVE, attempts=1)
    assert (moved.state, moved.attempts) == (JobState.ACTIVE, 1)
    assert (original.state, original.attempts) == (JobState.WAITING, 0)


def test_with_log_keeps_the_newest_lines_only() -> None:
    record = job()
    for i in range(MAX_LOG_LINES + 5):
        record = record.with_log(f"line {i}")
    assert len(record.logs) == MAX_LOG_LINES
    assert record.logs[0] == "line 5"
    assert record.logs[-1] == f"line {MAX_LOG_LINES + 4}"


def test_index_time_orders_delayed_by_run_at_and_finished_by_finish() -> None:
    later = T0 + dt.timedelta(hours=1)
    assert job(JobState.DELAYED, run_at=later).index_time() == later
    assert job(JobState.COMPLETED, finished_at=later).index_time() == later
    assert job(JobState.WAITING, run_at=later).index_time() == T0


def test_job_id_for_key_is_stable_and_scoped_by_tenant_and_queue() -> None:
    a = job_id_for_key(tenant_id="t1", queue="email", key="k")
    assert a == job_id_for_key(tenant_id="t1", queue="email", key="k")
    assert a != job_id_for_key(tenant_id="t2", queue="email", key="k")
    assert a != job_id_for_key(tenant_id="t1", queue="sms", key="k")
