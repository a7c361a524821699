"""Seed 001's built-in functions and service methods called as the seed calls them (positional
parameters), run as run-task jobs by the worker on moto's SQS, the domain ones on real Postgres."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

import sqlalchemy as sa

from jobline.core.context import JobContext
from jobline.core.job import Job
from jobline.core.queues import get_queue
from jobline.core.states import JobState
from jobline.domains.exports import jobs as export_jobs
from jobline.domains.exports.queues import DATA_EXPORT
from jobline.domains.rooms.tables import Room, RoomCategory, RoomStatus
from jobline.domains.tasks.registry import SERVICE_METHODS
from jobline.domains.waitlist.tables import (
    AuditLog,
    Channel,
    Entry,
    EntryStatus,
    Notification,
    NotificationKind,
    NotificationStatus,
)
from jobline.engine.enqueue import enqueue
from jobline.engine.worker import Worker
from jobline_dev.support import deliver
from tests.notifications.support import mail_to, sent_sms
from tests.waitlist.helpers import new_entry, new_slot

Q = "generic-task"
DAY = dt.timedelta(days=1)


def run(runtime: Any, task: str, params: Any, *, tenant: str = "t1", **labels: Any) -> Job:
    """Enqueue run-task as seed 001's executeTask does, deliver the queue once, return the job."""
    data = {"task": task, "params": params, **labels}
    job = enqueue(runtime, queue=Q, name="run-task", data=data, tenant_id=tenant, user_id="alice").job
    deliver(runtime, Worker(runtime), Q)
    done = runtime.store.get(job.id)
    assert done.state is JobState.COMPLETED, (done.error, done.logs)
    return done


def test_delay_and_calculate_sum_take_their_one_positional_param(memory_runtime) -> None:
    assert run(memory_runtime, "delay", [20]).result == {"delayedMs": 20}
    assert run(memory_runtime, "calculateSum", [[1, 2, 3.5]]).result == {"sum": 6.5, "count": 3}


def test_process_data_transform_cleans_the_text_of_one_object_and_logs_the_context(memory_runtime) -> None:
    my_data = {"name": "  Ann   Lee ", "city": "Leeds\t", "age": 41}
    done = run(
        memory_runtime,
        "processData",
        [my_data, "transform"],
        title="Data Processing",
        context={"source": "user-upload"},
    )
    assert done.result["items"] == [{"name": "Ann Lee", "city": "Leeds", "age": 41}]
    assert done.result["count"] == 1
    assert any("Data Processing" in line and "user-upload" in line for line in done.logs)
    assert done.data["title"] == "Data Processing"


def test_process_data_aggregate_over_objects_profiles_each_column(memory_runtime) -> None:
    rows = [{"team": "a", "score": 1}, {"team": "b", "score": 2.5}, {"team": "a"}]
    done = run(memory_runtime, "processData", [rows, "aggregate"])
    assert done.result == {
        "count": 3,
        "columns": {
            "score": {"count": 2, "missing": 1, "sum": 3.5, "min": 1, "max": 2.5, "avg": 1.75},
            "team": {"count": 3, "missing": 0, "distinct": 2},
        },
    }


def test_process_data_aggregate_over_numbers_answers_the_aggregates_without_items(memory_runtime) -> None:
    done = run(memory_runtime, "processData", [[4, 1, 7], "aggregate"])
    assert done.result == {"count": 3, "aggregates": {"count": 3, "sum": 12, "min": 1, "max": 7, "avg": 4.0}}


def test_send_notification_sms_positional_sends_the_text(memory_runtime) -> None:
    done = run(memory_runtime, "sendNotification", ["sms", ["+14155550101"], "Your table is ready"])
    sms = memory_runtime.store.get(done.result["jobId"])
    deliver(memory_runtime, Worker(memory_runtime), get_queue("sms").lane_for(sms.priority))
    assert sent_sms() == [("+14155550101", "Your table is ready")]


def test_send_notification_email_positional_takes_the_first_line_as_subject(memory_runtime, memory_ses) -> None:
    message = "Report ready\nYour monthly report is attached."
    done = run(memory_runtime, "sendNotification", ["email", ["ann@example.com"], message])
    email = memory_runtime.store.get(done.result["jobId"])
    deliver(memory_runtime, Worker(memory_runtime), get_queue("email").lane_for(email.priority))
    [mail] = mail_to("ann@example.com")
    assert mail.subject == "Report ready"
    assert "monthly report is attached" in mail.body


