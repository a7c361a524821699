"""One contract for every job store: the fake, DynamoDB (moto) and Redis (the real one)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from jobline.core.errors import JobExists, ScheduleConflict, StaleJob
from jobline.core.job import Job, new_job_id
from jobline.core.repeat import Schedule
from jobline.core.states import JobState
from jobline.store.dynamodb import DynamoJobStore
from jobline.store.memory import MemoryJobStore
from jobline.store.ports import JobStore, Pauses
from jobline.store.redis import RedisJobStore

T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


def make_job(
    *, queue: str = "email", tenant: str = "t1", state: JobState = JobState.WAITING, at: dt.datetime = T0, **kw
) -> Job:
    return Job(id=new_job_id(), queue=queue, name="send", tenant_id=tenant, state=state, created_at=at, **kw)


def test_create_then_get_returns_version_one(store: JobStore) -> None:
    job = make_job(data={"to": "a@example.com", "n": 1})
    stored = store.create(job)
    assert stored.version == 1
    fetched = store.get(job.id)
    assert fetched == stored
    assert fetched.data == {"to": "a@example.com", "n": 1}


def test_get_missing_returns_none(store: JobStore) -> None:
    assert store.get("nope") is None


def test_create_same_id_raises_job_exists_with_stored_job(store: JobStore) -> None:
    job = make_job(data={"v": 1})
    store.create(job)
    with pytest.raises(JobExists) as caught:
        store.create(job.model_copy(update={"data": {"v": 2}}))
    assert caught.value.existing.data == {"v": 1}


def test_replace_with_current_version_bumps_version(store: JobStore) -> None:
    stored = store.create(make_job())
    active = store.replace(stored.moved_to(JobState.ACTIVE, attempts=1), expected_version=1)
    assert active.version == 2
    assert store.get(stored.id).state is JobState.ACTIVE
    assert store.get(stored.id).attempts == 1


def test_replace_with_stale_version_raises_and_changes_nothing(store: JobStore) -> None:
    stored = store.create(make_job())
    store.replace(stored.moved_to(JobState.ACTIVE), expected_version=1)
    with pytest.raises(StaleJob):
        store.replace(stored.moved_to(JobState.DELAYED), expected_version=1)
    assert store.get(stored.id).state is JobState.ACTIVE
    assert store.counts("email")[JobState.DELAYED] == 0


def test_get_many_returns_the_stored_jobs_by_id_and_leaves_out_absent_ones(store: JobStore) -> None:
    first, second = store.create(make_job(data={"n": 1})), store.create(make_job(data={"n": 2}))
    found = store.get_many([first.id, "missing", second.id, first.id])
    assert found == {first.id: first, second.id: second}
    assert store.get_many([]) == {}


def test_get_many_reads_more_than_one_request_holds(store: JobStore) -> None:
    jobs = [store.create(make_job(data={"n": n})) for n in range(130)]
    found = store.get_many([job.id for job in jobs])
    assert [found[job.id].data for job in jobs] == [{"n": n} for n in range(130)]


def test_replace_with_the_callers_copy_keeps_counts_and_still_checks_the_version(store: JobStore) -> None:
    stored = store.create(make_job())
    active = store.replace(stored.moved_to(JobState.ACTIVE), expected_version=1, previous=stored)
    assert store.counts("email")[JobState.ACTIVE] == 1 and store.counts("email")[JobState.WAITING] == 0
    # A copy that is no longer current does not let a write through.
    with pytest.raises(StaleJob):
        store.replace(stored.moved_to(JobState.DELAYED), expected_version=1, previous=stored)
    store.replace(active.moved_to(JobState.COMPLETED), expected_version=2, previous=active)
    assert store.counts("email")[JobState.COMPLETED] == 1 and store.counts("email")[JobState.ACTIVE] == 0


def test_replace_counted_counts_only_the_write_that_wins(store: JobStore) -> None:
    stored = store.create(make_job())
    active = store.replace(stored.moved_to(JobState.ACTIVE), expected_version=1)
    done = active.moved_to(JobState.COMPLETED)
    store.replace_counted(done, expected_version=2, previous=active, counter="c", increments={"n": 1.0, "s": 0.5})
    with pytest.raises(StaleJob):
        store.replace_counted(done, expected_version=2, previous=active, counter="c", increments={"n": 1.0})
    assert store.read_counters("c") == {"n": 1.0, "s": 0.5}
    # A job's duration can be a few microseconds: a number Python writes with an exponent.
    store.add_to_counters("c", {"s": 1e-05})
    assert store.read_counters("c")["s"] == pytest.approx(0.50001)
    assert store.get(stored.id).state is JobState.COMPLETED


def test_a_stale_replace_counted_leaves_the_counters_the_job_and_its_counts_as_they_were(store: JobStore) -> None:
    stored = store.create(make_job())
    active = store.replace(stored.moved_to(JobState.ACTIVE), expected_version=1)
    store.add_to_counters("c", {"n": 2.0})
    with pytest.raises(StaleJob):
        store.replace_counted(
            stored.moved_to(JobState.ACTIVE), expected_version=1, previous=stored, counter="c", increments={"n": 1.0}
        )
    with pytest.raises(StaleJob):
        store.replace_counted(make_job(), expected_version=1, previous=None, counter="gone", increments={"n": 1.0})
    assert store.read_counters("c") == {"n": 2.0} and store.read_counters("gone") == {}
    assert store.get(stored.id) == active
    assert store.counts("email")[JobState.ACTIVE] == 1 and store.counts("email")[JobState.COMPLETED] == 0


def spoil_counter(store: JobStore, name: str, field: str, *, spoiled: bool = True) -> None:
    """Make `field` of counter `name` hold text (adding to it must fail), or remove it again, through the
    store's own backend."""
    if isinstance(store, MemoryJobStore):
        fields = store._counters[name]
        if spoiled:
            fields[field] = "not a number"  # type: ignore[assignment]
        else:
            del fields[field]
    elif isinstance(store, RedisJobStore):
        key = store._counter_key(name)
        store._client.hset(key, field, "not a number") if spoiled else store._client.hdel(key, field)
    elif isinstance(store, DynamoJobStore):
        store._client.update_item(
            TableName=store._table,
            Key={"pk": {"S": f"counters#{name}"}, "sk": {"S": "counters"}},
            UpdateExpression="SET #f = :text" if spoiled else "REMOVE #f",
            ExpressionAttributeNames={"#f": field},
            **({"ExpressionAttributeValues": {":text": {"S": "not a number"}}} if spoiled else {}),
        )
    else:
        raise AssertionError(f"no way to spoil a counter of {type(store).__name__}")


