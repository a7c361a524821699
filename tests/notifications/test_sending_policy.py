"""Who may send what, and how much (issue 16, "anyone can mail anyone").

- Raw content (subject, text, html, an SMS message) needs the `sender` role (or admin/operator) on every
  route that adds e-mail or SMS jobs; everyone else sends templates (403 naming the field otherwise).
- Each tenant's recipients per day and channel are counted at enqueue, whoever adds (429 naming the field
  and the reset time when a job does not fit).
- The e-mail and SMS rate limits are per tenant: one tenant's burst never delays another's job.
"""

from __future__ import annotations

import datetime as dt
import socket
from typing import Any

import pytest
import redis

from jobline.core.job import JobMessage
from jobline.core.queues import RateLimit, get_queue
from jobline.core.registry import QuotaExceeded
from jobline.core.states import JobState
from jobline.engine.enqueue import JobOptions, enqueue
from jobline.engine.outcomes import Outcome
from jobline.engine.worker import Worker
from jobline.store.redis import RedisJobStore
from jobline_dev.support import FakeClock, make_runtime
from tests.api.helpers import make_token, use_test_secret
from tests.notifications.support import V1, make_api

RAW_EMAIL = {"to": ["ann@example.com"], "subject": "Win a prize", "html": "<p>click <a href='x'>here</a></p>"}
TEMPLATE_EMAIL = {"to": ["ann@example.com"], "template": "welcome", "templateData": {"name": "Ann", "product": "X"}}
SMS = {"phoneNumbers": ["+14155550100"], "message": "Your code is 1234"}
BOOKING = {"booking": {"id": "BK-1", "date": "2027-03-12"}, "user": {"email": "ann@example.com", "name": "Ann"}}
SEND = "sendNotification"
T0 = dt.datetime(2026, 3, 2, 18, 0, tzinfo=dt.UTC)


def field_of(answer: Any) -> str:
    [error] = answer.json["errors"]
    return str(error["field"])


# --- raw content needs a role ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (f"{V1}/jobs/email", RAW_EMAIL, "body.subject"),
        (
            f"{V1}/jobs/email",
            {
                "to": "ann@example.com",
                "template": "welcome",
                "subject": "Mine",
                "templateData": {"name": "A", "product": "X"},
            },
            "body.subject",
        ),
        (f"{V1}/queues/email/jobs", {"name": "send-email", "data": RAW_EMAIL}, "body.data.subject"),
        (f"{V1}/jobs/sms", SMS, "body.message"),
        (f"{V1}/queues/sms/jobs", {"name": "send-sms", "data": SMS}, "body.data.message"),
        (
            f"{V1}/tasks",
            {"name": "sendNotification", "params": {"channel": "email", **RAW_EMAIL}},
            "body.params.subject",
        ),
        (f"{V1}/tasks", {"name": SEND, "params": ["sms", ["+14155550100"], "hi"]}, "body.params.message"),
        (
            f"{V1}/jobs/generic-task",
            {"task": "sendNotification", "params": {"type": "sms", **SMS}},
            "body.params.message",
        ),
    ],
)
def test_raw_content_from_a_user_without_a_role_is_403_naming_the_field_and_the_role(
    memory_api, memory_runtime, plain_token, path, body, field
) -> None:
    answer = memory_api.post(path, token=plain_token, json_body=body)
    assert answer.status == 403, answer.text
    assert field_of(answer) == field
    assert "sender" in answer.json["message"]
    assert (
        memory_runtime.store.take_quota(
            "email/tenant-a", amount=10_000, limit=10_000, per_seconds=86_400, now=memory_runtime.clock()
        )
        == 0.0
    ), "a refused add counts nothing"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (f"{V1}/jobs/email", TEMPLATE_EMAIL),
        (f"{V1}/queues/email/jobs", {"name": "send-email", "data": TEMPLATE_EMAIL}),
        (f"{V1}/queues/email/jobs", {"name": "booking-confirmation", "data": BOOKING}),
        (f"{V1}/tasks", {"name": "sendNotification", "params": {"channel": "email", **TEMPLATE_EMAIL}}),
    ],
)
def test_templates_and_booking_confirmations_need_no_role(memory_api, plain_token, path, body) -> None:
    answer = memory_api.post(path, token=plain_token, json_body=body)
    assert answer.status == 201, answer.text


@pytest.mark.parametrize("roles", [("sender",), ("admin",), ("operator",)])
def test_raw_content_is_accepted_from_senders_admins_and_operators(memory_api, roles) -> None:
    token = make_token(tenant="tenant-a", user="carol", roles=roles)
    assert memory_api.post(f"{V1}/jobs/email", token=token, json_body=RAW_EMAIL).status == 201
    assert memory_api.post(f"{V1}/jobs/sms", token=token, json_body=SMS).status == 201


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_sync_fallback_does_not_send_raw_content_for_a_user_without_a_role(aws, plain_token, monkeypatch) -> None:
    # With the job store down an e-mail runs in the request: the role is checked before that.
    client = redis.Redis.from_url(f"redis://127.0.0.1:{_closed_port()}/0", socket_connect_timeout=0.2)
    with use_test_secret(monkeypatch):
        api = make_api(make_runtime(RedisJobStore(client, prefix="down:")))
        answer = api.post(f"{V1}/jobs/email", token=plain_token, json_body=RAW_EMAIL)
    assert answer.status == 403, answer.text
    assert field_of(answer) == "body.subject"


# --- per-tenant daily quotas ----------------------------------------------------------------------------


@pytest.fixture
def small_quotas(memory_runtime) -> Any:
    memory_runtime.settings = memory_runtime.settings.model_copy(
        update={"jobline_email_daily_quota": 5, "jobline_sms_daily_quota": 2}
    )
    memory_runtime.clock = FakeClock(T0)
    return memory_runtime


