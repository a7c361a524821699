"""The booking confirmation e-mail (BullMQ seed: `addEmailJob('booking-confirmation', {booking, user})`).

The client passes its own booking and user objects as they are. The job keeps only what
the e-mail shows: a user record from an app's database may carry a password hash or
tokens, and a job record (kept, listed, shown on the admin page) is no place for them.
Each field takes the spellings such objects commonly use (`_id` for `id`, `amount` for
`price`, ...); the rest of the object is ignored.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    TypeAdapter,
    ValidationError,
)

from jobline.domains.notifications.recipients import EmailAddress
from jobline.domains.notifications.schemas import NotificationJob
from jobline.domains.notifications.templates import RenderedEmail

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


_MOMENT = TypeAdapter(dt.datetime)


def _day_or_moment(value: Any) -> dt.date:
    """A day ("2027-03-12", shown without a time; pydantic would read it as midnight) or a moment."""
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _DATE_ONLY.match(value):
        return dt.date.fromisoformat(value)
    try:
        return _MOMENT.validate_python(value)
    except ValidationError:
        # One message at the field itself, rather than one per member of the union.
        raise ValueError("give a date (2027-03-12) or a date and time (2027-03-12T09:30:00Z)") from None


def _reference_text(value: Any) -> Any:
    # Databases number bookings (42) or name them ("BK-42", a Mongo ObjectId): both are a reference.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


When = Annotated[dt.datetime | dt.date, BeforeValidator(_day_or_moment)]
Text = Annotated[str, Field(min_length=1, max_length=200)]
Reference = Annotated[str, BeforeValidator(_reference_text), Field(min_length=1, max_length=64, pattern=r"^[^\r\n]*$")]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, like EUR")]
MAX_PRICE = Decimal(1_000_000_000)


class Booking(BaseModel):
    """What a confirmation shows of a booking: its reference and date are required, the rest optional."""

    model_config = ConfigDict(extra="ignore")

    reference: Reference = Field(validation_alias=AliasChoices("id", "_id", "bookingId"), serialization_alias="id")
    date: When = Field(validation_alias=AliasChoices("date", "startDate", "pickupDate"), serialization_alias="date")
    end_date: When | None = Field(
        default=None, validation_alias=AliasChoices("endDate", "returnDate"), serialization_alias="endDate"
    )
    title: Text | None = Field(default=None, validation_alias=AliasChoices("title", "service", "tourName"))
    origin: Text | None = Field(default=None, validation_alias=AliasChoices("origin", "pickup", "pickupLocation"))
    destination: Text | None = Field(
        default=None, validation_alias=AliasChoices("destination", "dropoff", "dropoffLocation")
    )
    guests: StrictInt | None = Field(
        default=None, ge=1, le=1_000, validation_alias=AliasChoices("guests", "passengers")
    )
    price: Decimal | None = Field(
        default=None, ge=0, le=MAX_PRICE, validation_alias=AliasChoices("price", "amount", "totalPrice")
    )
    currency: Currency | None = None


class Customer(BaseModel):
    """Who the confirmation goes to: an address, and a name to greet when there is one."""

    model_config = ConfigDict(extra="ignore")

    email: EmailAddress
    name: Text | None = Field(default=None, validation_alias=AliasChoices("name", "fullName"))


class BookingConfirmationJob(NotificationJob):
    """The booking and the user it belongs to, as the client's objects (other fields ignored)."""

    booking: Booking
    user: Customer


def describe_time(value: dt.datetime | dt.date) -> str:
    """`Friday 12 March 2027, 09:30 UTC`; a day alone without the time; a naive time without a zone."""
    day = f"{value:%A} {value.day} {value:%B %Y}"
    if not isinstance(value, dt.datetime):
        return day
    text = f"{day}, {value:%H:%M}"
    offset = value.utcoffset()
    if offset is None:
        return text
    return f"{text} UTC" if offset == dt.timedelta(0) else f"{text} (UTC{value:%:z})"


def describe_price(price: Decimal, currency: str | None) -> str:
    amount = f"{price.quantize(Decimal('0.01')):,}"
    return f"{amount} {currency}" if currency else amount


def details(booking: Booking) -> list[tuple[str, str]]:
    """The booking's lines as (label, value), in the order the e-mail lists them."""
    rows = [("Booking reference", booking.reference)]
    if booking.title:
        rows.append(("Service", booking.title))
    rows.append(("Date", describe_time(booking.date)))
    if booking.end_date is not None:
        rows.append(("Until", describe_time(booking.end_date)))
    if booking.origin:
        rows.append(("From", booking.origin))
    if booking.destination:
        rows.append(("To", booking.destination))
    if booking.guests is not None:
        rows.append(("Guests", str(booking.guests)))
    if booking.price is not None:
        rows.append(("Total", describe_price(booking.price, booking.currency)))
    return rows


def render(booking: Booking, user: Customer) -> RenderedEmail:
    """The confirmation e-mail: subject, plain text and HTML (every value escaped in the HTML)."""
    what = booking.title or f"booking {booking.reference}"
    # A subject is one header line: no value may break it.
    subject = " ".join(f"Booking confirmed: {what}, {describe_time(booking.date)}".split())
    greeting = f"Hello {user.name}," if user.name else "Hello,"
    rows = details(booking)
    closing = "Please quote the booking reference if you need to change or cancel this booking."
    text = "\n".join(
        [greeting, "", "your booking is confirmed.", "", *(f"{label}: {value}" for label, value in rows), "", closing]
    )
    table = "".join(
        f'<tr><th align="left">{html.escape(label)}</th><td>{html.escape(value)}</td></tr>' for label, value in rows
    )
    body = (
        f"<p>{html.escape(greeting)}</p><p>your booking is <b>confirmed</b>.</p>"
        f"<table>{table}</table><p>{html.escape(closing)}</p>"
    )
    return RenderedEmail(subject=subject, text=text, html=body)