def test_a_counter_that_refuses_the_increments_leaves_the_job_unwritten(store: JobStore) -> None:
    stored = store.create(make_job())
    active = store.replace(stored.moved_to(JobState.ACTIVE), expected_version=1)
    store.add_to_counters("c", {"n": 1.0})
    spoil_counter(store, "c", "broken")
    with pytest.raises(Exception):  # noqa: B017 - each store fails in its own words
        store.replace_counted(
            active.moved_to(JobState.COMPLETED),
            expected_version=2,
            previous=active,
            counter="c",
            increments={"n": 1.0, "broken": 1.0},
        )
    # Neither half took effect: the job is still active, and the good field was not counted either.
    assert store.get(stored.id) == active
    assert store.counts("email")[JobState.ACTIVE] == 1 and store.counts("email")[JobState.COMPLETED] == 0
    spoil_counter(store, "c", "broken", spoiled=False)
    assert store.read_counters("c") == {"n": 1.0}
    # The same write with a counter that takes it goes through, counted once.
    store.replace_counted(
        active.moved_to(JobState.COMPLETED), expected_version=2, previous=active, counter="d", increments={"n": 1.0}
    )
    assert store.get(stored.id).state is JobState.COMPLETED and store.read_counters("d") == {"n": 1.0}


def test_replace_counted_with_no_increments_is_a_plain_replace(store: JobStore) -> None:
    stored = store.create(make_job())
    done = store.replace_counted(
        stored.moved_to(JobState.ACTIVE), expected_version=1, previous=stored, counter="c", increments={}
    )
    assert done.version == 2 and store.get(stored.id) == done
    assert store.read_counters("c") == {}


def test_list_jobs_reads_a_negative_offset_as_zero_and_a_limit_of_zero_as_none(store: JobStore) -> None:
    jobs = [store.create(make_job(at=T0 + dt.timedelta(seconds=n))) for n in range(3)]
    assert [j.id for j in store.list_jobs("email", JobState.WAITING, offset=-5, limit=2)] == [jobs[0].id, jobs[1].id]
    assert store.list_jobs("email", JobState.WAITING, limit=0) == []
    assert store.list_jobs("email", JobState.WAITING, limit=-1) == []


