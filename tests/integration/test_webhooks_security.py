"""Signed callbacks that cannot be replayed across tenants, and that cannot be pointed inward.

Per-tenant keys derived from the master secret in moto's SSM; a webhook id in the signed
content; the host resolved once and the connection pinned to the address that was checked
(DNS is the one thing a test cannot stand up for real, so `socket.getaddrinfo` is replaced).
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from jobline.core.states import JobState
from jobline.engine import callbacks
from jobline.engine.enqueue import JobOptions, enqueue
from jobline.engine.worker import Worker
from jobline_dev.support import deliver
from tests import jobtypes
from tests.callback_receiver import Receiver

Q = jobtypes.QUEUE
MASTER = "webhook-master-secret-for-security-tests"
PARAMETER = "/jobline/test/webhook-secret"
PUBLIC = "93.184.216.34"  # a global address; nothing is ever sent to it (connections are redirected)
HOOK_HOST = "hooks.example.com"

_real_getaddrinfo = socket.getaddrinfo
_real_create_connection = socket.create_connection


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    yield hook
    hook.server.shutdown()


def configure(runtime: Any, *, private: bool) -> None:
    """The master secret in moto's SSM, named by the settings; loopback receivers allowed or not."""
    callbacks.forget_master_secret()
    boto3.client("ssm").put_parameter(Name=PARAMETER, Value=MASTER, Type="SecureString", Overwrite=True)
    runtime.settings = runtime.settings.model_copy(
        update={"jobline_webhook_secret_parameter": PARAMETER, "jobline_callbacks_allow_private": private}
    )


def run_with_callback(runtime: Any, url: str, *, tenant: str = "t1") -> str:
    job = enqueue(
        runtime,
        queue=Q,
        name="test-echo",
        data={"value": "v"},
        tenant_id=tenant,
        options=JobOptions.model_validate({"callbackUrl": url}),
    ).job
    deliver(runtime, Worker(runtime), Q)
    return job.id


def callback_jobs(runtime: Any, state: JobState) -> list[Any]:
    return runtime.store.list_jobs(callbacks.QUEUE, state)


def resolver(answers: dict[str, list[list[str]]], calls: list[str]) -> Callable[..., Any]:
    """A getaddrinfo answering each listed host with its next list of addresses (the last one
    repeats); every other name is resolved for real."""

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in answers:
            return _real_getaddrinfo(host, port, *args, **kwargs)
        calls.append(host)
        turn = answers[host][min(len(calls) - 1, len(answers[host]) - 1)]
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port or 0)) for a in turn
        ]

    return getaddrinfo


def test_a_body_signed_for_one_tenant_never_verifies_with_another_tenants_key(memory_runtime, receiver) -> None:
    configure(memory_runtime, private=True)
    run_with_callback(memory_runtime, receiver.url(), tenant="tenant-a")
    run_with_callback(memory_runtime, receiver.url(), tenant="tenant-b")
    deliver(memory_runtime, Worker(memory_runtime), callbacks.QUEUE)
    assert len(receiver.requests) == 2
    key_a, key_b = callbacks.signing_key(MASTER, "tenant-a"), callbacks.signing_key(MASTER, "tenant-b")
    assert key_a != key_b
    by_tenant = {}
    for headers, body in receiver.requests:
        tenant = json.loads(body)["data"]["tenantId"]
        by_tenant[tenant] = (headers, body)
    for tenant, own, other in (("tenant-a", key_a, key_b), ("tenant-b", key_b, key_a)):
        headers, body = by_tenant[tenant]
        signature, webhook_id = headers[callbacks.SIGNATURE_HEADER], headers[callbacks.WEBHOOK_ID_HEADER]
        assert callbacks.verify(own, body, signature, webhook_id=webhook_id)
        assert not callbacks.verify(other, body, signature, webhook_id=webhook_id)
        assert not callbacks.verify(MASTER, body, signature, webhook_id=webhook_id)


def test_the_webhook_id_is_part_of_what_is_signed(memory_runtime, receiver) -> None:
    configure(memory_runtime, private=True)
    run_with_callback(memory_runtime, receiver.url())
    deliver(memory_runtime, Worker(memory_runtime), callbacks.QUEUE)
    [(headers, body)] = receiver.requests
    [delivered] = callback_jobs(memory_runtime, JobState.COMPLETED)
    # The id is the callback job's: the same on every retry of this delivery.
    assert headers[callbacks.WEBHOOK_ID_HEADER] == delivered.id
    key = callbacks.signing_key(MASTER, "t1")
    signature = headers[callbacks.SIGNATURE_HEADER]
    assert callbacks.verify(key, body, signature, webhook_id=delivered.id)
    assert not callbacks.verify(key, body, signature, webhook_id=delivered.id + "x")


def test_the_master_secret_is_read_from_ssm_once_and_cached(memory_runtime) -> None:
    configure(memory_runtime, private=True)
    first = callbacks.tenant_signing_key(memory_runtime.settings, "t1")
    boto3.client("ssm").put_parameter(Name=PARAMETER, Value="rotated-master", Type="SecureString", Overwrite=True)
    assert callbacks.tenant_signing_key(memory_runtime.settings, "t1") == first  # within max_age
    callbacks.forget_master_secret()
    assert callbacks.tenant_signing_key(memory_runtime.settings, "t1") == callbacks.signing_key("rotated-master", "t1")


