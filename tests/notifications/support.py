"""Helpers of the notification and task tests: the API and moto's outbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from jobline.api.app import create_app
from jobline.runtime import Runtime
from tests.api.helpers import Client

V1 = "/api/v1"


def make_api(runtime: Runtime) -> Client:
    """The API handler around `runtime`."""
    return Client(create_app(lambda: runtime).resolve)


def verify_sender(runtime: Runtime) -> None:
    """SES sends only from a verified identity."""
    runtime.client("ses").verify_email_identity(EmailAddress=runtime.settings.jobline_email_sender)


def sent_mail() -> list[Any]:
    """Every e-mail moto's SES accepted in this test."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)


def mail_to(address: str) -> list[Any]:
    return [m for m in sent_mail() if address in m.destinations["ToAddresses"]]


def sent_sms() -> list[tuple[str, str]]:
    """Every (phone, text) moto's SNS accepted in this test, oldest first."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    return list(sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages.values())


class RefusingProvider:
    """A botocore hook: the provider refuses the next `times` sends to each chosen recipient."""

    def __init__(self, recipient_of: Callable[[dict[str, Any]], str], refusals: dict[str, int]) -> None:
        self._recipient_of = recipient_of
        self.refusals = dict(refusals)
        self.calls: list[str] = []

    def __call__(self, params: dict[str, Any], **kwargs: Any) -> None:
        recipient = self._recipient_of(params)
        self.calls.append(recipient)
        if self.refusals.get(recipient, 0) > 0:
            self.refusals[recipient] -= 1
            error = {"Error": {"Code": "Throttling", "Message": f"Maximum sending rate exceeded for {recipient}"}}
            raise ClientError(error, "Send")


def refuse_email(runtime: Runtime, refusals: dict[str, int]) -> RefusingProvider:
    hook = RefusingProvider(lambda p: p["Destination"]["ToAddresses"][0], refusals)
    runtime.client("ses").meta.events.register("provide-client-params.ses.SendEmail", hook)
    return hook


def refuse_sms(runtime: Runtime, refusals: dict[str, int]) -> RefusingProvider:
    hook = RefusingProvider(lambda p: p["PhoneNumber"], refusals)
    runtime.client("sns").meta.events.register("provide-client-params.sns.Publish", hook)
    return hook
