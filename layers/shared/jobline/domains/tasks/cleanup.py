"""The built-in `cleanupOldData(tableName, daysOld)` task: the tenant's old records, by what they are.

`tableName` names one of:

- a queue (`email`, `data-export`, ...): its finished jobs (completed and failed, or the `state`
  asked) that finished more than `daysOld` days ago;
- `leads`: the waitlist entries that did not become bookings (declined or expired), created more
  than `daysOld` days ago, with their holds and notifications (the database cascades them);
- `notifications`: waitlist notifications no longer pending, created more than `daysOld` days ago;
- `audit-logs`: waitlist audit log lines older than `daysOld` days.

Always for the task's own tenant, in batches of one statement each.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, cast

import sqlalchemy as sa
from pydantic import AliasChoices, Field, field_validator

from jobline.core.context import JobContext
from jobline.core.errors import UnknownQueue
from jobline.core.queues import get_queue
from jobline.core.states import JobState
from jobline.domains.tasks.registry import TaskParams, task
from jobline.domains.waitlist.tables import AuditLog, Entry, EntryStatus, Notification, NotificationStatus
from jobline.engine import operations
from jobline.runtime import Runtime

DELETE_BATCH = 5_000
LEADS = "leads"
NOTIFICATIONS = "notifications"
AUDIT_LOGS = "audit-logs"
DOMAIN_TABLES = (LEADS, NOTIFICATIONS, AUDIT_LOGS)


class CleanupOldDataParams(TaskParams):
    """Seed 001's `(tableName, daysOld)`; the earlier names `queue` and `olderThanDays` still work."""

    table_name: str = Field(max_length=64, validation_alias=AliasChoices("tableName", "queue"))
    days_old: int = Field(ge=0, le=3_650, validation_alias=AliasChoices("daysOld", "olderThanDays"))
    state: Literal["completed", "failed", "all"] = Field(default="all", description="queues only")

    @field_validator("table_name")
    @classmethod
    def _cleanable(cls, name: str) -> str:
        if name in DOMAIN_TABLES:
            return name
        try:
            return get_queue(name).name
        except UnknownQueue:
            raise ValueError(f"{name!r} is neither a queue nor one of {', '.join(DOMAIN_TABLES)}") from None


def _delete_in_batches(runtime: Runtime, table: Any, conditions: list[sa.ColumnElement[bool]]) -> int:
    # One statement and one commit per batch: a year of backlog never holds one huge transaction.
    old = sa.select(table.id).where(*conditions).limit(DELETE_BATCH).scalar_subquery()
    statement = sa.delete(table).where(table.id.in_(old))
    removed = 0
    while True:
        with runtime.sessions.begin() as session:
            count = cast(sa.CursorResult[Any], session.execute(statement)).rowcount
        removed += count
        if count < DELETE_BATCH:
            return removed


def remove_old_rows(runtime: Runtime, table_name: str, *, tenant_id: str, cutoff: dt.datetime) -> int:
    """Delete the tenant's rows of `table_name` (one of DOMAIN_TABLES) created before `cutoff`."""
    if table_name == LEADS:
        closed = [EntryStatus.DECLINED, EntryStatus.EXPIRED]
        conditions = [Entry.tenant_id == tenant_id, Entry.status.in_(closed), Entry.created_at < cutoff]
        return _delete_in_batches(runtime, Entry, conditions)
    if table_name == NOTIFICATIONS:
        conditions = [
            Notification.tenant_id == tenant_id,
            Notification.status != NotificationStatus.PENDING,
            Notification.created_at < cutoff,
        ]
        return _delete_in_batches(runtime, Notification, conditions)
    if table_name == AUDIT_LOGS:
        return _delete_in_batches(runtime, AuditLog, [AuditLog.tenant_id == tenant_id, AuditLog.created_at < cutoff])
    raise ValueError(f"not a domain table: {table_name}")


# Admin only: the admin API's clean route needs the admin role, and this must not be a way around it.
@task("cleanupOldData", params=CleanupOldDataParams, admin_only=True, positional=("tableName", "daysOld"))
def cleanup_old_data(params: CleanupOldDataParams, ctx: JobContext) -> dict[str, Any]:
    """Remove this tenant's records of `tableName` older than `daysOld` days; the counts per kind."""
    age = dt.timedelta(days=params.days_old)
    if params.table_name in DOMAIN_TABLES:
        cutoff = ctx.runtime.clock() - age
        count = remove_old_rows(ctx.runtime, params.table_name, tenant_id=ctx.tenant_id, cutoff=cutoff)
        removed = {params.table_name: count}
    else:
        states = [JobState.COMPLETED, JobState.FAILED] if params.state == "all" else [JobState(params.state)]
        removed = {
            state.value: operations.clean_queue(
                ctx.runtime, params.table_name, grace=age, state=state, tenant_id=ctx.tenant_id
            )
            for state in states
        }
    total = sum(removed.values())
    ctx.log(f"removed {total} records of {params.table_name} older than {params.days_old} days")
    return {
        "tableName": params.table_name,
        "daysOld": params.days_old,
        "removed": removed,
        "total": total,
    }
