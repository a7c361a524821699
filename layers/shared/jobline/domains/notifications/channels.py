"""The two delivery channels: e-mail (SES) and SMS (SNS). One call sends one message.

Both raise `ChannelError` for a refused or failed send, so job code can retry on a
single named error; the provider's own error is kept as the cause.
"""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from jobline.core.errors import JoblineError
from jobline.runtime import Runtime

# E.164: a plus, then up to 15 digits, the first not zero.
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class ChannelError(JoblineError):
    """The provider refused or failed the send."""


def send_email(runtime: Runtime, *, to: str, subject: str, text: str, html: str | None = None) -> str:
    """Send one e-mail from the configured sender; returns SES's message id."""
    body: dict[str, Any] = {"Text": {"Data": text, "Charset": "UTF-8"}}
    if html is not None:
        body["Html"] = {"Data": html, "Charset": "UTF-8"}
    try:
        response = runtime.client("ses").send_email(
            Source=runtime.settings.jobline_email_sender,
            Destination={"ToAddresses": [to]},
            Message={"Subject": {"Data": subject, "Charset": "UTF-8"}, "Body": body},
        )
    except (ClientError, BotoCoreError) as exc:
        raise ChannelError(f"e-mail to {to} failed: {exc}") from exc
    return str(response["MessageId"])


def send_sms(runtime: Runtime, *, phone: str, text: str) -> str:
    """Send one SMS to an E.164 number; returns SNS's message id."""
    if not E164.match(phone):
        raise ChannelError(f"{phone!r} is not an E.164 phone number")
    try:
        response = runtime.client("sns").publish(
            PhoneNumber=phone,
            Message=text,
            MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}},
        )
    except (ClientError, BotoCoreError) as exc:
        raise ChannelError(f"SMS to {phone} failed: {exc}") from exc
    return str(response["MessageId"])
