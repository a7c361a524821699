"""The waitlist's audit trail, and the retention that removes old notifications and audit logs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jobline.domains.waitlist.schemas import get_waitlist_settings
from jobline.domains.waitlist.tables import AuditLog, Notification
from jobline.runtime import Runtime

# Rows deleted per statement by the retention sweep.
CLEANUP_BATCH = 5_000


@dataclasses.dataclass(frozen=True)
class Audit:
    """One audit line before it is written."""

    tenant_id: str
    action: str
    slot_id: uuid.UUID | None = None
    entity_id: uuid.UUID | None = None
    detail: dict[str, Any] = dataclasses.field(default_factory=dict)


def audit(session: Session, *lines: Audit, at: dt.datetime) -> None:
    """Write audit lines in the caller's transaction, as one statement."""
    if not lines:
        return
    rows = [
        {
            "tenant_id": line.tenant_id,
            "slot_id": line.slot_id,
            "entity_id": line.entity_id,
            "action": line.action,
            "detail": line.detail,
            "created_at": at,
        }
        for line in lines
    ]
    # An ORM bulk insert: one INSERT for all lines, no ids fetched back.
    session.execute(sa.insert(AuditLog), rows)


def audit_trail(session: Session, *, tenant_id: str, slot_id: uuid.UUID) -> list[AuditLog]:
    """A slot's audit lines, oldest first."""
    return list(
        session.scalars(
            sa.select(AuditLog)
            .where(AuditLog.tenant_id == tenant_id, AuditLog.slot_id == slot_id)
            .order_by(AuditLog.id)
        )
    )


def cleanup_old_records(
    runtime: Runtime, *, retention_days: int | None = None, tenant_id: str | None = None
) -> dict[str, int]:
    """Delete notifications and audit logs created before the retention (default 30 days), of every
    tenant unless one is named; returns how many rows of each went."""
    days = retention_days or get_waitlist_settings().jobline_waitlist_retention_days
    cutoff = runtime.clock() - dt.timedelta(days=days)
    removed: dict[str, int] = {}
    for key, table in (("notifications", Notification), ("auditLogs", AuditLog)):
        old = sa.select(table.id).where(table.created_at < cutoff).limit(CLEANUP_BATCH)
        if tenant_id is not None:
            old = old.where(table.tenant_id == tenant_id)
        statement = sa.delete(table).where(table.id.in_(old.scalar_subquery()))
        removed[key] = 0
        while True:
            # One statement and one commit per batch: a year of backlog never holds one huge transaction.
            with runtime.sessions.begin() as session:
                count = cast(sa.CursorResult[Any], session.execute(statement)).rowcount
            removed[key] += count
            if count < CLEANUP_BATCH:
                break
    return removed
