"""The notification job types: `send-email` and `booking-confirmation` on queue `email`,
`send-sms` on queue `sms`.

Importing this module registers them. The notifier runs them; the API and the task
worker import it too, since enqueue validates a payload against its job type.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from jobline.core.context import JobContext
from jobline.core.registry import Authorizer, JobFunction, job_type
from jobline.domains.notifications import booking, channels, delivery, policy, templates
from jobline.domains.notifications.booking import BookingConfirmationJob
from jobline.domains.notifications.queues import EMAIL, SMS
from jobline.domains.notifications.schemas import EmailJob, SmsJob

SEND_EMAIL = "send-email"
BOOKING_CONFIRMATION = "booking-confirmation"
SEND_SMS = "send-sms"


def _send_to_each(ctx: JobContext, recipients: list[str], content: templates.RenderedEmail) -> dict[str, Any]:
    def send(recipient: str) -> str:
        return channels.send_email(
            ctx.runtime, to=recipient, subject=content.subject, text=content.text, html=content.html
        )

    return delivery.deliver(ctx, channel="email", recipients=recipients, send=send)


@job_type(EMAIL, SEND_EMAIL, payload=EmailJob, authorize=policy.authorize_email, meter=policy.count_recipients)
def send_email(payload: EmailJob, ctx: JobContext) -> dict[str, Any]:
    """Send one e-mail to each recipient from the configured sender; the result reports each recipient."""
    return _send_to_each(ctx, payload.recipients, payload.content())


# The confirmation's wording is the platform's: anyone may send it, within the quota.
@job_type(EMAIL, BOOKING_CONFIRMATION, payload=BookingConfirmationJob, meter=policy.count_recipients)
def send_booking_confirmation(payload: BookingConfirmationJob, ctx: JobContext) -> dict[str, Any]:
    """E-mail the user the confirmation of their booking; the result is the delivery report and the booking."""
    report = _send_to_each(ctx, [payload.user.email], booking.render(payload.booking, payload.user))
    return {**report, "bookingId": payload.booking.reference}


@job_type(SMS, SEND_SMS, payload=SmsJob, authorize=policy.authorize_sms, meter=policy.count_recipients)
def send_sms(payload: SmsJob, ctx: JobContext) -> dict[str, Any]:
    """Send the text message to each phone number; the result reports each recipient."""

    def send(recipient: str) -> str:
        return channels.send_sms(ctx.runtime, phone=recipient, text=payload.message)

    return delivery.deliver(ctx, channel="sms", recipients=payload.recipients, send=send)


# (queue, name, payload model, function, who may add it) of every job type this module registers.
JOB_TYPES: tuple[tuple[str, str, type[BaseModel], JobFunction, Authorizer | None], ...] = (
    (EMAIL, SEND_EMAIL, EmailJob, send_email, policy.authorize_email),
    (EMAIL, BOOKING_CONFIRMATION, BookingConfirmationJob, send_booking_confirmation, None),
    (SMS, SEND_SMS, SmsJob, send_sms, policy.authorize_sms),
)


def register() -> None:
    """Register the job types again (idempotent), for a registry that was reset after import."""
    for queue, name, model, func, authorize in JOB_TYPES:
        job_type(queue, name, payload=model, authorize=authorize, meter=policy.count_recipients)(func)
