"""POST /jobs/email and /jobs/sms through the API handler: accepted jobs are sent, bad payloads are 422s."""

from __future__ import annotations

import pytest

from jobline.core.states import JobState
from jobline.engine.worker import Worker
from jobline_dev.support import deliver, receive
from tests.notifications.support import V1, mail_to, sent_sms

EMAIL = {"recipients": ["ann@example.com", "bob@example.com"], "subject": "Hello", "text": "Welcome aboard"}
SMS = {"recipients": ["+14155550100"], "message": "Your code is 1234"}
# The email queue's default priority (3, seed 002) sends its jobs down the priority lane.
EMAIL_LANE = "email-priority"


def test_post_email_job_is_sent_and_its_status_shows_each_recipient(api, runtime, ses, token) -> None:
    answer = api.post(f"{V1}/jobs/email", token=token, json_body=EMAIL)
    assert answer.status == 201, answer.text
    assert (answer.data["queue"], answer.data["name"]) == ("email", "send-email")
    deliver(runtime, Worker(runtime), EMAIL_LANE)
    status = api.get(f"{V1}/jobs/email/{answer.data['jobId']}/status", token=token).data
    assert status["state"] == "completed"
    assert (status["result"]["total"], status["result"]["successful"]) == (2, 2)
    for result in status["result"]["results"]:
        [message] = mail_to(result["recipient"])
        assert result["messageId"] == message.id
        assert (message.subject, message.body) == ("Hello", "Welcome aboard")


def test_post_sms_job_is_sent_to_moto_sns(memory_api, memory_runtime, token) -> None:
    answer = memory_api.post(f"{V1}/jobs/sms", token=token, json_body=SMS)
    assert answer.status == 201, answer.text
    deliver(memory_runtime, Worker(memory_runtime), "sms")
    assert memory_runtime.store.get(answer.data["jobId"]).state is JobState.COMPLETED
    assert sent_sms() == [("+14155550100", "Your code is 1234")]


def test_post_email_html_only_is_sent_with_a_text_part_derived_from_the_html(
    memory_api, memory_runtime, memory_ses, token
) -> None:
    sent_bodies = []
    memory_runtime.client("ses").meta.events.register(
        "provide-client-params.ses.SendEmail", lambda params, **kw: sent_bodies.append(params["Message"]["Body"])
    )
    body = {"recipients": ["ann@example.com"], "subject": "Hi", "html": "<p>Hello <b>Ann</b></p><style>p{}</style>"}
    answer = memory_api.post(f"{V1}/jobs/email", token=token, json_body=body)
    assert answer.status == 201
    deliver(memory_runtime, Worker(memory_runtime), EMAIL_LANE)
    [sent] = sent_bodies
    assert sent["Text"]["Data"] == "Hello Ann"
    assert sent["Html"]["Data"] == body["html"]


def test_post_email_recipients_are_normalised_and_deduplicated_before_enqueue(
    memory_api, memory_runtime, token
) -> None:
    body = {**EMAIL, "recipients": [" Ann@Example.COM", "ann@example.com", "bob@example.com", "ANN@EXAMPLE.COM"]}
    answer = memory_api.post(f"{V1}/jobs/email", token=token, json_body=body)
    assert answer.status == 201, answer.text
    stored = memory_runtime.store.get(answer.data["jobId"])
    assert stored.data["to"] == ["Ann@example.com", "bob@example.com"], "kept in the seeds' spelling"


@pytest.mark.parametrize(
    ("route", "body", "field", "says"),
    [
        ("email", {**EMAIL, "recipients": ["ann@example.com", "not-an-address"]}, "body.recipients", "not-an-address"),
        ("email", {**EMAIL, "recipients": ["ann@example.com\r\nBcc: x@evil.test"]}, "body.recipients", "e-mail"),
        ("email", {**EMAIL, "recipients": []}, "body.recipients", "at least 1"),
        ("email", {**EMAIL, "recipients": [f"u{i}@example.com" for i in range(1001)]}, "body.recipients", "1000"),
        ("email", {"recipients": ["ann@example.com"], "text": "no subject"}, "body.subject", "subject is required"),
        ("email", {**EMAIL, "subject": "two\nlines"}, "body.subject", "pattern"),
        ("email", {"recipients": ["ann@example.com"], "subject": "s"}, "body.text", "text or an html"),
        ("email", {"recipients": ["ann@example.com"], "template": "nope"}, "body.template", "unknown template"),
        (
            "email",
            {"recipients": ["ann@example.com"], "template": "welcome", "variables": {"name": "Ann"}},
            "body.variables",
            "product",
        ),
        (
            "email",
            {
                "recipients": ["ann@example.com"],
                "template": "notification",
                "text": "x",
                "variables": {"title": "t", "message": "m"},
            },
            "body.text",
            "either a template",
        ),
        ("email", {**EMAIL, "variables": {"a b": "x"}}, "body.variables.a b.[key]", "pattern"),
        ("email", {**EMAIL, "bcc": ["x@example.com"]}, "body.bcc", "not permitted"),
        ("sms", {**SMS, "recipients": ["4155550100"]}, "body.recipients", "E.164"),
        ("sms", {**SMS, "recipients": ["+0123456789"]}, "body.recipients", "E.164"),
        ("sms", {**SMS, "message": "x" * 1601}, "body.message", "1600"),
        ("sms", {"recipients": ["+14155550100"]}, "body.message", "required"),
    ],
)
def test_post_notification_invalid_payload_answers_422_naming_the_field_and_enqueues_nothing(
    memory_api, memory_runtime, token, route, body, field, says
) -> None:
    answer = memory_api.post(f"{V1}/jobs/{route}", token=token, json_body=body)
    assert answer.status == 422, answer.text
    # A list item is named with its index (body.recipients.0): the field is the prefix.
    assert any(f == field or f.startswith(f"{field}.") for f in answer.fields()), answer.fields()
    assert says in " ".join(e["message"] for e in answer.json["errors"])
    assert receive(memory_runtime, route) == []
    assert memory_runtime.store.counts(route)[JobState.WAITING] == 0
