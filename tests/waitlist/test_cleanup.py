"""Retention of notifications and audit logs: exactly what is past it goes, nothing else."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from jobline.domains.waitlist import records
from jobline.domains.waitlist.tables import AuditLog, Channel, Notification, NotificationKind, NotificationStatus
from jobline_dev.support import FakeClock
from tests.api.helpers import make_token
from tests.waitlist.conftest import run_queue
from tests.waitlist.helpers import new_entry, new_slot

DAY = dt.timedelta(days=1)
# Ages around a 30-day retention: the two past it go, the one exactly at it and the younger stay.
AGES = {"old": 45 * DAY, "just-past": 30 * DAY + dt.timedelta(seconds=1), "at-edge": 30 * DAY, "young": 29 * DAY}
PAST = {"old", "just-past"}


def seed(rt, tenant) -> None:
    """One notification and one audit line of each age, labelled by their subject and action."""
    slot_id = new_slot(rt, tenant)
    entry = new_entry(rt, tenant, slot_id, "rita")
    now = rt.clock()
    with rt.sessions.begin() as session:
        session.execute(sa.delete(AuditLog).where(AuditLog.tenant_id == tenant))  # the seeding's own lines
        for label, age in AGES.items():
            session.add(
                Notification(
                    tenant_id=tenant,
                    slot_id=slot_id,
                    entry_id=entry.id,
                    kind=NotificationKind.CONFIRMATION,
                    channel=Channel.EMAIL,
                    recipient="rita@example.com",
                    subject=label,
                    body="-",
                    status=NotificationStatus.SENT,
                    created_at=now - age,
                )
            )
            session.add(AuditLog(tenant_id=tenant, slot_id=slot_id, action=label, detail={}, created_at=now - age))


def left(rt, tenant) -> tuple[set[str], set[str]]:
    with rt.sessions() as session:
        subjects = set(session.scalars(sa.select(Notification.subject).where(Notification.tenant_id == tenant)))
        actions = set(session.scalars(sa.select(AuditLog.action).where(AuditLog.tenant_id == tenant)))
    return subjects, actions


def test_cleanup_removes_exactly_the_records_past_retention_of_every_tenant(rt, tenant) -> None:
    # A clock years before every other test's rows, so the all-tenant sweep meets only this test's.
    rt.clock = FakeClock(dt.datetime(2001, 6, 1, 2, 0, tzinfo=dt.UTC))
    other = f"{tenant}-b"
    seed(rt, tenant)
    seed(rt, other)
    assert records.cleanup_old_records(rt) == {"notifications": 4, "auditLogs": 4}
    kept = set(AGES) - PAST
    assert left(rt, tenant) == (kept, kept)
    assert left(rt, other) == (kept, kept)


def test_cleanup_for_one_tenant_keeps_other_tenants_records(rt, tenant) -> None:
    other = f"{tenant}-b"
    seed(rt, tenant)
    seed(rt, other)
    assert records.cleanup_old_records(rt, tenant_id=tenant) == {"notifications": 2, "auditLogs": 2}
    assert left(rt, other) == (set(AGES), set(AGES))


def test_cleanup_with_shorter_retention_removes_younger_records_too(rt, tenant) -> None:
    seed(rt, tenant)
    assert records.cleanup_old_records(rt, retention_days=10, tenant_id=tenant) == {"notifications": 4, "auditLogs": 4}


def test_cleanup_in_small_batches_removes_all_past_retention(rt, tenant, monkeypatch) -> None:
    monkeypatch.setattr(records, "CLEANUP_BATCH", 1)
    seed(rt, tenant)
    assert records.cleanup_old_records(rt, tenant_id=tenant) == {"notifications": 2, "auditLogs": 2}
    assert left(rt, tenant) == (set(AGES) - PAST, set(AGES) - PAST)


def test_cleanup_trigger_runs_job_for_callers_tenant_only(rt, api, tenant) -> None:
    other = f"{tenant}-b"
    seed(rt, tenant)
    seed(rt, other)
    admin = make_token(tenant=tenant, user="ada", roles=["admin"])
    answer = api.post("/api/v1/jobs/cleanup/trigger", token=admin, json_body={"retentionDays": 30})
    assert answer.status == 201, answer.text
    run_queue(rt, "waitlist-cleanup")
    result = rt.store.get(answer.data["jobId"]).result
    assert (result["notifications"], result["auditLogs"]) == (2, 2)
    assert left(rt, tenant) == (set(AGES) - PAST, set(AGES) - PAST)
    assert left(rt, other) == (set(AGES), set(AGES))