def _age_rows(runtime: Any, table: Any, ids: list[Any], created: dt.datetime, **values: Any) -> None:
    with runtime.sessions.begin() as session:
        session.execute(sa.update(table).where(table.id.in_(ids)).values(created_at=created, **values))


def _count(runtime: Any, table: Any, tenant: str) -> int:
    with runtime.sessions() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(table).where(table.tenant_id == tenant))


def test_cleanup_old_leads_removes_only_the_tenants_old_closed_entries(pg_runtime, tenant) -> None:
    now = pg_runtime.clock()
    slot = new_slot(pg_runtime, tenant)
    old_declined, old_expired, old_waiting, new_declined = (new_entry(pg_runtime, tenant, slot, n) for n in "abcd")
    _age_rows(pg_runtime, Entry, [old_declined.id], now - 31 * DAY, status=EntryStatus.DECLINED)
    _age_rows(pg_runtime, Entry, [old_expired.id], now - 40 * DAY, status=EntryStatus.EXPIRED)
    _age_rows(pg_runtime, Entry, [old_waiting.id], now - 90 * DAY)  # still waiting: a live lead
    _age_rows(pg_runtime, Entry, [new_declined.id], now - 29 * DAY, status=EntryStatus.DECLINED)
    other = f"{tenant}-b"
    other_entry = new_entry(pg_runtime, other, new_slot(pg_runtime, other), "z")
    _age_rows(pg_runtime, Entry, [other_entry.id], now - 90 * DAY, status=EntryStatus.DECLINED)

    done = run(pg_runtime, "cleanupOldData", ["leads", 30], tenant=tenant)

    assert done.result == {"tableName": "leads", "daysOld": 30, "removed": {"leads": 2}, "total": 2}
    with pg_runtime.sessions() as session:
        left = set(session.scalars(sa.select(Entry.id).where(Entry.tenant_id.in_([tenant, other]))))
    assert left == {old_waiting.id, new_declined.id, other_entry.id}


def test_cleanup_old_notifications_and_audit_logs_keeps_pending_and_recent_ones(pg_runtime, tenant) -> None:
    now = pg_runtime.clock()
    slot = new_slot(pg_runtime, tenant)
    entry = new_entry(pg_runtime, tenant, slot, "rita")
    with pg_runtime.sessions.begin() as session:
        session.execute(sa.delete(AuditLog).where(AuditLog.tenant_id == tenant))
        for status, age in (
            (NotificationStatus.SENT, 45),
            (NotificationStatus.PENDING, 45),
            (NotificationStatus.SENT, 5),
        ):
            session.add(
                Notification(
                    tenant_id=tenant,
                    slot_id=slot,
                    entry_id=entry.id,
                    kind=NotificationKind.CONFIRMATION,
                    channel=Channel.EMAIL,
                    recipient="rita@example.com",
                    subject="s",
                    body="-",
                    status=status,
                    created_at=now - age * DAY,
                )
            )
        for age in (45, 5):
            session.add(AuditLog(tenant_id=tenant, slot_id=slot, action="a", detail={}, created_at=now - age * DAY))

    assert run(pg_runtime, "cleanupOldData", ["notifications", 30], tenant=tenant).result["removed"] == {
        "notifications": 1
    }
    assert run(pg_runtime, "cleanupOldData", ["audit-logs", 30], tenant=tenant).result["total"] == 1
    assert (_count(pg_runtime, Notification, tenant), _count(pg_runtime, AuditLog, tenant)) == (2, 1)


def _rooms(runtime: Any, tenant: str, name: str, days: dict[dt.date, tuple[RoomStatus, str]]) -> uuid.UUID:
    with runtime.sessions.begin() as session:
        category = RoomCategory(tenant_id=tenant, name=name, base_price=decimal.Decimal("80"))
        session.add(category)
        session.flush()
        for day, (status, price) in days.items():
            session.add(
                Room(tenant_id=tenant, category_id=category.id, date=day, price=decimal.Decimal(price), status=status)
            )
        return category.id