def test_replace_missing_job_raises_stale(store: JobStore) -> None:
    with pytest.raises(StaleJob):
        store.replace(make_job(), expected_version=1)


def test_concurrent_replaces_of_one_version_let_exactly_one_win(store: JobStore) -> None:
    stored = store.create(make_job())
    wins: list[int] = []
    losses: list[int] = []
    barrier = threading.Barrier(8)

    def take(i: int) -> None:
        barrier.wait()
        try:
            store.replace(stored.moved_to(JobState.ACTIVE, attempts=1), expected_version=1)
            wins.append(i)
        except StaleJob:
            losses.append(i)

    threads = [threading.Thread(target=take, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    assert len(losses) == 7
    assert store.counts("email")[JobState.ACTIVE] == 1


def test_delete_removes_job_and_its_count(store: JobStore) -> None:
    stored = store.create(make_job())
    store.delete(stored.id, expected_version=1)
    assert store.get(stored.id) is None
    assert store.counts("email")[JobState.WAITING] == 0
    assert store.list_jobs("email", JobState.WAITING) == []


def test_delete_with_stale_version_raises(store: JobStore) -> None:
    stored = store.create(make_job())
    store.replace(stored.moved_to(JobState.ACTIVE), expected_version=1)
    with pytest.raises(StaleJob):
        store.delete(stored.id, expected_version=1)
    assert store.get(stored.id) is not None


def test_counts_follow_every_transition_per_queue_and_tenant(store: JobStore) -> None:
    a = store.create(make_job(tenant="t1"))
    b = store.create(make_job(tenant="t2"))
    store.create(make_job(tenant="t1", queue="sms"))
    a = store.replace(a.moved_to(JobState.ACTIVE), expected_version=a.version)
    store.replace(a.moved_to(JobState.COMPLETED, finished_at=T0), expected_version=a.version)
    store.replace(b.moved_to(JobState.ACTIVE), expected_version=b.version)
    counts = store.counts("email")
    assert counts[JobState.COMPLETED] == 1
    assert counts[JobState.ACTIVE] == 1
    assert counts[JobState.WAITING] == 0
    assert store.counts("email", tenant_id="t1")[JobState.COMPLETED] == 1
    assert store.counts("email", tenant_id="t1")[JobState.ACTIVE] == 0
    assert store.counts("email", tenant_id="t2")[JobState.ACTIVE] == 1
    assert store.counts("sms")[JobState.WAITING] == 1
    assert store.counts("unknown-queue") == dict.fromkeys(JobState, 0)


def test_list_jobs_pages_in_order_and_filters_tenant(store: JobStore) -> None:
    ids = []
    for i in range(7):
        job = store.create(make_job(tenant="t1" if i % 2 == 0 else "t2", at=T0 + dt.timedelta(seconds=i)))
        ids.append(job.id)
    page1 = store.list_jobs("email", JobState.WAITING, offset=0, limit=3)
    page2 = store.list_jobs("email", JobState.WAITING, offset=3, limit=3)
    page3 = store.list_jobs("email", JobState.WAITING, offset=6, limit=3)
    assert [j.id for j in page1 + page2 + page3] == ids
    t1 = store.list_jobs("email", JobState.WAITING, tenant_id="t1")
    assert [j.id for j in t1] == ids[0::2]
    assert store.list_jobs("email", JobState.ACTIVE) == []


def test_list_finished_jobs_newest_first(store: JobStore) -> None:
    ids = []
    for i in range(3):
        job = store.create(make_job(state=JobState.ACTIVE))
        done = store.replace(
            job.moved_to(JobState.COMPLETED, finished_at=T0 + dt.timedelta(minutes=i)),
            expected_version=1,
        )
        ids.append(done.id)
    listed = store.list_jobs("email", JobState.COMPLETED)
    assert [j.id for j in listed] == list(reversed(ids))


def test_list_due_returns_only_due_jobs_oldest_first(store: JobStore) -> None:
    late = store.create(make_job(state=JobState.DELAYED, run_at=T0 + dt.timedelta(hours=2)))
    soon = store.create(make_job(state=JobState.DELAYED, run_at=T0 + dt.timedelta(minutes=5)))
    sooner = store.create(make_job(state=JobState.DELAYED, run_at=T0 + dt.timedelta(minutes=1)))
    due = store.list_due("email", JobState.DELAYED, until=T0 + dt.timedelta(minutes=10), limit=10)
    assert [j.id for j in due] == [sooner.id, soon.id]
    assert late.id not in [j.id for j in due]
    assert len(store.list_due("email", JobState.DELAYED, until=T0 + dt.timedelta(days=1), limit=1)) == 1


def test_list_due_for_one_tenant_leaves_other_tenants_out(store: JobStore) -> None:
    mine = store.create(make_job(tenant="t1", state=JobState.DELAYED, run_at=T0))
    store.create(make_job(tenant="t2", state=JobState.DELAYED, run_at=T0))
    due = store.list_due("email", JobState.DELAYED, until=T0, limit=10, tenant_id="t1")
    assert [j.id for j in due] == [mine.id]


def test_moving_a_delayed_job_reindexes_it(store: JobStore) -> None:
    job = store.create(make_job(state=JobState.DELAYED, run_at=T0))
    store.replace(job.moved_to(JobState.WAITING), expected_version=1)
    assert store.list_due("email", JobState.DELAYED, until=T0 + dt.timedelta(days=1), limit=10) == []
    assert [j.id for j in store.list_jobs("email", JobState.WAITING)] == [job.id]


def test_pause_flags_are_per_queue(store: JobStore) -> None:
    assert store.paused_queues() == set()
    store.set_paused("email", True)
    store.set_paused("sms", True)
    store.set_paused("sms", False)
    assert store.paused_queues() == {"email"}
    assert store.is_paused("email")
    assert not store.is_paused("sms")


def test_tenant_pause_stops_only_that_tenants_jobs_on_that_queue(store: JobStore) -> None:
    store.set_paused("email", True, tenant_id="t1")
    store.set_paused("sms", True, tenant_id="t/2")  # a '/' in a tenant id survives the round trip
    assert store.is_paused("email", tenant_id="t1")
    assert not store.is_paused("email", tenant_id="t2")
    assert not store.is_paused("sms", tenant_id="t1")
    assert store.is_paused("sms", tenant_id="t/2")
    # A tenant's pause is not the queue's: nothing is paused for everyone.
    assert store.paused_queues() == set()
    assert not store.is_paused("email")
    assert store.pauses() == Pauses(tenants=frozenset({("email", "t1"), ("sms", "t/2")}))
    store.set_paused("email", False, tenant_id="t1")
    assert not store.is_paused("email", tenant_id="t1")
    assert store.pauses().tenants == {("sms", "t/2")}


def test_queue_pause_stops_every_tenant(store: JobStore) -> None:
    store.set_paused("email", True)
    assert store.is_paused("email", tenant_id="t1") and store.is_paused("email", tenant_id="t2")
    assert store.pauses() == Pauses(queues=frozenset({"email"}))


def test_rate_slots_allow_max_then_report_wait(store: JobStore) -> None:
    now = dt.datetime(2026, 1, 1, 12, 0, 15, tzinfo=dt.UTC)
    granted = [store.take_rate_slot("email", max_jobs=3, per_seconds=60, now=now) for _ in range(3)]
    assert granted == [0.0, 0.0, 0.0]
    wait = store.take_rate_slot("email", max_jobs=3, per_seconds=60, now=now)
    assert wait == pytest.approx(45.0)
    assert store.take_rate_slot("sms", max_jobs=3, per_seconds=60, now=now) == 0.0
    next_window = now + dt.timedelta(seconds=50)
    assert store.take_rate_slot("email", max_jobs=3, per_seconds=60, now=next_window) == 0.0


def test_rate_slots_of_one_tenant_on_a_queue_leave_another_tenants_window_alone(store: JobStore) -> None:
    # The worker keys a per-tenant limit's window as `queue/tenant`: one tenant's burst fills its own.
    now = dt.datetime(2026, 1, 1, 12, 0, 15, tzinfo=dt.UTC)
    assert [store.take_rate_slot("email/tenant-a", max_jobs=2, per_seconds=60, now=now) for _ in range(3)] == [
        0.0,
        0.0,
        pytest.approx(45.0),
    ]
    assert store.take_rate_slot("email/tenant-b", max_jobs=2, per_seconds=60, now=now) == 0.0


def test_quota_counts_whole_amounts_and_refuses_one_that_does_not_fit(store: JobStore) -> None:
    now = dt.datetime(2026, 1, 1, 18, 0, tzinfo=dt.UTC)
    day = 24 * 60 * 60
    assert store.take_quota("email/t1", amount=600, limit=1_000, per_seconds=day, now=now) == 0.0
    # 600 + 500 is over: refused whole, nothing counted, and the wait is until the day's end (6 h).
    assert store.take_quota("email/t1", amount=500, limit=1_000, per_seconds=day, now=now) == pytest.approx(6 * 3600)
    assert store.take_quota("email/t1", amount=400, limit=1_000, per_seconds=day, now=now) == 0.0
    assert store.take_quota("email/t1", amount=1, limit=1_000, per_seconds=day, now=now) > 0
    # Another tenant's quota, and the next day's window, are their own.
    assert store.take_quota("email/t2", amount=1_000, limit=1_000, per_seconds=day, now=now) == 0.0
    tomorrow = now + dt.timedelta(hours=7)
    assert store.take_quota("email/t1", amount=1_000, limit=1_000, per_seconds=day, now=tomorrow) == 0.0
    # More than the whole quota never fits.
    assert store.take_quota("sms/t1", amount=11, limit=10, per_seconds=day, now=now) > 0
    assert store.take_quota("sms/t1", amount=10, limit=10, per_seconds=day, now=now) == 0.0


def test_quota_is_not_overshot_by_concurrent_takers(store: JobStore) -> None:
    now = dt.datetime(2026, 1, 1, 18, 0, tzinfo=dt.UTC)
    granted: list[float] = []

    def take() -> None:
        for _ in range(5):
            granted.append(store.take_quota("email/race", amount=3, limit=40, per_seconds=86_400, now=now))

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert granted.count(0.0) == 13, "13 x 3 = 39 fit in 40; the other takes are refused"


def test_large_payload_and_unicode_round_trip(store: JobStore) -> None:
    data = {"text": "héllo ✓ \u0000 日本", "rows": [{"i": i, "v": "x" * 50} for i in range(500)]}
    stored = store.create(make_job(data=data))
    assert store.get(stored.id).data == data


def test_ping_succeeds(store: JobStore) -> None:
    store.ping()


def make_schedule(**kw) -> Schedule:
    fields = {"queue": "email", "name": "send", "tenant_id": "t1", "cron": "0 0 * * *", "created_at": T0, **kw}
    return Schedule(**fields)


def test_schedules_save_get_list_delete(store: JobStore) -> None:
    daily = make_schedule(data={"to": "x"}, timezone="Europe/Paris", next_run_at=T0)
    every = make_schedule(cron=None, every_seconds=300)
    saved = store.save_schedule(daily)
    assert saved.version == 1
    store.save_schedule(every)
    assert store.get_schedule(daily.id) == saved
    assert {s.id for s in store.list_schedules()} == {daily.id, every.id}
    moved = store.save_schedule(
        saved.model_copy(update={"next_run_at": T0 + dt.timedelta(days=1), "runs": 1}), expected_version=1
    )
    assert moved.version == 2
    assert store.get_schedule(daily.id) == moved
    assert store.delete_schedule(daily.id) is True
    assert store.delete_schedule(daily.id) is False
    assert store.get_schedule(daily.id) is None
    assert [s.id for s in store.list_schedules()] == [every.id]


def test_schedule_writes_are_conditional(store: JobStore) -> None:
    saved = store.save_schedule(make_schedule())
    with pytest.raises(ScheduleConflict):
        store.save_schedule(make_schedule(id=saved.id))  # exists already
    store.save_schedule(saved.model_copy(update={"runs": 1}), expected_version=1)
    with pytest.raises(ScheduleConflict):
        store.save_schedule(saved.model_copy(update={"runs": 5}), expected_version=1)  # lost the race
    with pytest.raises(ScheduleConflict):
        store.save_schedule(make_schedule(), expected_version=1)  # nothing there to replace
    assert store.get_schedule(saved.id).runs == 1


def test_counters_add_up_per_name_and_field(store: JobStore) -> None:
    assert store.read_counters("email") == {}
    store.add_to_counters("email", {"processed:completed": 1, "duration_sum": 0.25})
    store.add_to_counters("email", {"processed:completed": 1, "duration_sum": 0.5, "le:0.5": 1})
    store.add_to_counters("sms", {"processed:failed": 1})
    assert store.read_counters("email") == {"processed:completed": 2, "duration_sum": 0.75, "le:0.5": 1}
    assert store.read_counters("sms") == {"processed:failed": 1}
