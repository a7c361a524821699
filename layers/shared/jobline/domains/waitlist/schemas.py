"""Waitlist request models, job payloads (camelCase on the wire) and the settings the domain reads."""

from __future__ import annotations

import functools
import uuid
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from jobline.core.addresses import EMAIL_PATTERN
from jobline.core.clock import shown_in_utc
from jobline.domains.waitlist.tables import Channel

MAX_HOLD_MINUTES = 7 * 24 * 60
MAX_PRIORITY = 1_000
MAX_RETENTION_DAYS = 3_650

# Postgres text refuses NUL, and control characters have no place in a name.
_PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=_PRINTABLE)]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=320, pattern=EMAIL_PATTERN),
]
# E.164, as SNS takes it: a plus, then up to 15 digits, the first not zero.
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+[1-9][0-9]{6,14}$")]
# Tokens are 43 URL-safe base64 characters; the bounds only keep junk out of the hash.
Token = Annotated[str, StringConstraints(min_length=16, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]


StartsAt = Annotated[AwareDatetime, AfterValidator(shown_in_utc)]
CascadeReason = Literal["declined", "expired"]


def _field_error(field: str, message: str, value: object) -> ValidationError:
    """A validation error located at `field`: raised from a model validator, it names that field."""
    detail = InitErrorDetails(type=PydanticCustomError("missing", message), loc=(field,), input=value)
    return ValidationError.from_exception_data("payload", [detail])


class WaitlistSettings(BaseSettings):
    """The waitlist's knobs, read from the environment once (names are the upper-cased fields)."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    jobline_waitlist_hold_minutes: int = Field(default=15, ge=1, le=MAX_HOLD_MINUTES)
    # The page that shows an offer and posts its token to the accept or decline route.
    jobline_waitlist_offer_url: str = "https://app.jobline.local/waitlist/offer"
    jobline_waitlist_retention_days: int = Field(default=30, ge=1, le=MAX_RETENTION_DAYS)


@functools.lru_cache(maxsize=1)
def get_waitlist_settings() -> WaitlistSettings:
    """The waitlist settings, read from the environment on first use."""
    return WaitlistSettings()


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SlotCreate(_Request):
    """`POST /waitlist/slots`: a place people can wait for; `booked` unless said otherwise."""

    name: Name
    starts_at: StartsAt | None = Field(default=None, alias="startsAt", description="with its UTC offset")
    hold_minutes: int | None = Field(
        default=None, alias="holdMinutes", ge=1, le=MAX_HOLD_MINUTES, description="how long an offer is held"
    )
    status: Literal["booked", "available"] = "booked"


class EntryCreate(_Request):
    """`POST /waitlist/slots/{slotId}/entries`: join a slot's waitlist; higher priority is offered first."""

    name: Name
    channel: Channel = Channel.EMAIL
    email: Email | None = None
    phone: Phone | None = None
    priority: int = Field(default=0, ge=0, le=MAX_PRIORITY)

    def recipient_field(self) -> str:
        """The field that holds the address the channel needs."""
        return "email" if self.channel is Channel.EMAIL else "phone"

    def recipient(self) -> str | None:
        return self.email if self.channel is Channel.EMAIL else self.phone


class OfferAnswer(_Request):
    """`POST /waitlist/offers/accept` and `/decline`: the token from the offer's link."""

    token: Token


class CascadePayload(_Request):
    """The cascade job: offer one slot, or, without `slotId`, every free slot of the tenant with people waiting.

    Seed 003's data `{slotId, previousEntryId, reason}` names who had the slot and why they let it go
    (`declined`, or `expired` without an answer): their open hold on it is closed for that reason, and
    the slot goes to the next candidate.
    """

    slot_id: uuid.UUID | None = Field(default=None, alias="slotId")
    previous_entry_id: uuid.UUID | None = Field(
        default=None, alias="previousEntryId", description="the entry the slot was offered to; needs slotId"
    )
    reason: CascadeReason | None = Field(default=None, description="why the previous entry let the slot go")

    @model_validator(mode="after")
    def _previous_entry_of_a_slot(self) -> CascadePayload:
        # Raised as the field at fault, so the 422 names it (a model-level error would name only the body).
        if self.previous_entry_id is not None and self.slot_id is None:
            raise _field_error("slotId", "is required with previousEntryId", self.previous_entry_id)
        return self


class ReleaseExpiredPayload(_Request):
    """The expired-holds job: every tenant, or only the job's own tenant when `tenantId` names it."""

    tenant_id: str | None = Field(default=None, alias="tenantId", min_length=1, max_length=128)


class CleanupPayload(_Request):
    """The cleanup job: the tenant's notifications and audit logs older than `retentionDays`."""

    retention_days: int | None = Field(default=None, alias="retentionDays", ge=1, le=MAX_RETENTION_DAYS)


class SendNotificationPayload(_Request):
    """The send job: one notification, by id, of the job's tenant."""

    notification_id: uuid.UUID = Field(alias="notificationId")


class RetryNotificationsPayload(_Request):
    """The retry job: one failed notification of the tenant when `notificationId` names it (seed 003's
    request), or every failed and stuck one."""

    notification_id: uuid.UUID | None = Field(default=None, alias="notificationId")