def test_generate_report_monthly_counts_the_months_rooms_revenue_and_waitlist(pg_runtime, tenant) -> None:
    booked, free = RoomStatus.BOOKED, RoomStatus.AVAILABLE
    suite = _rooms(
        pg_runtime,
        tenant,
        "Suite",
        {
            dt.date(2030, 11, 30): (booked, "999.00"),  # the month before: not counted
            dt.date(2030, 12, 1): (booked, "150.00"),
            dt.date(2030, 12, 2): (booked, "150.50"),
            dt.date(2030, 12, 31): (free, "150.00"),
        },
    )
    _rooms(pg_runtime, tenant, "Double", {dt.date(2030, 12, 15): (free, "90.00")})
    _rooms(pg_runtime, f"{tenant}-b", "Suite", {dt.date(2030, 12, 1): (booked, "500.00")})  # another tenant's
    slot = new_slot(pg_runtime, tenant)
    joined = new_entry(pg_runtime, tenant, slot, "ann")
    _age_rows(pg_runtime, Entry, [joined.id], dt.datetime(2030, 12, 10, tzinfo=dt.UTC))
    new_entry(pg_runtime, tenant, slot, "bob")  # joined today, outside December 2030

    done = run(pg_runtime, "generateReport", ["monthly", {"year": 2030, "month": 12}], tenant=tenant)

    report = done.result
    assert (report["type"], report["tenantId"]) == ("monthly", tenant)
    assert report["period"] == {"start": "2030-12-01", "end": "2030-12-31", "days": 31}
    assert report["rooms"] == {
        "total": 4,
        "available": 2,
        "booked": 2,
        "blocked": 0,
        "bookedRevenue": 300.5,
        "occupancyRate": 0.5,
    }
    by_name = {row["name"]: row for row in report["roomCategories"]}
    assert by_name["Suite"]["roomCategoryId"] == str(suite)
    assert (by_name["Suite"]["total"], by_name["Suite"]["bookedRevenue"]) == (3, 300.5)
    assert (by_name["Double"]["booked"], by_name["Double"]["occupancyRate"]) == (0, 0.0)
    assert report["waitlist"]["entries"]["total"] == 1
    assert report["waitlist"]["entries"]["waiting"] == 1


def test_generate_report_queues_positional_keeps_the_queue_report(memory_runtime) -> None:
    done = run(memory_runtime, "generateReport", ["queues", {"queues": ["email"]}])
    assert [row["queue"] for row in done.result["queues"]] == ["email"]


def test_process_dataset_profiles_rows_in_batches_with_progress(memory_runtime) -> None:
    rows = [{"amount": n, "region": "eu" if n % 2 else "us"} for n in range(1, 8)]
    done = run(memory_runtime, "customAsyncTask", ["DataProcessingService.processDataset", [rows, {"batchSize": 3}]])
    assert done.result["method"] == "DataProcessingService.processDataset"
    assert done.result["result"] == {
        "rows": 7,
        "batchSize": 3,
        "batches": 3,
        "columns": {
            "amount": {"count": 7, "missing": 0, "sum": 28, "min": 1, "max": 7, "avg": 4.0},
            "region": {"count": 7, "missing": 0, "distinct": 2},
        },
    }
    assert done.progress == 100
    assert sum("batch " in line for line in done.logs) == 3


def test_export_leads_adds_the_tenants_leads_export_once_however_often_it_runs(memory_runtime) -> None:
    done = run(memory_runtime, "customAsyncTask", ["LeadsService.exportLeads", ["t1", "csv"]])
    result = done.result["result"]
    export = memory_runtime.store.get(result["exportJobId"])
    assert (export.queue, export.name, export.tenant_id) == (DATA_EXPORT, export_jobs.JOB_NAME, "t1")
    assert (export.data["exportType"], export.data["format"]) == ("leads", "csv")
    assert result["checkStatusAt"] == f"/api/jobs/data-export/{export.id}/status"
    again = SERVICE_METHODS.get("LeadsService.exportLeads").call(
        {"subAccountId": "t1", "format": "csv"}, JobContext(memory_runtime, done, timeout_seconds=10)
    )
    assert (again["exportJobId"], again["created"]) == (export.id, False)


def test_export_leads_for_another_sub_account_fails_without_adding_anything(memory_runtime) -> None:
    data = {"task": "customAsyncTask", "params": ["LeadsService.exportLeads", ["someone-else", "csv"]]}
    job = enqueue(memory_runtime, queue=Q, name="run-task", data=data, tenant_id="t1").job
    deliver(memory_runtime, Worker(memory_runtime), Q)
    failed = memory_runtime.store.get(job.id)
    assert (failed.state, failed.attempts) == (JobState.FAILED, 1)
    assert "subAccountId is not the task's tenant" in failed.error
    assert memory_runtime.store.counts(DATA_EXPORT)[JobState.WAITING] == 0
