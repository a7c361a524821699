"""Who may send what, and how much: the role raw content needs, and each tenant's daily quotas.

Raw content (a subject, text, HTML or SMS body the caller wrote) can say anything to anyone, so
adding it needs the `sender` role (or admin, or operator); every other user sends registered
templates only, whose wording the platform controls (their variables are escaped in HTML and
kept to one line in a subject). An SMS has no templates: sending one needs the role.

Quotas: every new e-mail or SMS job counts its recipients against its tenant's quota for the UTC
day and channel (settings `jobline_email_daily_quota`, `jobline_sms_daily_quota`), in the job
store, atomically: a job that does not fit whole is refused and counts nothing. Every enqueue is
counted, whoever adds (the API, a task, a campaign, a recurring run); an idempotent re-add of an
existing job is not counted again.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from pydantic import BaseModel

from jobline.core.registry import NeedsRole, QuotaExceeded
from jobline.domains.notifications.booking import BookingConfirmationJob
from jobline.domains.notifications.schemas import EmailJob, SmsJob

if TYPE_CHECKING:
    from jobline.auth import Principal
    from jobline.runtime import Runtime

SENDER = "sender"
DAY_SECONDS = 24 * 60 * 60
# The fields of a payload that carry caller-written content, as the payload spells them.
RAW_EMAIL_FIELDS = ("subject", "text", "html")
RAW_SMS_FIELDS = ("message",)


def may_write_content(principal: Principal) -> bool:
    """Whether `principal` may send content of their own (not only templates)."""
    return SENDER in principal.roles or principal.is_admin


def _needs_role(field: str, what: str) -> NeedsRole:
    message = f"{what} needs the {SENDER} (or admin) role; without it, send a registered template"
    return NeedsRole((field,), SENDER, f"{field}: {message}")


def authorize_email(payload: BaseModel, principal: Principal) -> None:
    """NeedsRole naming the first raw-content field of an e-mail whose caller may not write content."""
    assert isinstance(payload, EmailJob)
    if may_write_content(principal):
        return
    for field in RAW_EMAIL_FIELDS:
        if getattr(payload, field) is not None:
            raise _needs_role(field, "an e-mail with its own " + field)


def authorize_sms(payload: BaseModel, principal: Principal) -> None:
    """NeedsRole unless the caller may write content: an SMS's message is always the caller's."""
    assert isinstance(payload, SmsJob)
    if not may_write_content(principal):
        raise _needs_role("message", "an SMS (its message is always your own text)")


def _recipients(payload: BaseModel) -> tuple[str, tuple[str, ...], int]:
    """(channel, field, count) of what the payload sends; the field as the stored payload spells it."""
    if isinstance(payload, BookingConfirmationJob):
        return "email", ("user", "email"), 1
    if isinstance(payload, EmailJob):
        return "email", ("to",), len(payload.recipients)
    assert isinstance(payload, SmsJob)
    return "sms", ("phoneNumbers",), len(payload.recipients)


def daily_quota(runtime: Runtime, channel: str) -> int:
    settings = runtime.settings
    return settings.jobline_email_daily_quota if channel == "email" else settings.jobline_sms_daily_quota


def quota_key(channel: str, tenant_id: str) -> str:
    """The store's name of a tenant's quota on a channel (queue names, and so channels, hold no '/')."""
    return f"{channel}/{tenant_id}"


def count_recipients(runtime: Runtime, tenant_id: str, payload: BaseModel, now: dt.datetime) -> None:
    """Count the payload's recipients against the tenant's quota of the day; QuotaExceeded if they do not fit."""
    channel, field, count = _recipients(payload)
    limit = daily_quota(runtime, channel)
    wait = runtime.store.take_quota(
        quota_key(channel, tenant_id), amount=count, limit=limit, per_seconds=DAY_SECONDS, now=now
    )
    if wait > 0:
        resets_at = (now + dt.timedelta(seconds=wait)).replace(microsecond=0)
        message = (
            f"{'.'.join(field)}: {count} more {channel} recipients would pass your tenant's quota of {limit} a day; "
            f"it resets at {resets_at.isoformat().replace('+00:00', 'Z')}"
        )
        raise QuotaExceeded(field, message, resets_at=resets_at, retry_after=wait)