def test_a_tenant_over_its_daily_email_quota_gets_429_naming_the_field_and_the_reset(
    small_quotas, memory_api, token
) -> None:
    three = {**TEMPLATE_EMAIL, "to": ["a@example.com", "b@example.com", "c@example.com"]}
    assert memory_api.post(f"{V1}/jobs/email", token=token, json_body=three).status == 201
    answer = memory_api.post(f"{V1}/jobs/email", token=token, json_body=three)
    assert answer.status == 429, answer.text
    assert field_of(answer) == "body.to"
    assert "2026-03-03T00:00:00Z" in answer.json["message"], "the quota resets at the next UTC midnight"
    assert answer.headers["Retry-After"] == str(6 * 3600)
    # Refused whole: the two that still fit are not spent, and another tenant has its own quota.
    two = {**TEMPLATE_EMAIL, "to": ["a@example.com", "b@example.com"]}
    assert memory_api.post(f"{V1}/jobs/email", token=token, json_body=two).status == 201
    other = make_token(tenant="tenant-b", user="zed")
    assert memory_api.post(f"{V1}/jobs/email", token=other, json_body=three).status == 201
    # The queue add route names the field under `data`.
    answer = memory_api.post(
        f"{V1}/queues/email/jobs", token=token, json_body={"name": "booking-confirmation", "data": BOOKING}
    )
    assert (answer.status, field_of(answer)) == (429, "body.data.user.email")


def test_sms_quota_is_its_own_and_an_idempotent_re_add_spends_nothing(small_quotas, memory_api, token) -> None:
    body = {**SMS, "phoneNumbers": ["+14155550100", "+14155550101"], "options": {"jobId": "otp-1"}}
    assert memory_api.post(f"{V1}/jobs/sms", token=token, json_body=body).status == 201
    again = memory_api.post(f"{V1}/jobs/sms", token=token, json_body=body)
    assert again.status == 200, "the same job, found by its key, not counted twice"
    answer = memory_api.post(f"{V1}/jobs/sms", token=token, json_body={**SMS})
    assert (answer.status, field_of(answer)) == (429, "body.phoneNumbers")
    assert memory_api.post(f"{V1}/jobs/email", token=token, json_body=TEMPLATE_EMAIL).status == 201


def test_the_quota_counts_jobs_added_by_the_platform_too(small_quotas) -> None:
    # Tasks, campaigns and recurring runs add through engine.enqueue, without a request.
    data = {**TEMPLATE_EMAIL, "to": [f"u{i}@example.com" for i in range(5)]}
    enqueue(small_quotas, queue="email", name="send-email", data=data, tenant_id="t1")
    with pytest.raises(QuotaExceeded) as refused:
        enqueue(small_quotas, queue="email", name="send-email", data={**data, "to": ["x@example.com"]}, tenant_id="t1")
    assert refused.value.loc == ("to",)
    small_quotas.clock.advance(6 * 3600)  # the next UTC day
    enqueue(small_quotas, queue="email", name="send-email", data=data, tenant_id="t1")


# --- per-tenant rate limits -------------------------------------------------------------------------------


def test_email_and_sms_rate_limits_are_per_tenant() -> None:
    for queue in ("email", "sms"):
        limit = get_queue(queue).rate_limit
        assert limit is not None and limit.per_tenant, queue
    assert RateLimit(max_jobs=1, per_seconds=1).window("rooms", "t1") == "rooms", "others keep one window"


def test_one_tenants_burst_does_not_delay_another_tenants_job(memory_runtime, memory_ses) -> None:
    memory_runtime.clock = FakeClock(T0)
    worker = Worker(memory_runtime)

    def add(tenant: str, index: int) -> Any:
        data = {**TEMPLATE_EMAIL, "to": [f"u{index}@example.com"]}
        return enqueue(
            memory_runtime, queue="email", name="send-email", data=data, tenant_id=tenant, options=JobOptions()
        ).job

    burst = [add("tenant-a", i) for i in range(500)]
    other = add("tenant-b", 0)
    outcomes = [
        worker.process(JobMessage(job_id=job.id, queue="email", dispatch=job.dispatch).model_dump_json())
        for job in [*burst, other]
    ]
    assert outcomes[:50] == [Outcome.COMPLETED] * 50
    assert set(outcomes[50:500]) == {Outcome.REQUEUED}, "A's jobs over 50 a minute wait for the next window"
    assert outcomes[500] == Outcome.COMPLETED, "B's job runs at once, behind A's 500"
    assert memory_runtime.store.get(other.id).state is JobState.COMPLETED


def test_a_recurring_run_over_quota_is_skipped_and_other_schedules_still_run(small_quotas) -> None:
    from jobline.engine import recurring
    from jobline.tick.recurring import enqueue_due_runs

    spent = {**TEMPLATE_EMAIL, "to": [f"u{i}@example.com" for i in range(5)]}
    enqueue(small_quotas, queue="email", name="send-email", data=spent, tenant_id="t1")  # t1's day is spent
    for tenant in ("t1", "t2"):
        recurring.create_schedule(
            small_quotas, queue="email", name="send-email", tenant_id=tenant, data=TEMPLATE_EMAIL, every_seconds=60
        )
    small_quotas.clock.advance(60)
    assert enqueue_due_runs(small_quotas) == 2, "both schedules move on; t1's run is skipped, not retried"
    assert small_quotas.store.counts("email", tenant_id="t2")[JobState.WAITING] == 1
    assert small_quotas.store.counts("email", tenant_id="t1")[JobState.WAITING] == 1, "only the first add"
