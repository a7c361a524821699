"""Waitlist fixtures: a runtime on moto and Postgres with a clock the test moves, the API, mail and SMS readers."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

import jobline.domains.waitlist.jobs  # noqa: F401 - registers the waitlist job types
from jobline.api import app as api_app
from jobline.api import waitlist as waitlist_api
from jobline.core.registry import get_job_type, job_type, unregister
from jobline.engine.worker import Worker
from jobline_dev.support import FakeClock, make_runtime, make_visible, receive, sqs_event
from tests.api.helpers import Client, make_token, use_test_secret

NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)
REGION = "us-east-1"
SENDER = "noreply@jobline.local"
TOKEN_IN_LINK = re.compile(r"token=([A-Za-z0-9_-]+)")
# The real job types, as this module found them registered.
WAITLIST_JOB_TYPES = [
    get_job_type(queue, name)
    for queue, name in (
        ("waitlist-cascade", "cascade"),
        ("waitlist-expired-holds", "release-expired-holds"),
        ("waitlist-notifications", "send-notification"),
        ("waitlist-notifications", "retry-notifications"),
        ("waitlist-cleanup", "nightly-cleanup"),
    )
]


@pytest.fixture(autouse=True)
def waitlist_job_types() -> Iterator[None]:
    """The real waitlist job types, even if another test swapped them for throwaway ones."""
    for registered in WAITLIST_JOB_TYPES:
        unregister(registered.queue, registered.name)
        job_type(registered.queue, registered.name, payload=registered.payload_model)(registered.run)
    yield


@pytest.fixture(autouse=True)
def auth_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """HS256 tokens signed with the API tests' secret."""
    with use_test_secret(monkeypatch) as patched:
        yield patched


@pytest.fixture
def rt(aws, memory_store, database_url):
    """A runtime on moto and the session's Postgres, its clock fixed at NOW, the SES sender verified."""
    runtime = make_runtime(memory_store, database_url=database_url)
    runtime.clock = FakeClock(NOW)
    runtime.client("ses").verify_email_identity(EmailAddress=SENDER)
    yield runtime
    runtime.engine.dispose()


def build_app(runtime: Any) -> Any:
    """The API around `runtime`, with the waitlist routes even before app.py includes them."""
    app = api_app.create_app(lambda: runtime)
    if waitlist_api.router not in api_app.ROUTERS:
        app.include_router(waitlist_api.router, prefix=api_app.API_PREFIX)
        public = {(method, f"{api_app.API_PREFIX}{path}") for method, path in waitlist_api.PUBLIC_PATHS}
        app._public_routes = app._public_routes | public  # what app.PUBLIC_ROUTES will list
    return app


@pytest.fixture
def api(rt) -> Client:
    return Client(build_app(rt).resolve)


@pytest.fixture
def token(tenant) -> str:
    return make_token(tenant=tenant, user="wanda")


def run_queue(runtime: Any, queue: str, *, rounds: int = 10) -> list[dict[str, Any]]:
    """Deliver `queue` to a worker as Lambda's event source would, until it is empty; a retry's backoff
    is skipped (its message is made visible at once). Returns the batch answers."""
    sqs = runtime.transport._sqs
    answers = []
    for _ in range(rounds):
        messages = receive(runtime, queue)
        if not messages:
            break
        answer = Worker(runtime).handle_batch(sqs_event(runtime, queue, messages))
        answers.append(answer)
        failed = {item["itemIdentifier"] for item in answer["batchItemFailures"]}
        make_visible(runtime, queue, [m for m in messages if m["MessageId"] in failed])
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=runtime.transport.queue_url(queue), ReceiptHandle=message["ReceiptHandle"])
    return answers


def run_all(runtime: Any) -> None:
    """Run the cascade and notification queues until both are empty."""
    for _ in range(5):
        ran = run_queue(runtime, "waitlist-cascade") + run_queue(runtime, "waitlist-notifications")
        if not ran:
            return


def sent_mail() -> list[Any]:
    """Every e-mail moto's SES accepted."""
    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def mail_to(address: str) -> list[Any]:
    return [m for m in sent_mail() if address in m.destinations["ToAddresses"]]


def sent_sms() -> list[tuple[str, str]]:
    """Every SMS moto's SNS accepted, as (phone, text)."""
    return [(phone, text) for phone, text, *_ in sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages.values()]


def token_in(text: str) -> str:
    """The offer token in a message's link."""
    match = TOKEN_IN_LINK.search(text)
    assert match, text
    return match.group(1)
