"""Signed job callbacks: an HTTP POST of the job's event, HMAC-SHA256 signed, retried with backoff.

The signature header is `X-Jobline-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`,
Stripe's scheme: the receiver recomputes it with the shared secret and rejects old `t`s.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict

from jobline.core.context import JobContext
from jobline.core.errors import UnrecoverableError
from jobline.core.queues import WEBHOOKS
from jobline.core.registry import job_type

QUEUE = WEBHOOKS
JOB_NAME = "deliver-callback"
TIMEOUT_SECONDS = 10
SIGNATURE_HEADER = "X-Jobline-Signature"
# Client errors other than these will not get better by retrying.
RETRYABLE_CLIENT_ERRORS = frozenset({408, 409, 425, 429})


class CallbackPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl
    event: str
    payload: dict[str, Any]


def sign(secret: str, body: bytes, *, timestamp: int) -> str:
    """The signature header value for `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, body: bytes, header: str, *, tolerance_seconds: int = 300, now: float | None = None) -> bool:
    """Whether `header` signs `body` with `secret`, recently enough (for receivers and tests)."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance_seconds:
        return False
    expected = sign(secret, body, timestamp=timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def _refuse_private_host(url: str) -> None:
    # A callback URL is caller-chosen: never let it reach the platform's own network.
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror as exc:
        raise UnrecoverableError(f"callback host {host!r} does not resolve") from exc
    for address in addresses:
        ip = ipaddress.ip_address(address)
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast:
            raise UnrecoverableError(f"callback host {host!r} is a private address")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect could lead past the private-address check; the receiver must answer itself.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


@job_type(QUEUE, JOB_NAME, payload=CallbackPayload)
def deliver_callback(payload: CallbackPayload, ctx: JobContext) -> dict[str, Any]:
    """POST the signed event; 2xx completes, 5xx/timeouts/429 retry, other 4xx fail at once."""
    settings = ctx.runtime.settings
    if not settings.jobline_webhook_secret:
        raise UnrecoverableError("no webhook secret configured (JOBLINE_WEBHOOK_SECRET): callbacks are unsigned")
    url = str(payload.url)
    if not settings.jobline_callbacks_allow_private:
        _refuse_private_host(url)
    body = json.dumps({"event": payload.event, "data": payload.payload}, separators=(",", ":")).encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "jobline-webhooks/1",
            "X-Jobline-Event": payload.event,
            SIGNATURE_HEADER: sign(settings.jobline_webhook_secret, body, timestamp=int(time.time())),
        },
    )
    try:
        with _OPENER.open(request, timeout=min(TIMEOUT_SECONDS, max(1, ctx.remaining_seconds()))) as answer:
            return {"status": answer.status, "attempt": ctx.attempt}
    except urllib.error.HTTPError as exc:
        if 400 <= exc.code < 500 and exc.code not in RETRYABLE_CLIENT_ERRORS:
            raise UnrecoverableError(f"callback refused with HTTP {exc.code}") from exc
        raise RuntimeError(f"callback answered HTTP {exc.code}") from exc
    except urllib.error.URLError as exc:
        raise RuntimeError(f"callback could not be delivered: {exc.reason}") from exc
