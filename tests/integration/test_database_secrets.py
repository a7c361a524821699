"""The database URL from SSM (not the environment), and RDS IAM authentication over TLS (issue 16)."""

from __future__ import annotations

import ssl
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import sqlalchemy as sa
from botocore.exceptions import ClientError

from jobline.config import Settings
from jobline.runtime import DatabaseConfigurationError, Runtime, build_runtime
from jobline.store.memory import MemoryJobStore
from tests.conftest import POSTGRES_ADMIN_URL, REDIS_URL

# Nothing listens here: a runtime that used DATABASE_URL could not connect.
UNREACHABLE_URL = "postgresql+pg8000://nobody:wrong@127.0.0.1:9/nowhere"
PROXY_URL = "postgresql+pg8000://jobline_app@jobline.proxy-abc123.us-east-1.rds.amazonaws.com:5432/jobline"


class _Captured(Exception):
    """Raised instead of connecting, once the connect arguments are recorded."""


@pytest.fixture
def parameter_name(aws: None) -> str:
    return f"/jobline/test-{uuid.uuid4().hex[:8]}/database-url"


def _put(name: str, value: str) -> None:
    boto3.client("ssm").put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)


def _runtime(**settings: Any) -> Runtime:
    return build_runtime(Settings(**settings), store=MemoryJobStore(), local=True)


@pytest.fixture
def runtimes() -> Iterator[list[Runtime]]:
    """Runtimes made by a test, their pools closed afterwards."""
    made: list[Runtime] = []
    yield made
    for runtime in made:
        if "sessions" in runtime.__dict__:
            runtime.engine.dispose()


def _application_name(runtime: Runtime) -> str:
    with runtime.sessions() as session:
        return str(session.scalar(sa.text("select current_setting('application_name')")))


def _count_calls(runtime: Runtime, service: str, operation: str) -> list[str]:
    calls: list[str] = []
    runtime.client(service).meta.events.register(
        f"before-call.{service}.{operation}", lambda **_: calls.append(operation)
    )
    return calls


def _connect_args(runtime: Runtime) -> dict[str, Any]:
    """What the engine would hand pg8000 for a new connection (recorded after every other listener)."""
    captured: dict[str, Any] = {}

    def capture(_dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
        captured.update(cparams)
        raise _Captured

    sa.event.listen(runtime.engine, "do_connect", capture)
    try:
        with pytest.raises(_Captured), runtime.engine.connect():
            pass
    finally:
        sa.event.remove(runtime.engine, "do_connect", capture)
    return captured


def test_the_runtime_connects_to_the_url_in_ssm_and_ignores_database_url(
    parameter_name: str, monkeypatch: pytest.MonkeyPatch, runtimes: list[Runtime]
) -> None:
    _put(parameter_name, f"{POSTGRES_ADMIN_URL}?application_name=from-ssm")
    monkeypatch.setenv("JOBLINE_DATABASE_URL_PARAMETER", parameter_name)
    monkeypatch.setenv("DATABASE_URL", UNREACHABLE_URL)
    runtime = build_runtime(Settings(), store=MemoryJobStore(), local=True)
    runtimes.append(runtime)

    assert _application_name(runtime) == "from-ssm"


def test_the_url_is_read_from_ssm_once_however_many_connections_are_made(
    parameter_name: str, runtimes: list[Runtime]
) -> None:
    _put(parameter_name, POSTGRES_ADMIN_URL)
    runtime = _runtime(jobline_database_url_parameter=parameter_name, database_url=UNREACHABLE_URL)
    runtimes.append(runtime)
    reads = _count_calls(runtime, "ssm", "GetParameter")

    for _ in range(5):
        with runtime.sessions() as session:
            assert session.scalar(sa.text("select 1")) == 1
        runtime.engine.dispose()  # the next session opens a new connection

    assert reads == ["GetParameter"]


def test_a_rotated_url_is_used_for_new_connections_once_the_cached_one_expires(
    parameter_name: str, runtimes: list[Runtime]
) -> None:
    _put(parameter_name, f"{POSTGRES_ADMIN_URL}?application_name=before")
    runtime = _runtime(jobline_database_url_parameter=parameter_name)
    runtimes.append(runtime)
    assert _application_name(runtime) == "before"
    _put(parameter_name, f"{POSTGRES_ADMIN_URL}?application_name=rotated")
    runtime._parameters.clear_cache()  # as if its five minutes had passed
    runtime.engine.dispose()

    assert _application_name(runtime) == "rotated"


def test_a_missing_parameter_is_an_error_that_names_it(parameter_name: str, runtimes: list[Runtime]) -> None:
    runtime = _runtime(jobline_database_url_parameter=parameter_name)
    runtimes.append(runtime)

    with pytest.raises(DatabaseConfigurationError, match=f"SSM parameter '{parameter_name}'.*ParameterNotFound"):
        runtime.sessions()


def test_an_ssm_outage_is_the_cause_of_the_error_so_it_reads_as_an_outage(
    parameter_name: str, monkeypatch: pytest.MonkeyPatch, runtimes: list[Runtime]
) -> None:
    runtime = _runtime(jobline_database_url_parameter=parameter_name)
    runtimes.append(runtime)
    throttled = ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "GetParameter")

    def throttle(**_: Any) -> None:
        raise throttled

    monkeypatch.setattr(runtime.client("ssm"), "get_parameter", throttle)

    with pytest.raises(DatabaseConfigurationError, match=parameter_name) as raised:
        runtime.sessions()
    assert raised.value.__cause__ is throttled


