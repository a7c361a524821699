"""API fixtures: auth configured from the environment, an app per runtime, throwaway job types."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws
from pydantic import BaseModel, ConfigDict

from jobline.api.app import create_app
from jobline.api.jobs import JOB_NAMES
from jobline.core import catalog
from jobline.core.registry import JobType
from jobline.domains.waitlist.triggers import TRIGGERS
from jobline.runtime import Runtime
from jobline.store.memory import MemoryJobStore
from jobline_dev.support import make_runtime, swapped_job_types
from tests.api.helpers import Client, make_token, use_test_secret


@pytest.fixture(autouse=True)
def auth_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """HS256 with the tests' secret; the cached verifier is rebuilt around every test."""
    with use_test_secret(monkeypatch) as patched:
        yield patched


class EmailPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: str
    subject: str


def _noop(payload: Any, ctx: Any) -> None:
    return None


# Every (queue, job name) the API enqueues.
API_JOB_TYPES = [*JOB_NAMES.items(), *TRIGGERS.values()]


@pytest.fixture
def job_types() -> Iterator[None]:
    """Throwaway job types for every name the API enqueues (email's checks its payload)."""
    throwaway = {
        (queue, name): JobType(
            queue=queue, name=name, payload_model=EmailPayload if queue == "email" else None, run=_noop
        )
        for queue, name in API_JOB_TYPES
    }
    with swapped_job_types(throwaway):
        yield


@pytest.fixture
def no_job_types() -> Iterator[None]:
    """None of the job types the API enqueues, as before the domains register theirs."""
    with swapped_job_types(dict.fromkeys(API_JOB_TYPES)):
        yield


@pytest.fixture(scope="module")
def module_runtime(database_url: str) -> Iterator[Runtime]:
    """One runtime for a whole module of cheap requests: moto, the in-memory store, Postgres, every real job type.

    Its moto lives as long as the module's tests run, so such a module must not also use the
    function-scoped `aws` fixture (or those built on it).
    """
    catalog.load_all_job_types()  # as functions/api/app.py does: every payload is checked by its real model
    with mock_aws():
        runtime = make_runtime(MemoryJobStore(), database_url=database_url)
        yield runtime
        runtime.engine.dispose()


def _client(runtime: Any) -> Client:
    app = create_app(lambda: runtime)
    return Client(app.resolve)


@pytest.fixture
def api(runtime) -> Client:
    """The API on moto with each job store in turn."""
    return _client(runtime)


@pytest.fixture
def memory_api(memory_runtime) -> Client:
    """The API on moto with the in-memory job store."""
    return _client(memory_runtime)


# Callers used across the tests: two tenants, their admins, and a platform operator.
@pytest.fixture
def user_a() -> str:
    return make_token(tenant="tenant-a", user="alice")


@pytest.fixture
def admin_a() -> str:
    return make_token(tenant="tenant-a", user="ann", roles=["admin"])


@pytest.fixture
def user_b() -> str:
    return make_token(tenant="tenant-b", user="bob")


@pytest.fixture
def admin_b() -> str:
    return make_token(tenant="tenant-b", user="bea", roles=["admin"])


@pytest.fixture
def operator() -> str:
    return make_token(tenant="platform", user="otto", roles=["operator"])
