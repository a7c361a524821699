"""Bulk-upload and export fixtures: a runtime on moto and Postgres, the API with the bulk router, tokens."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import jobline.domains.bulk.jobs
import jobline.domains.exports.jobs  # noqa: F401
from jobline.api import app as app_module
from jobline.api import bulk
from jobline.runtime import Runtime
from jobline_dev.support import make_runtime
from tests.api.helpers import Client, make_token, use_test_secret


@pytest.fixture(autouse=True)
def auth_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """HS256 with the API tests' secret."""
    with use_test_secret(monkeypatch) as patched:
        yield patched


@pytest.fixture
def rt(aws, memory_store, database_url) -> Iterator[Runtime]:
    """A runtime on moto (SQS, S3) and the session's Postgres, with the in-memory job store."""
    runtime = make_runtime(memory_store, database_url=database_url)
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def api(rt: Runtime) -> Client:
    """The API around `rt`, with the bulk router whether or not app.py includes it yet."""
    app = app_module.create_app(lambda: rt)
    if bulk.router not in app_module.ROUTERS:
        app.include_router(bulk.router, prefix=app_module.API_PREFIX)
    return Client(app.resolve)


@pytest.fixture
def token(tenant: str) -> str:
    return make_token(tenant=tenant, user="uploader")


@pytest.fixture
def other_tenant() -> str:
    import uuid

    return f"tenant-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def other_token(other_tenant: str) -> str:
    return make_token(tenant=other_tenant, user="intruder")
