"""Recurring jobs: schedules in the job store, runs enqueued exactly once by the tick."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from jobline.core.errors import InvalidPayload, UnknownJobType
from jobline.core.job import job_id_for_key
from jobline.core.repeat import schedule_id_of_run
from jobline.core.states import JobState
from jobline.engine import recurring
from jobline.engine.enqueue import JobOptions
from jobline.tick import periodic
from jobline.tick.recurring import enqueue_due_runs
from jobline_dev.support import FakeClock
from tests import jobtypes

Q = jobtypes.QUEUE
T0 = dt.datetime(2026, 3, 28, 22, 59, 30, tzinfo=dt.UTC)  # 23:59:30 in Paris, the night before DST


def daily(runtime, tenant="t1", **kw):
    fields = {"cron": "0 0 * * *", "timezone": "Europe/Paris", **kw}
    return recurring.create_schedule(
        runtime, queue=Q, name="test-echo", tenant_id=tenant, data={"value": "nightly"}, **fields
    )


@pytest.fixture
def clocked(runtime):
    runtime.clock = FakeClock(T0)
    return runtime


def jobs_of(runtime, state=JobState.DELAYED):
    return runtime.store.list_jobs(Q, state)


def test_create_schedule_computes_first_run_in_its_time_zone(clocked) -> None:
    schedule = daily(clocked)
    assert schedule.next_run_at == dt.datetime(2026, 3, 28, 23, 0, tzinfo=dt.UTC)  # midnight in Paris
    assert schedule.data == {"value": "nightly", "fail_times": 0, "crash_times": 0, "sleep": 0.0, "steps": 0}
    assert [s.id for s in recurring.list_schedules(clocked, queue=Q)] == [schedule.id]


def test_tick_enqueues_a_due_run_once_with_its_remaining_delay(clocked) -> None:
    schedule = daily(clocked)
    assert periodic.run_tick(clocked).recurring_runs == 1
    [job] = jobs_of(clocked)
    assert job.run_at == schedule.next_run_at
    assert job.id == job_id_for_key(tenant_id="t1", queue=Q, key=recurring.run_key(schedule, schedule.next_run_at))
    moved = clocked.store.get_schedule(schedule.id)
    assert moved.runs == 1
    # After the spring-forward night, Paris midnight is 22:00 UTC.
    assert moved.next_run_at == dt.datetime(2026, 3, 29, 22, 0, tzinfo=dt.UTC)
    assert periodic.run_tick(clocked).recurring_runs == 0
    assert len(jobs_of(clocked)) == 1


def test_overlapping_ticks_enqueue_each_run_exactly_once(clocked) -> None:
    daily(clocked)
    daily(clocked, tenant="t2")
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def tick() -> None:
        try:
            barrier.wait()
            enqueue_due_runs(clocked)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(j.tenant_id for j in jobs_of(clocked)) == ["t1", "t2"]
    assert {s.runs for s in clocked.store.list_schedules()} == {1}


def test_tick_that_died_after_enqueue_is_finished_by_the_next_without_a_second_job(clocked) -> None:
    schedule = daily(clocked)
    run_at = schedule.next_run_at
    # The first tick enqueued the run, then died before moving the schedule on.
    from jobline.engine.enqueue import enqueue

    enqueue(
        clocked,
        queue=Q,
        name="test-echo",
        data=schedule.data,
        tenant_id="t1",
        options=JobOptions(jobId=recurring.run_key(schedule, run_at), runAt=run_at),
    )
    assert enqueue_due_runs(clocked) == 1
    assert len(jobs_of(clocked)) == 1
    assert clocked.store.get_schedule(schedule.id).runs == 1


def test_every_n_seconds_schedule_runs_on_interval_multiples(memory_runtime) -> None:
    memory_runtime.clock = clock = FakeClock(dt.datetime(2026, 1, 1, 12, 1, 10, tzinfo=dt.UTC))
    schedule = recurring.create_schedule(
        memory_runtime, queue=Q, name="test-echo", tenant_id="t1", data={"value": "v"}, every_seconds=300
    )
    assert schedule.next_run_at == dt.datetime(2026, 1, 1, 12, 5, tzinfo=dt.UTC)
    times = []
    for _ in range(3):
        clock.now = memory_runtime.store.get_schedule(schedule.id).next_run_at
        enqueue_due_runs(memory_runtime)
        times.append(memory_runtime.store.get_schedule(schedule.id).last_run_at.strftime("%H:%M"))
    assert times == ["12:05", "12:10", "12:15"]


def test_limit_ends_the_schedule_after_its_runs(memory_runtime) -> None:
    memory_runtime.clock = clock = FakeClock(T0)
    schedule = daily(memory_runtime, limit=2)
    for _ in range(3):
        clock.now = memory_runtime.store.get_schedule(schedule.id).next_run_at or clock.now
        enqueue_due_runs(memory_runtime)
    ended = memory_runtime.store.get_schedule(schedule.id)
    assert (ended.runs, ended.next_run_at) == (2, None)
    assert memory_runtime.store.counts(Q)[JobState.WAITING] == 2


def test_missed_ticks_run_once_for_the_latest_missed_time(memory_runtime) -> None:
    memory_runtime.clock = clock = FakeClock(T0)
    schedule = daily(memory_runtime)
    clock.advance(5 * 24 * 3600)  # five midnights passed without a tick
    assert enqueue_due_runs(memory_runtime) == 1
    moved = memory_runtime.store.get_schedule(schedule.id)
    assert moved.last_run_at == dt.datetime(2026, 4, 2, 22, 0, tzinfo=dt.UTC)
    assert moved.next_run_at > clock.now
    assert memory_runtime.store.counts(Q)[JobState.WAITING] == 1


def test_delete_schedule_is_tenant_scoped(memory_runtime) -> None:
    schedule = daily(memory_runtime)
    with pytest.raises(recurring.ScheduleNotFound):
        recurring.delete_schedule(memory_runtime, schedule.id, tenant_id="t2")
    recurring.delete_schedule(memory_runtime, schedule.id, tenant_id="t1")
    assert memory_runtime.store.list_schedules() == []
    with pytest.raises(recurring.ScheduleNotFound):
        recurring.delete_schedule(memory_runtime, schedule.id)


@pytest.mark.parametrize(
    "fields",
    [
        {"cron": "every day"},
        {"cron": "* * * * * *"},
        {"cron": None, "every_seconds": 30},
        {"cron": "0 0 * * *", "every_seconds": 600},
        {"cron": None},
        {"timezone": "Mars/Olympus"},
    ],
)
def test_schedule_rules_are_validated(memory_runtime, fields) -> None:
    with pytest.raises(InvalidPayload):
        daily(memory_runtime, **fields)


def test_schedule_payload_and_type_are_validated_at_creation(memory_runtime) -> None:
    with pytest.raises(InvalidPayload):
        recurring.create_schedule(memory_runtime, queue=Q, name="test-echo", tenant_id="t1", data={}, cron="0 0 * * *")
    with pytest.raises(UnknownJobType):
        recurring.create_schedule(memory_runtime, queue=Q, name="nope", tenant_id="t1", data={}, cron="0 0 * * *")
    with pytest.raises(InvalidPayload):
        daily(memory_runtime, options=JobOptions(jobId="mine"))


def add_with_repeat(runtime, tenant="t1", value="nightly", **repeat):
    from jobline.engine.enqueue import enqueue

    options = JobOptions.model_validate({"repeat": repeat or {"pattern": "0 0 * * *", "tz": "Europe/Paris"}})
    return enqueue(runtime, queue=Q, name="test-echo", data={"value": value}, tenant_id=tenant, options=options)


def test_add_with_repeat_registers_the_schedule_and_answers_its_first_run(clocked) -> None:
    added = add_with_repeat(clocked)
    assert added.created and added.schedule is not None
    first_run = dt.datetime(2026, 3, 28, 23, 0, tzinfo=dt.UTC)  # midnight in Paris
    assert (added.job.state, added.job.run_at) == (JobState.DELAYED, first_run)
    assert added.job.id == job_id_for_key(tenant_id="t1", queue=Q, key=recurring.run_key(added.schedule, first_run))
    assert schedule_id_of_run(added.job.key) == added.schedule_id
    [schedule] = recurring.list_schedules(clocked, tenant_id="t1")
    assert (schedule.id, schedule.cron, schedule.timezone) == (added.schedule_id, "0 0 * * *", "Europe/Paris")
    # The tick finds the first run already enqueued (same run key) and moves the schedule on: one job.
    assert periodic.run_tick(clocked).recurring_runs == 1
    assert [j.id for j in jobs_of(clocked)] == [added.job.id]
    assert clocked.store.get_schedule(schedule.id).next_run_at == dt.datetime(2026, 3, 29, 22, 0, tzinfo=dt.UTC)


def test_the_same_repeat_added_again_is_the_same_schedule_and_run(clocked) -> None:
    first = add_with_repeat(clocked)
    again = add_with_repeat(clocked, value="renewed")
    assert (again.created, again.schedule_id, again.job.id) == (False, first.schedule_id, first.job.id)
    assert len(clocked.store.list_schedules()) == 1
    # Like BullMQ's job schedulers, the latest add's data is what the runs to come get.
    assert clocked.store.get_schedule(first.schedule_id).data["value"] == "renewed"
    other_tenant = add_with_repeat(clocked, tenant="t2")
    other_rule = add_with_repeat(clocked, pattern="0 6 * * *")
    assert len({first.schedule_id, other_tenant.schedule_id, other_rule.schedule_id}) == 3


def test_repeat_every_milliseconds_runs_on_interval_multiples(memory_runtime) -> None:
    memory_runtime.clock = clock = FakeClock(dt.datetime(2026, 1, 1, 12, 1, 10, tzinfo=dt.UTC))
    added = add_with_repeat(memory_runtime, every=300_000, limit=2)
    assert added.job.run_at == dt.datetime(2026, 1, 1, 12, 5, tzinfo=dt.UTC)
    assert added.schedule.every_seconds == 300
    for _ in range(3):
        clock.now = memory_runtime.store.get_schedule(added.schedule_id).next_run_at or clock.now
        enqueue_due_runs(memory_runtime)
    ended = memory_runtime.store.get_schedule(added.schedule_id)
    assert (ended.runs, ended.next_run_at, ended.last_run_at.strftime("%H:%M")) == (2, None, "12:10")
    counts = memory_runtime.store.counts(Q)
    assert counts[JobState.DELAYED] + counts[JobState.WAITING] == 2  # the first run, made by the add, was delayed
    with pytest.raises(InvalidPayload) as refused:
        add_with_repeat(memory_runtime, every=300_000, limit=2)
    assert refused.value.errors[0]["loc"] == ("options", "repeat", "limit")


def test_repeat_immediately_runs_now_then_on_the_interval(memory_runtime) -> None:
    memory_runtime.clock = FakeClock(dt.datetime(2026, 1, 1, 12, 1, 10, tzinfo=dt.UTC))
    added = add_with_repeat(memory_runtime, every=60_000, immediately=True)
    assert (added.job.state, added.job.run_at) == (JobState.WAITING, None)
    assert added.schedule.next_run_at == dt.datetime(2026, 1, 1, 12, 2, tzinfo=dt.UTC)


def test_repeat_start_and_end_dates_bound_the_runs(memory_runtime) -> None:
    memory_runtime.clock = FakeClock(dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC))
    later = add_with_repeat(memory_runtime, pattern="0 0 * * *", startDate="2026-02-01T00:00:00Z")
    assert later.job.run_at == dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    with pytest.raises(InvalidPayload) as refused:
        add_with_repeat(memory_runtime, pattern="0 0 * * *", endDate="2026-01-01T18:00:00Z")
    assert refused.value.errors[0]["loc"] == ("options", "repeat", "endDate")
    assert [s.id for s in memory_runtime.store.list_schedules()] == [later.schedule_id]


def test_repeat_refuses_options_the_schedule_sets_and_keeps_the_rest_for_every_run(memory_runtime) -> None:
    from jobline.engine.enqueue import enqueue

    def add(options: dict) -> None:
        enqueue(
            memory_runtime,
            queue=Q,
            name="test-echo",
            data={"value": "v"},
            tenant_id="t1",
            options=JobOptions.model_validate({"repeat": {"every": 60_000}, **options}),
        )

    with pytest.raises(InvalidPayload) as refused:
        add({"delay": 5000})
    assert refused.value.errors[0]["loc"] == ("options", "delay")
    add({"retries": 2, "backoff": {"type": "fixed", "delay": 3000}, "timeout": 20_000})
    [schedule] = memory_runtime.store.list_schedules()
    [job] = jobs_of(memory_runtime)
    assert (job.max_attempts, job.backoff.delay, job.timeout_seconds) == (3, 3, 20)
    assert schedule.options == {"retries": 2, "backoff": {"type": "fixed", "delay": 3000}, "timeout": 20_000}


def test_concurrent_adds_of_one_repeat_make_one_schedule_and_one_run(clocked) -> None:
    barrier = threading.Barrier(4)
    results: list = []
    errors: list[BaseException] = []

    def add() -> None:
        try:
            barrier.wait()
            results.append(add_with_repeat(clocked))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=add) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({r.schedule_id for r in results}) == len({r.job.id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert len(clocked.store.list_schedules()) == len(jobs_of(clocked)) == 1


# ---------------------------------------------------------------- the cap of schedules per tenant


def capped(runtime, limit):
    runtime.settings = runtime.settings.model_copy(update={"jobline_max_schedules_per_tenant": limit})
    return runtime


def test_create_schedule_past_the_tenant_cap_is_refused_naming_the_limit(memory_runtime) -> None:
    runtime = capped(memory_runtime, 2)
    first = daily(runtime)
    daily(runtime, cron="0 6 * * *")
    with pytest.raises(recurring.TooManySchedules) as refused:
        daily(runtime, cron="0 12 * * *")
    assert isinstance(refused.value, InvalidPayload)  # answered with 422
    assert "2 recurring schedules" in refused.value.errors[0]["msg"]
    assert "JOBLINE_MAX_SCHEDULES_PER_TENANT" in refused.value.errors[0]["msg"]
    assert len(recurring.list_schedules(runtime, tenant_id="t1")) == 2
    # The cap is per tenant: another tenant still has room.
    daily(runtime, tenant="t2")
    # A deleted schedule frees its place.
    recurring.delete_schedule(runtime, first.id, tenant_id="t1")
    daily(runtime, cron="0 12 * * *")


def test_the_same_repeat_added_again_is_not_counted_against_the_cap(clocked) -> None:
    runtime = capped(clocked, 1)
    first = add_with_repeat(runtime)
    again = add_with_repeat(runtime, value="renewed")
    assert again.schedule_id == first.schedule_id
    with pytest.raises(recurring.TooManySchedules) as refused:
        add_with_repeat(runtime, pattern="0 6 * * *")
    assert refused.value.errors[0]["loc"] == ("options", "repeat")
    assert len(runtime.store.list_schedules()) == 1
    assert jobs_of(runtime) == [runtime.store.get(first.job.id)]
