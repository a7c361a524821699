"""Seed 002's booking-confirmation e-mail: the client's booking and user objects in, a confirmation out (moto SES)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from jobline.core.states import JobState
from jobline.domains.notifications import booking
from jobline.engine.enqueue import enqueue
from jobline.engine.worker import Worker
from jobline_dev.support import deliver
from tests.notifications.support import V1, mail_to, sent_mail

EMAIL_LANE = "email-priority"
# As a Mongo-backed app sends them: _id and id, fields the e-mail does not show, a password hash.
BOOKING = {
    "_id": "65f1c0ffee1234567890abcd",
    "id": "65f1c0ffee1234567890abcd",
    "tourName": "Airport transfer <IST → Taksim>",
    "date": "2027-03-12T09:30:00.000Z",
    "guests": 2,
    "amount": 120.5,
    "currency": "EUR",
    "pickupLocation": "Istanbul Airport",
    "dropoffLocation": "Taksim Square",
    "status": "confirmed",
    "paymentMethod": "card",
}
USER = {"_id": "u-9", "email": "Ann@Example.com", "name": "Ann Lee", "password": "$2b$12$hash", "role": "user"}


def test_booking_confirmation_by_queue_add_emails_the_user_a_confirmation(
    memory_api, memory_runtime, memory_ses, token
) -> None:
    body = {"name": "booking-confirmation", "data": {"booking": BOOKING, "user": USER}}
    answer = memory_api.post(f"{V1}/queues/email/jobs", token=token, json_body=body)
    assert answer.status == 201, answer.text
    assert (answer.data["queue"], answer.data["name"]) == ("email", "booking-confirmation")
    deliver(memory_runtime, Worker(memory_runtime), EMAIL_LANE)
    done = memory_runtime.store.get(answer.data["jobId"])
    assert done.state is JobState.COMPLETED, done.error
    assert (done.result["bookingId"], done.result["successful"], done.result["failed"]) == (BOOKING["id"], 1, 0)
    [message] = mail_to("Ann@example.com")
    assert message.subject == "Booking confirmed: Airport transfer <IST → Taksim>, Friday 12 March 2027, 09:30 UTC"
    for shown in ("Hello Ann Lee,", "65f1c0ffee1234567890abcd", "Istanbul Airport", "Taksim Square", "120.50 EUR"):
        assert shown in message.body
    assert "Airport transfer &lt;IST → Taksim&gt;" in message.body, "values are escaped in the HTML"
    assert done.result["results"][0]["messageId"] == message.id


def test_booking_confirmation_keeps_only_what_the_email_shows(memory_runtime) -> None:
    job = enqueue(
        memory_runtime,
        queue="email",
        name="booking-confirmation",
        data={"booking": BOOKING, "user": USER},
        tenant_id="t",
    ).job
    assert job.data["user"] == {"email": "Ann@example.com", "name": "Ann Lee"}, "no password hash in the job record"
    assert set(job.data["booking"]) == {
        "id",
        "date",
        "endDate",
        "title",
        "origin",
        "destination",
        "guests",
        "price",
        "currency",
    }
    assert (job.data["booking"]["price"], job.data["booking"]["title"]) == ("120.5", BOOKING["tourName"])


def test_booking_confirmation_to_an_unverified_sender_is_retried_not_lost(memory_runtime) -> None:
    job = enqueue(
        memory_runtime,
        queue="email",
        name="booking-confirmation",
        data={"booking": BOOKING, "user": USER},
        tenant_id="t",
    ).job
    response = deliver(memory_runtime, Worker(memory_runtime), EMAIL_LANE)
    assert response is not None and len(response["batchItemFailures"]) == 1
    retrying = memory_runtime.store.get(job.id)
    assert (retrying.state, retrying.attempts) == (JobState.WAITING, 1)
    assert "not verified" in retrying.error
    assert sent_mail() == []


@pytest.mark.parametrize(
    ("data", "field", "says"),
    [
        ({"booking": BOOKING}, "body.data.user", "required"),
        ({"booking": BOOKING, "user": {"name": "Ann"}}, "body.data.user.email", "required"),
        ({"booking": BOOKING, "user": {**USER, "email": "ann"}}, "body.data.user.email", "not a valid e-mail"),
        ({"booking": {"date": "2027-03-12"}, "user": USER}, "body.data.booking.id", "required"),
        ({"booking": {"id": "B-1"}, "user": USER}, "body.data.booking.date", "required"),
        ({"booking": {**BOOKING, "date": "next friday"}, "user": USER}, "body.data.booking.date", "give a date"),
        ({"booking": {**BOOKING, "amount": -1}, "user": USER}, "body.data.booking.amount", "greater than or equal"),
        ({"booking": {**BOOKING, "currency": "euro"}, "user": USER}, "body.data.booking.currency", "pattern"),
        ({"booking": {**BOOKING, "guests": 0}, "user": USER}, "body.data.booking.guests", "greater than or equal"),
        ({"booking": BOOKING, "user": USER, "customer": {}}, "body.data.customer", "not permitted"),
    ],
)
def test_booking_confirmation_bad_booking_or_user_answers_422_naming_the_field(
    memory_api, memory_runtime, token, data: dict[str, Any], field: str, says: str
) -> None:
    answer = memory_api.post(
        f"{V1}/queues/email/jobs", token=token, json_body={"name": "booking-confirmation", "data": data}
    )
    assert answer.status == 422, answer.text
    assert field in answer.fields(), answer.fields()
    assert says in " ".join(e["message"] for e in answer.json["errors"])
    assert memory_runtime.store.counts("email")[JobState.WAITING] == 0


@pytest.mark.parametrize(
    ("when", "shown"),
    [
        (dt.datetime(2027, 3, 12, 9, 30, tzinfo=dt.UTC), "Friday 12 March 2027, 09:30 UTC"),
        (
            dt.datetime(2027, 3, 12, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=3))),
            "Friday 12 March 2027, 09:30 (UTC+03:00)",
        ),
        (dt.datetime(2027, 3, 12, 0, 0), "Friday 12 March 2027, 00:00"),
        (dt.date(2027, 3, 12), "Friday 12 March 2027"),
    ],
)
def test_describe_time_shows_the_day_and_the_time_and_zone_when_given(when: dt.date, shown: str) -> None:
    assert booking.describe_time(when) == shown


def test_booking_day_alone_is_a_day_and_midnight_stays_a_time() -> None:
    day = booking.Booking.model_validate({"id": 7, "date": "2027-03-12"})
    midnight = booking.Booking.model_validate({"id": 7, "date": "2027-03-12T00:00:00Z"})
    assert (day.reference, day.date) == ("7", dt.date(2027, 3, 12))
    assert midnight.date == dt.datetime(2027, 3, 12, tzinfo=dt.UTC)


def test_render_lists_only_the_details_given_and_greets_without_a_name() -> None:
    short = booking.Booking.model_validate({"bookingId": "B-1", "startDate": "2027-03-12", "price": "80"})
    email = booking.render(short, booking.Customer.model_validate({"email": "bo@example.com"}))
    assert email.subject == "Booking confirmed: booking B-1, Friday 12 March 2027"
    assert email.text.splitlines()[:6] == [
        "Hello,",
        "",
        "your booking is confirmed.",
        "",
        "Booking reference: B-1",
        "Date: Friday 12 March 2027",
    ]
    assert "Total: 80.00" in email.text
    assert email.html is not None and "Guests" not in email.html and "<th" in email.html
    assert booking.describe_price(Decimal("1234.5"), "TRY") == "1,234.50 TRY"