def test_a_parameter_without_a_url_is_an_error_that_names_it_and_hides_the_value(
    parameter_name: str, runtimes: list[Runtime]
) -> None:
    _put(parameter_name, "hunter2 is not a URL")
    runtime = _runtime(jobline_database_url_parameter=parameter_name)
    runtimes.append(runtime)

    with pytest.raises(DatabaseConfigurationError, match=parameter_name) as raised:
        runtime.sessions()
    assert "hunter2" not in str(raised.value)


def test_with_iam_auth_each_connection_gets_a_fresh_rds_token_and_requires_tls(
    aws: None, monkeypatch: pytest.MonkeyPatch, runtimes: list[Runtime]
) -> None:
    runtime = _runtime(database_url=PROXY_URL, jobline_database_iam_auth=True)
    runtimes.append(runtime)
    rds = runtime.client("rds")
    requests: list[dict[str, Any]] = []
    generate = rds.generate_db_auth_token

    def recording(**kwargs: Any) -> str:
        requests.append(kwargs)
        return str(generate(**kwargs))

    monkeypatch.setattr(rds, "generate_db_auth_token", recording)

    first, second = _connect_args(runtime), _connect_args(runtime)

    host = "jobline.proxy-abc123.us-east-1.rds.amazonaws.com"
    assert requests == [{"DBHostname": host, "Port": 5432, "DBUsername": "jobline_app", "Region": "us-east-1"}] * 2
    for args in (first, second):
        assert args["user"] == "jobline_app"
        assert args["host"] == host
        # botocore's presigned connect request: the token is the password, signed for this user.
        assert args["password"].startswith(f"{host}:5432/?Action=connect&DBUser=jobline_app")
        assert "X-Amz-Signature=" in args["password"]
        context = args["ssl_context"]
        assert isinstance(context, ssl.SSLContext)
        assert context.verify_mode is ssl.CERT_REQUIRED
        assert context.check_hostname


def test_iam_auth_signs_for_the_url_read_from_ssm(parameter_name: str, runtimes: list[Runtime]) -> None:
    _put(parameter_name, PROXY_URL.replace("jobline_app@", "reader@"))
    runtime = _runtime(jobline_database_url_parameter=parameter_name, jobline_database_iam_auth=True)
    runtimes.append(runtime)

    args = _connect_args(runtime)

    assert args["user"] == "reader"
    assert "DBUser=reader" in args["password"]
    assert isinstance(args["ssl_context"], ssl.SSLContext)


def test_without_iam_auth_the_connection_takes_the_urls_password_and_no_tls(aws: None, runtimes: list[Runtime]) -> None:
    runtime = _runtime(database_url="postgresql+pg8000://app:plain-password@db.internal:5433/jobline")
    runtimes.append(runtime)

    args = _connect_args(runtime)

    assert args == {
        "user": "app",
        "password": "plain-password",
        "host": "db.internal",
        "port": 5433,
        "database": "jobline",
    }


def test_iam_auth_needs_a_user_in_the_url(aws: None, runtimes: list[Runtime]) -> None:
    runtime = _runtime(database_url="postgresql+pg8000://db.internal/jobline", jobline_database_iam_auth=True)
    runtimes.append(runtime)

    with pytest.raises(DatabaseConfigurationError, match="user and a host"), runtime.engine.connect():
        pass


def test_the_local_stack_puts_the_secure_strings_its_functions_name(database_url: str) -> None:
    from jobline_dev.local import LocalStack, StackConfig, aws

    names = {
        "JOBLINE_DATABASE_URL_PARAMETER": f"/jobline/local-{uuid.uuid4().hex[:6]}/database-url",
        "JOBLINE_WEBHOOK_SECRET_PARAMETER": f"/jobline/local-{uuid.uuid4().hex[:6]}/webhook-secret",
    }
    config = StackConfig(
        api_port=0,
        database_url=database_url,
        store="redis",
        redis_url=REDIS_URL,
        stack_name=f"secrets-{uuid.uuid4().hex[:6]}",
        schedules=False,
        poll_wait_seconds=1,
        shutdown_grace_seconds=1.0,
        demo=True,  # the demo data is written through the functions' runtime, so through SSM's URL
        # Whatever the template names, and a DATABASE_URL the functions must not use.
        env={**names, "DATABASE_URL": UNREACHABLE_URL},
    )
    with LocalStack(config) as stack:
        ssm = aws.client("ssm", endpoint=stack.moto.endpoint, region=config.region)
        stored = {
            variable: ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"] for variable, name in names.items()
        }
        assert stack.demo is not None

    assert {p["Type"] for p in stored.values()} == {"SecureString"}
    assert stored["JOBLINE_DATABASE_URL_PARAMETER"]["Value"] == database_url
    assert len(stored["JOBLINE_WEBHOOK_SECRET_PARAMETER"]["Value"]) >= 32
