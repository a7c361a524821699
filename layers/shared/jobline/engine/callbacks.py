"""Signed job callbacks: an HTTP POST of the job's event, HMAC-SHA256 signed, retried with backoff.

Each tenant has a signing key of its own, derived from one master secret kept in SSM Parameter
Store (a SecureString named by JOBLINE_WEBHOOK_SECRET_PARAMETER):

    key = hex(HMAC-SHA256(master, "jobline-webhook-v1:" + tenant_id))

so a body signed for tenant A never verifies with tenant B's key. A tenant admin reads its key
with `GET /api/v1/webhooks/signing-key`. Every delivery carries

    X-Jobline-Webhook-Id: <id>      the same on every retry of one delivery (receivers drop repeats)
    X-Jobline-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<id>.<t>.<body>")>

The receiver recomputes `v1` with its key (the hex string's bytes), rejects old `t`s and
remembers the ids it has seen.

The URL is the caller's: its host is resolved once, every address it resolves to must be
public, and the connection goes to that checked address (TLS still checks the certificate
against the URL's host name), so a second DNS answer cannot point the request inward.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import socket
import ssl
import time
import urllib.parse
from typing import Any

from aws_lambda_powertools.utilities.parameters import SSMProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from pydantic import AnyHttpUrl, BaseModel, ConfigDict

from jobline.config import Settings
from jobline.core.context import JobContext
from jobline.core.errors import UnrecoverableError
from jobline.core.queues import WEBHOOKS
from jobline.core.registry import job_type
from jobline.runtime import aws_client

QUEUE = WEBHOOKS
JOB_NAME = "deliver-callback"
TIMEOUT_SECONDS = 10
SIGNATURE_HEADER = "X-Jobline-Signature"
WEBHOOK_ID_HEADER = "X-Jobline-Webhook-Id"
# The derivation's context string: a new scheme gets a new version, and so new keys.
KEY_CONTEXT = "jobline-webhook-v1:"
# A rotated master secret reaches warm functions within this long; until then one SSM read per cold start.
SECRET_MAX_AGE_SECONDS = 300
# Client errors other than these will not get better by retrying.
RETRYABLE_CLIENT_ERRORS = frozenset({408, 409, 425, 429})


class CallbackPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl
    event: str
    payload: dict[str, Any]


class SigningUnavailable(Exception):
    """No master secret: nothing can be signed (the setting is empty, or SSM cannot give it)."""


_providers: dict[str | None, SSMProvider] = {}


def _ssm(settings: Settings) -> SSMProvider:
    # One provider (and its cache) per endpoint: moto's on the local stack, AWS's when deployed.
    endpoint = settings.aws_endpoint_url
    if endpoint not in _providers:
        _providers[endpoint] = SSMProvider(boto3_client=aws_client("ssm", settings))
    return _providers[endpoint]


def forget_master_secret() -> None:
    """Drop the cached master secret (tests put a new one in moto's SSM)."""
    _providers.clear()


def master_secret(settings: Settings) -> str:
    """The master webhook secret from SSM (decrypted, cached for SECRET_MAX_AGE_SECONDS)."""
    name = settings.jobline_webhook_secret_parameter
    if not name:
        raise SigningUnavailable("no webhook secret parameter configured (JOBLINE_WEBHOOK_SECRET_PARAMETER)")
    try:
        value = _ssm(settings).get(name, decrypt=True, max_age=SECRET_MAX_AGE_SECONDS)
    except GetParameterError as exc:
        raise SigningUnavailable(f"the webhook secret parameter {name!r} could not be read: {exc}") from exc
    if not isinstance(value, str) or not value:
        raise SigningUnavailable(f"the webhook secret parameter {name!r} is empty")
    return value


def signing_key(master: str, tenant_id: str) -> str:
    """Tenant `tenant_id`'s signing key: the hex HMAC-SHA256 of its id under the master secret."""
    return hmac.new(master.encode(), f"{KEY_CONTEXT}{tenant_id}".encode(), hashlib.sha256).hexdigest()


def tenant_signing_key(settings: Settings, tenant_id: str) -> str:
    """The key that signs (and verifies) tenant `tenant_id`'s callbacks; SigningUnavailable without a master."""
    return signing_key(master_secret(settings), tenant_id)


def sign(key: str, body: bytes, *, webhook_id: str, timestamp: int) -> str:
    """The signature header value for delivery `webhook_id` of `body` sent at `timestamp`."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    mac = hmac.new(key.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(
    key: str,
    body: bytes,
    header: str,
    *,
    webhook_id: str,
    tolerance_seconds: int = 300,
    now: float | None = None,
) -> bool:
    """Whether `header` signs delivery `webhook_id` of `body` with `key`, recently enough (for receivers
    and tests); dropping an id seen before is the receiver's part."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_seconds:
        return False
    expected = sign(key, body, webhook_id=webhook_id, timestamp=timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone (fe80::1%eth0) is no part of it
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    # is_global is False for private, loopback, link-local, shared (100.64.0.0/10), reserved and
    # documentation ranges; multicast is global for some ranges but never a web server.
    return ip.is_global and not ip.is_multicast


def pinned_address(host: str, port: int, *, allow_private: bool) -> str:
    """The one address the callback connects to: `host` resolved once, every address it resolves
    to checked (unless `allow_private`), the first one taken."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnrecoverableError(f"callback host {host!r} does not resolve") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise UnrecoverableError(f"callback host {host!r} does not resolve")
    if not allow_private:
        # A caller-chosen URL must never reach the platform's own network; one inward address
        # among public ones refuses the host, whichever the connection would have used.
        for address in addresses:
            if not _is_public(address):
                raise UnrecoverableError(f"callback host {host!r} resolves to {address}, a private address")
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to an address checked beforehand: the host name is only the Host header."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        # Not the host name: a second lookup could answer differently (DNS rebinding).
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to an address checked beforehand, with SNI and the certificate checked for the host name."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._tls = context

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def tls_context() -> ssl.SSLContext:
    """The TLS settings of callbacks: the system's trust store, certificate and host name checked."""
    return ssl.create_default_context()


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float, allow_private: bool) -> int:
    """POST `body` to `url` at its pinned address and answer the status; OSError and
    http.client.HTTPException when the exchange fails."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    address = pinned_address(host, port, allow_private=allow_private)
    connection: http.client.HTTPConnection
    if secure:
        connection = _PinnedHTTPSConnection(host, port, address=address, timeout=timeout, context=tls_context())
    else:
        connection = _PinnedHTTPConnection(host, port, address=address, timeout=timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", target, body=body, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


@job_type(QUEUE, JOB_NAME, payload=CallbackPayload)
def deliver_callback(payload: CallbackPayload, ctx: JobContext) -> dict[str, Any]:
    """POST the signed event; 2xx completes, 5xx/timeouts/429 retry, 3xx and other 4xx fail at once."""
    settings = ctx.runtime.settings
    try:
        key = tenant_signing_key(settings, ctx.tenant_id)
    except SigningUnavailable as exc:
        if not settings.jobline_webhook_secret_parameter:
            raise UnrecoverableError(f"{exc}: callbacks are never sent unsigned") from exc
        raise RuntimeError(str(exc)) from exc  # SSM may answer on the next attempt
    body = json.dumps({"event": payload.event, "data": payload.payload}, separators=(",", ":")).encode()
    # The callback job's id: the same on each retry of this delivery, so a receiver can drop repeats.
    webhook_id = ctx.job_id
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "jobline-webhooks/1",
        "X-Jobline-Event": payload.event,
        WEBHOOK_ID_HEADER: webhook_id,
        SIGNATURE_HEADER: sign(key, body, webhook_id=webhook_id, timestamp=int(time.time())),
    }
    timeout = min(TIMEOUT_SECONDS, max(1, ctx.remaining_seconds()))
    try:
        status = post(
            str(payload.url), body, headers, timeout=timeout, allow_private=settings.jobline_callbacks_allow_private
        )
    except (OSError, http.client.HTTPException) as exc:
        raise RuntimeError(f"callback could not be delivered: {exc}") from exc
    if 200 <= status < 300:
        return {"status": status, "attempt": ctx.attempt}
    if 300 <= status < 400:
        # Following it could lead past the address check; the receiver must answer itself.
        raise UnrecoverableError(f"callback answered with a redirect (HTTP {status}); redirects are not followed")
    if 400 <= status < 500 and status not in RETRYABLE_CLIENT_ERRORS:
        raise UnrecoverableError(f"callback refused with HTTP {status}")
    raise RuntimeError(f"callback answered HTTP {status}")