def test_the_connection_goes_to_the_address_checked_not_a_second_answer(memory_runtime, receiver, monkeypatch) -> None:
    # DNS rebinding: the first answer is public, every later one is loopback.
    configure(memory_runtime, private=False)
    lookups: list[str] = []
    monkeypatch.setattr(socket, "getaddrinfo", resolver({HOOK_HOST: [[PUBLIC], ["127.0.0.1"]]}, lookups))
    connected: list[tuple[str, int]] = []

    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        connected.append((address[0], address[1]))
        # Whatever was asked, the bytes go to the local receiver: the test reads what arrived.
        return _real_create_connection(("127.0.0.1", receiver.port), *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", create_connection)
    run_with_callback(memory_runtime, receiver.url(HOOK_HOST))
    deliver(memory_runtime, Worker(memory_runtime), callbacks.QUEUE)
    assert connected == [(PUBLIC, receiver.port)]
    assert lookups == [HOOK_HOST]  # resolved once
    [(headers, _)] = receiver.requests
    assert headers["Host"] == f"{HOOK_HOST}:{receiver.port}"
    assert [c.attempts for c in callback_jobs(memory_runtime, JobState.COMPLETED)] == [1]


@pytest.mark.parametrize("address", ["100.64.0.1", "169.254.169.254", "10.1.2.3", "::ffff:127.0.0.1", "fd00::1"])
def test_an_address_that_is_not_global_is_refused_without_connecting(memory_runtime, monkeypatch, address) -> None:
    configure(memory_runtime, private=False)
    monkeypatch.setattr(socket, "getaddrinfo", resolver({HOOK_HOST: [[address]]}, []))
    connected: list[Any] = []

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        connected.append(address)
        raise ConnectionRefusedError("no test reaches a private network")

    monkeypatch.setattr(socket, "create_connection", create_connection)
    run_with_callback(memory_runtime, f"http://{HOOK_HOST}/hook")
    deliver(memory_runtime, Worker(memory_runtime), callbacks.QUEUE)
    [failed] = callback_jobs(memory_runtime, JobState.FAILED)
    assert failed.attempts == 1
    assert "private address" in failed.error
    assert connected == []


def test_shared_address_space_literal_is_refused(memory_runtime, monkeypatch) -> None:
    # 100.64.0.0/10 (carrier-grade NAT) is neither private nor loopback, but it is not the internet.
    configure(memory_runtime, private=False)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: (_ for _ in ()).throw(ConnectionRefusedError()))
    run_with_callback(memory_runtime, "http://100.64.0.1/hook")
    deliver(memory_runtime, Worker(memory_runtime), callbacks.QUEUE)
    [failed] = callback_jobs(memory_runtime, JobState.FAILED)
    assert (failed.attempts, "private address" in failed.error) == (1, True)


def test_one_private_address_among_public_ones_refuses_the_host(memory_runtime, monkeypatch) -> None:
    configure(memory_runtime, private=False)
    monkeypatch.setattr(socket, "getaddrinfo", resolver({HOOK_HOST: [[PUBLIC, "10.0.0.5"]]}, []))
    run_with_callback(memory_runtime, f"http://{HOOK_HOST}/hook")
    deliver(memory_runtime, Worker(memory_runtime), callbacks.QUEUE)
    [failed] = callback_jobs(memory_runtime, JobState.FAILED)
    assert "10.0.0.5" in failed.error


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_a_final_failure_after_one_attempt(memory_runtime, status) -> None:
    hook = Receiver([status])
    try:
        configure(memory_runtime, private=True)
        run_with_callback(memory_runtime, hook.url())
        deliver(memory_runtime, Worker(memory_runtime), callbacks.QUEUE)
        [failed] = callback_jobs(memory_runtime, JobState.FAILED)
        assert failed.attempts == 1
        assert f"redirect (HTTP {status})" in failed.error
        assert len(hook.requests) == 1
    finally:
        hook.server.shutdown()


# HTTPS: TLS to the pinned address, the certificate checked against the URL's host name.


def _certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def tls_receiver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Receiver, Path]]:
    """An HTTPS receiver whose certificate names HOOK_HOST, trusted by the callbacks' TLS context."""
    cert, key = _certificate(tmp_path, HOOK_HOST)
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert, key)
    hook = Receiver(tls=server_side)

    def trusting() -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(cert))
        return context

    monkeypatch.setattr(callbacks, "tls_context", trusting)
    yield hook, cert
    hook.server.shutdown()


def test_https_goes_to_the_pinned_address_with_the_host_names_certificate(
    memory_runtime, tls_receiver, monkeypatch
) -> None:
    hook, _ = tls_receiver
    configure(memory_runtime, private=True)  # the receiver is on loopback
    lookups: list[str] = []
    monkeypatch.setattr(socket, "getaddrinfo", resolver({HOOK_HOST: [["127.0.0.1"]]}, lookups))
    run_with_callback(memory_runtime, hook.url(HOOK_HOST, scheme="https"))
    deliver(memory_runtime, Worker(memory_runtime), callbacks.QUEUE)
    assert [c.result["status"] for c in callback_jobs(memory_runtime, JobState.COMPLETED)] == [200]
    assert lookups == [HOOK_HOST]
    [(headers, _)] = hook.requests
    assert headers[callbacks.WEBHOOK_ID_HEADER]


def test_https_refuses_a_certificate_for_another_name(memory_runtime, tls_receiver, monkeypatch) -> None:
    hook, _ = tls_receiver
    configure(memory_runtime, private=True)
    # The name resolves to the receiver, whose certificate names HOOK_HOST, not this name.
    monkeypatch.setattr(socket, "getaddrinfo", resolver({"other.example.net": [["127.0.0.1"]]}, []))
    run_with_callback(memory_runtime, hook.url("other.example.net", scheme="https"))
    deliver(memory_runtime, Worker(memory_runtime), callbacks.QUEUE)
    assert callback_jobs(memory_runtime, JobState.COMPLETED) == []
    assert hook.requests == []
