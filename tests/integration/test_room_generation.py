"""Room generation end to end on the core: requests, the worker job, Postgres effects."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
import sqlalchemy as sa

from jobline.core.errors import InvalidPayload
from jobline.core.states import JobState
from jobline.domains.rooms import service
from jobline.domains.rooms.generation import date_batches
from jobline.domains.rooms.schemas import RoomCategoryCreate, RoomGenerationRequest
from jobline.domains.rooms.tables import Room, RoomStatus
from jobline.engine.worker import Worker
from jobline.tick import periodic
from jobline_dev.support import FakeClock, deliver, receive

Q = "room-generation"
NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def rt(aws, memory_store, database_url):
    from jobline_dev.support import make_runtime

    runtime = make_runtime(memory_store, database_url=database_url)
    runtime.clock = FakeClock(NOW)
    yield runtime
    runtime.engine.dispose()


def category(rt, tenant, name="Deluxe", price="120.50"):
    return service.create_category(
        rt, RoomCategoryCreate(name=name, basePrice=decimal.Decimal(price)), tenant_id=tenant
    )


def request(cat, start, end, **kw) -> RoomGenerationRequest:
    return RoomGenerationRequest(roomCategoryId=cat.id, startDate=start, endDate=end, **kw)


def rooms_of(rt, cat) -> list[Room]:
    with rt.sessions() as s:
        return list(s.scalars(sa.select(Room).where(Room.category_id == cat.id).order_by(Room.date)))


def test_immediate_month_completes_inline_with_result_shape(rt, tenant) -> None:
    cat = category(rt, tenant)
    outcome = service.request_generation(
        rt, request(cat, dt.date(2026, 12, 1), dt.date(2026, 12, 31)), tenant_id=tenant
    )
    assert outcome.kind == "completed"
    assert outcome.job.state is JobState.COMPLETED
    assert outcome.job.result == {
        "success": True,
        "totalRoomsCreated": 31,
        "totalDatesProcessed": 31,
        "errors": [],
        "jobId": outcome.job.id,
        "message": "31 rooms created, 0 already existed",
    }
    rooms = rooms_of(rt, cat)
    assert [r.date for r in rooms] == [dt.date(2026, 12, d) for d in range(1, 32)]
    assert {r.price for r in rooms} == {decimal.Decimal("120.50")}
    assert {r.status for r in rooms} == {RoomStatus.AVAILABLE}
    assert {r.tenant_id for r in rooms} == {tenant}
    # The safety-net message finds the job done and is dropped.
    messages = receive(rt, Q)
    assert messages == []  # held back for a minute


def test_rerun_over_same_range_creates_zero_rooms_and_says_so(rt, tenant) -> None:
    cat = category(rt, tenant)
    req = request(cat, dt.date(2027, 1, 1), dt.date(2027, 1, 10))
    service.request_generation(rt, req, tenant_id=tenant)
    again = service.request_generation(rt, req, tenant_id=tenant)
    assert again.job.result["totalRoomsCreated"] == 0
    assert again.job.result["totalDatesProcessed"] == 10
    assert again.job.result["message"] == "0 rooms created, 10 already existed"
    assert len(rooms_of(rt, cat)) == 10


def test_overlapping_range_creates_only_missing_days(rt, tenant) -> None:
    cat = category(rt, tenant)
    service.request_generation(rt, request(cat, dt.date(2027, 1, 1), dt.date(2027, 1, 10)), tenant_id=tenant)
    second = service.request_generation(rt, request(cat, dt.date(2027, 1, 5), dt.date(2027, 1, 20)), tenant_id=tenant)
    assert second.job.result["totalRoomsCreated"] == 10
    assert len(rooms_of(rt, cat)) == 20


def test_leap_year_range_includes_29_february(rt, tenant) -> None:
    cat = category(rt, tenant)
    outcome = service.request_generation(rt, request(cat, dt.date(2028, 1, 1), dt.date(2028, 12, 31)), tenant_id=tenant)
    assert outcome.kind == "completed"
    assert outcome.job.result["totalRoomsCreated"] == 366
    assert dt.date(2028, 2, 29) in {r.date for r in rooms_of(rt, cat)}


def test_price_override_replaces_base_price(rt, tenant) -> None:
    cat = category(rt, tenant)
    req = request(cat, dt.date(2027, 2, 1), dt.date(2027, 2, 3), priceOverride=decimal.Decimal("99.99"))
    service.request_generation(rt, req, tenant_id=tenant)
    assert {r.price for r in rooms_of(rt, cat)} == {decimal.Decimal("99.99")}


def test_batches_record_progress_and_one_log_line_each(rt, tenant) -> None:
    cat = category(rt, tenant)
    req = request(cat, dt.date(2027, 3, 1), dt.date(2027, 3, 30), batchSize=7)
    job = service.request_generation(rt, req, tenant_id=tenant).job
    assert job.progress == 100
    assert job.logs == [
        "batch 1/5 2027-03-01..2027-03-07: 7 created",
        "batch 2/5 2027-03-08..2027-03-14: 7 created",
        "batch 3/5 2027-03-15..2027-03-21: 7 created",
        "batch 4/5 2027-03-22..2027-03-28: 7 created",
        "batch 5/5 2027-03-29..2027-03-30: 2 created",
    ]


@pytest.mark.parametrize(
    ("start", "end", "size", "expected"),
    [
        (dt.date(2027, 1, 1), dt.date(2027, 1, 1), 100, [(dt.date(2027, 1, 1), dt.date(2027, 1, 1))]),
        (
            dt.date(2027, 1, 1),
            dt.date(2027, 1, 3),
            2,
            [(dt.date(2027, 1, 1), dt.date(2027, 1, 2)), (dt.date(2027, 1, 3), dt.date(2027, 1, 3))],
        ),
        (
            dt.date(2028, 2, 28),
            dt.date(2028, 3, 1),
            1,
            [(dt.date(2028, 2, 28),) * 2, (dt.date(2028, 2, 29),) * 2, (dt.date(2028, 3, 1),) * 2],
        ),
    ],
)
def test_date_batches_cover_range_without_gaps(start, end, size, expected) -> None:
    assert list(date_batches(start, end, size)) == expected


def test_range_over_a_year_is_queued_and_worker_completes_it(rt, tenant) -> None:
    cat = category(rt, tenant)
    outcome = service.request_generation(rt, request(cat, dt.date(2027, 1, 1), dt.date(2028, 6, 30)), tenant_id=tenant)
    assert outcome.kind == "queued"
    assert outcome.job.state is JobState.WAITING
    assert deliver(rt, Worker(rt), Q) == {"batchItemFailures": []}
    done = rt.store.get(outcome.job.id)
    assert done.state is JobState.COMPLETED
    assert done.result["totalRoomsCreated"] == 547
    assert len(rooms_of(rt, cat)) == 547


def test_scheduled_minutes_ahead_rides_on_sqs_delay(rt, tenant) -> None:
    cat = category(rt, tenant)
    at = NOW + dt.timedelta(minutes=5)
    req = request(cat, dt.date(2027, 4, 1), dt.date(2027, 4, 30), scheduleType="scheduled", scheduledAt=at)
    outcome = service.request_generation(rt, req, tenant_id=tenant)
    assert outcome.kind == "scheduled"
    assert outcome.job.state is JobState.DELAYED and outcome.job.run_at == at
    assert outcome.estimated_completion > at
    assert receive(rt, Q) == []  # delayed in SQS
    rt.clock.advance(301)
    rt.transport._sqs.purge_queue(QueueUrl=rt.transport.queue_url(Q))
    from jobline.core.job import JobMessage

    assert Worker(rt).process(JobMessage(job_id=outcome.job.id, queue=Q, dispatch=1).model_dump_json()) == "completed"
    assert len(rooms_of(rt, cat)) == 30


def test_scheduled_days_ahead_waits_for_the_tick_then_runs(rt, tenant) -> None:
    cat = category(rt, tenant)
    at = NOW + dt.timedelta(days=3)
    req = request(cat, dt.date(2027, 5, 1), dt.date(2027, 5, 31), scheduleType="scheduled", scheduledAt=at)
    job = service.request_generation(rt, req, tenant_id=tenant).job
    assert job.state is JobState.DELAYED and not job.message_sent
    assert periodic.run_tick(rt).released == 0
    rt.clock.advance(3 * 24 * 3600 - 30)
    assert periodic.run_tick(rt).released == 1
    assert rt.store.get(job.id).state is JobState.WAITING


def fields_of(exc: InvalidPayload) -> dict[str, str]:
    return {".".join(map(str, e["loc"])): e["msg"] for e in exc.errors}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"startDate": dt.date(2026, 11, 24)}, "startDate", "must not be in the past"),
        ({"endDate": dt.date(2027, 1, 1)}, "endDate", "must be after startDate"),
        ({"endDate": dt.date(2026, 12, 31)}, "endDate", "must be after startDate"),
        ({"endDate": dt.date(2032, 1, 2)}, "endDate", "the range must not exceed 5 years"),
        ({"scheduleType": "scheduled"}, "scheduledAt", "is required when scheduleType is scheduled"),
        (
            {"scheduleType": "scheduled", "scheduledAt": NOW - dt.timedelta(minutes=1)},
            "scheduledAt",
            "must be in the future",
        ),
    ],
)
def test_generation_request_validation_names_the_field(rt, tenant, changes, field, message) -> None:
    cat = category(rt, tenant)
    body = {"roomCategoryId": cat.id, "startDate": dt.date(2027, 1, 1), "endDate": dt.date(2027, 1, 31), **changes}
    with pytest.raises(InvalidPayload) as caught:
        service.request_generation(rt, RoomGenerationRequest(**body), tenant_id=tenant)
    assert fields_of(caught.value) == {field: message}
    assert rooms_of(rt, cat) == []


def test_scheduled_at_with_an_immediate_generation_is_ignored_and_noted(rt, tenant) -> None:
    cat = category(rt, tenant)
    # As the Bull service's own request body has it: "Required for scheduled jobs", sent with immediate.
    req = request(cat, dt.date(2027, 1, 1), dt.date(2027, 1, 31), scheduleType="immediate", scheduledAt=NOW)
    outcome = service.request_generation(rt, req, tenant_id=tenant)
    assert outcome.kind == "completed"
    assert outcome.job.run_at is None
    assert outcome.notes == ("scheduledAt applies to scheduled generations only and was ignored",)


def test_exactly_five_years_is_allowed(rt, tenant) -> None:
    cat = category(rt, tenant)
    outcome = service.request_generation(rt, request(cat, dt.date(2027, 1, 1), dt.date(2032, 1, 1)), tenant_id=tenant)
    assert outcome.kind == "queued"


def test_unknown_or_other_tenant_category_is_not_found(rt, tenant) -> None:
    cat = category(rt, tenant)
    with pytest.raises(service.CategoryNotFound):
        service.request_generation(rt, request(cat, dt.date(2027, 1, 1), dt.date(2027, 1, 2)), tenant_id="someone-else")
    with pytest.raises(service.CategoryNotFound):
        service.room_stats(rt, cat.id, tenant_id="someone-else", start=None, end=None)


def test_duplicate_category_name_conflicts(rt, tenant) -> None:
    category(rt, tenant, "Suite")
    with pytest.raises(service.CategoryExists):
        category(rt, tenant, "Suite")
    category(rt, f"{tenant}-b", "Suite")  # another tenant may use the name
    assert [c.name for c in service.list_categories(rt, tenant_id=tenant)] == ["Suite"]


def test_room_stats_count_by_status_within_range(rt, tenant) -> None:
    cat = category(rt, tenant)
    service.request_generation(rt, request(cat, dt.date(2027, 6, 1), dt.date(2027, 6, 30)), tenant_id=tenant)
    with rt.sessions.begin() as s:
        s.execute(
            sa.update(Room)
            .where(Room.category_id == cat.id, Room.date <= dt.date(2027, 6, 5))
            .values(status=RoomStatus.BOOKED)
        )
    stats = service.room_stats(rt, cat.id, tenant_id=tenant, start=dt.date(2027, 6, 1), end=dt.date(2027, 6, 10))
    assert stats == service.RoomStats(
        category_id=cat.id,
        first_day=dt.date(2027, 6, 1),
        last_day=dt.date(2027, 6, 10),
        total=10,
        available=5,
        booked=5,
        blocked=0,
    )


def test_worker_job_for_category_deleted_meanwhile_fails_without_retries(rt, tenant) -> None:
    cat = category(rt, tenant)
    outcome = service.request_generation(rt, request(cat, dt.date(2027, 1, 1), dt.date(2028, 6, 30)), tenant_id=tenant)
    with rt.sessions.begin() as s:
        s.execute(sa.text("delete from room_categories where id = :id"), {"id": cat.id})
    deliver(rt, Worker(rt), Q)
    failed = rt.store.get(outcome.job.id)
    assert failed.state is JobState.FAILED and failed.attempts == 1
    assert "not found" in failed.error


# ---------------------------------------------------------------- dates as the seed writes them


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        ("2028-02-01T00:00:00.000Z", "2028-02-29T23:59:59.999Z", 29),
        ("2027-02-01T00:00:00.000Z", "2027-02-28T23:59:59.999Z", 28),
        ("2027-02-01", "2027-02-28", 28),
        ("2027-02-01T00:00:00.000Z", "2027-03-01T00:00:00.000Z", 29),  # the moment 1 March begins is in 1 March
        ("2027-02-01T12:00:00.000Z", "2027-02-01T12:00:00.001Z", 1),
        ("2027-02-01T23:30:00-01:00", "2027-02-03", 2),  # 00:30 on 2 February in UTC
    ],
)
def test_range_covers_the_utc_days_its_bounds_fall_on(rt, tenant, start, end, days) -> None:
    cat = category(rt, tenant)
    outcome = service.request_generation(rt, request(cat, start, end), tenant_id=tenant)
    assert outcome.job.result["totalDatesProcessed"] == days
    assert len(rooms_of(rt, cat)) == days


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2027-02-01", "2027-02-01"),  # plain dates: as before, the end must come after the start
        ("2027-02-01T10:00:00.000Z", "2027-02-01T10:00:00.000Z"),
        ("2027-02-02T00:00:00.000Z", "2027-02-01T23:59:59.999Z"),
    ],
)
def test_end_not_after_start_is_refused_on_end_date(rt, tenant, start, end) -> None:
    cat = category(rt, tenant)
    with pytest.raises(InvalidPayload) as caught:
        service.request_generation(rt, request(cat, start, end), tenant_id=tenant)
    assert fields_of(caught.value) == {"endDate": "must be after startDate"}


def test_start_earlier_today_is_not_in_the_past(rt, tenant) -> None:
    cat = category(rt, tenant)
    outcome = service.request_generation(
        rt, request(cat, "2026-11-25T00:00:00.000Z", "2026-11-30T23:59:59.999Z"), tenant_id=tenant
    )
    assert outcome.job.result["totalDatesProcessed"] == 6


def test_job_data_keeps_the_bounds_as_sent_and_the_worker_reads_them(rt, tenant) -> None:
    cat = category(rt, tenant)
    req = request(cat, "2027-01-01T00:00:00.000Z", "2028-03-31T23:59:59.999Z", batchSize=200)
    outcome = service.request_generation(rt, req, tenant_id=tenant)
    assert outcome.kind == "queued"
    assert outcome.job.data["startDate"] == "2027-01-01T00:00:00.000Z"
    assert outcome.job.data["endDate"] == "2028-03-31T23:59:59.999Z"
    deliver(rt, Worker(rt), Q)
    done = rt.store.get(outcome.job.id)
    assert done.result["totalRoomsCreated"] == 456
    assert done.result["jobId"] == outcome.job.id


def test_scheduled_beyond_366_days_is_refused_on_scheduled_at(rt, tenant) -> None:
    cat = category(rt, tenant)
    req = request(
        cat,
        dt.date(2028, 2, 1),
        dt.date(2028, 2, 29),
        scheduleType="scheduled",
        scheduledAt=NOW + dt.timedelta(days=367),
    )
    with pytest.raises(InvalidPayload) as caught:
        service.request_generation(rt, req, tenant_id=tenant)
    assert fields_of(caught.value) == {"scheduledAt": "must be within 366 days"}


def test_room_stats_range_from_date_times_counts_their_utc_days(rt, tenant) -> None:
    cat = category(rt, tenant)
    service.request_generation(rt, request(cat, dt.date(2027, 6, 1), dt.date(2027, 6, 30)), tenant_id=tenant)
    stats = service.room_stats(
        rt,
        cat.id,
        tenant_id=tenant,
        start=dt.datetime(2027, 6, 1, tzinfo=dt.UTC),
        end=dt.datetime(2027, 6, 10, 23, 59, 59, 999000, tzinfo=dt.UTC),
    )
    assert (stats.first_day, stats.last_day, stats.total) == (dt.date(2027, 6, 1), dt.date(2027, 6, 10), 10)
    with pytest.raises(InvalidPayload):
        service.room_stats(rt, cat.id, tenant_id=tenant, start=dt.date(2027, 6, 2), end=dt.date(2027, 6, 1))


# ---------------------------------------------------------------- the queue or job store unavailable


@pytest.fixture
def sqs_gone(rt):
    """The room-generation queue deleted from (moto's) SQS: every send fails, the job store still works."""
    rt.transport._sqs.delete_queue(QueueUrl=rt.transport.queue_url(Q))
    return rt


def test_queue_unavailable_immediate_generation_runs_in_the_request_and_keeps_no_job(sqs_gone, tenant) -> None:
    rt = sqs_gone
    cat = category(rt, tenant)
    outcome = service.request_generation(rt, request(cat, dt.date(2027, 2, 1), dt.date(2027, 2, 28)), tenant_id=tenant)
    assert outcome.kind == "sync"
    assert outcome.job.state is JobState.COMPLETED
    assert outcome.job.result["totalRoomsCreated"] == 28
    assert len(rooms_of(rt, cat)) == 28
    # The record enqueue wrote was taken back when its message could not be sent: nothing half-done.
    assert rt.store.get(outcome.job.id) is None
    assert sum(rt.store.counts(Q).values()) == 0


@pytest.mark.parametrize(
    "changes",
    [
        {"scheduleType": "scheduled", "scheduledAt": NOW + dt.timedelta(minutes=5)},
        {"endDate": dt.date(2028, 6, 30)},
    ],
)
def test_queue_unavailable_scheduled_or_long_generation_raises_and_creates_nothing(sqs_gone, tenant, changes) -> None:
    rt = sqs_gone
    cat = category(rt, tenant)
    req = request(cat, dt.date(2027, 2, 1), changes.pop("endDate", dt.date(2027, 2, 28)), **changes)
    with pytest.raises(service.GenerationUnavailable, match="nothing was created"):
        service.request_generation(rt, req, tenant_id=tenant)
    assert rooms_of(rt, cat) == []
    assert sum(rt.store.counts(Q).values()) == 0


def test_refusal_that_is_not_an_outage_is_not_hidden_by_the_fallback(rt, tenant, monkeypatch) -> None:
    cat = category(rt, tenant)

    def broken_create(job):
        raise RuntimeError("a bug, not an outage")

    monkeypatch.setattr(rt.store, "create", broken_create)
    with pytest.raises(RuntimeError, match="a bug"):
        service.request_generation(rt, request(cat, dt.date(2027, 2, 1), dt.date(2027, 2, 3)), tenant_id=tenant)
    assert rooms_of(rt, cat) == []
