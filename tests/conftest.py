"""Shared fixtures: the services this machine must run, moto for AWS, and the three job stores."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

# Tests never reach a real AWS account: fixed fake credentials, one region.
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
    os.environ.pop(_name, None)
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
os.environ["AWS_REGION"] = "us-east-1"
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "jobline-tests")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "JoblineTests")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

REDIS_URL = os.environ.get("JOBLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_ADMIN_URL = os.environ.get("JOBLINE_TEST_POSTGRES_URL", "postgresql+pg8000://postgres@127.0.0.1:5432/postgres")

START_REDIS = "redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save '' --appendonly no"
START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"


def _require_services() -> None:
    import redis
    import sqlalchemy

    problems = []
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means the same thing here
        problems.append(f"Redis is not reachable at {REDIS_URL} ({exc}). Start it: {START_REDIS}")
    try:
        engine = sqlalchemy.create_engine(POSTGRES_ADMIN_URL)
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("select 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001
        problems.append(f"Postgres is not reachable at {POSTGRES_ADMIN_URL} ({exc}). Start it: {START_POSTGRES}")
    if problems:
        pytest.exit("Jobline's tests need real services:\n  " + "\n  ".join(problems), returncode=3)


def pytest_sessionstart(session: pytest.Session) -> None:
    _require_services()


@pytest.fixture
def redis_client() -> Iterator[object]:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    yield client
    client.close()


@pytest.fixture
def redis_prefix(redis_client) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"jobline-test-{uuid.uuid4().hex[:12]}:"
    yield prefix
    keys = list(redis_client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture
def aws() -> Iterator[None]:
    """moto's in-process AWS for the length of one test."""
    from moto import mock_aws

    with mock_aws():
        yield


@pytest.fixture
def dynamodb_store(aws):
    import boto3

    from jobline.store.dynamodb import DynamoJobStore, create_table

    client = boto3.client("dynamodb")
    table = f"jobline-test-{uuid.uuid4().hex[:8]}"
    create_table(client, table)
    return DynamoJobStore(table, client=client)


@pytest.fixture
def redis_store(redis_client, redis_prefix):
    from jobline.store.redis import RedisJobStore

    return RedisJobStore(redis_client, prefix=redis_prefix)


@pytest.fixture
def memory_store():
    from jobline.store.memory import MemoryJobStore

    return MemoryJobStore()


@pytest.fixture(params=["memory", "redis", "dynamodb"])
def store(request: pytest.FixtureRequest):
    """Each job store in turn: the contract suite runs against all three."""
    return request.getfixturevalue(f"{request.param}_store")


@pytest.fixture
def runtime(aws, store):
    """A runtime on moto's SQS and S3 with each job store in turn."""
    from jobline_dev.support import make_runtime

    return make_runtime(store)


@pytest.fixture
def memory_runtime(aws, memory_store):
    """A runtime on moto's SQS and S3 with the in-memory store (for flows the contract already covers)."""
    from jobline_dev.support import make_runtime

    return make_runtime(memory_store)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A Postgres database of this test session's own, migrated to head, dropped afterwards."""
    from jobline_dev.databases import scratch_database

    with scratch_database(POSTGRES_ADMIN_URL, prefix="jobline_test") as url:
        yield url


@pytest.fixture
def db_runtime(aws, store, database_url):
    """A runtime on moto, each job store in turn, and the test session's Postgres database."""
    from jobline_dev.support import make_runtime

    runtime = make_runtime(store, database_url=database_url)
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def tenant() -> str:
    """A tenant id no other test uses, so tests sharing the database never see each other's rows."""
    return f"tenant-{uuid.uuid4().hex[:8]}"
