"""End-to-end fixtures: one local stack in this process for the whole package, on free ports and a throwaway database.

The in-process stack keeps its jobs in Redis (`--store redis`); the README test runs
`python -m jobline_dev.local` with its defaults (DynamoDB on moto), so both stores are driven.
Both run fast: rate schedules 30 times as often (the per-minute tick every 2 s), one second
long polls and batching windows of at most half a second.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, sync_playwright

from jobline_dev.databases import scratch_database
from jobline_dev.local import LocalStack, StackConfig
from jobline_dev.local.aws import free_port
from tests.e2e.support import Api, wait_for

E2E_DIR = pathlib.Path(__file__).resolve().parent
ROOT = E2E_DIR.parents[1]
POSTGRES_ADMIN_URL = os.environ.get("JOBLINE_TEST_POSTGRES_URL", "postgresql+pg8000://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("JOBLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
FAST = {"schedule_speedup": 30.0, "poll_wait_seconds": 1, "max_batching_window": 0.5, "shutdown_grace_seconds": 5.0}
FAST_FLAGS = ["--schedule-speedup", "30", "--poll-wait", "1", "--max-batching-window", "0.5"]
# Debian's Chromium (`make browser` installs it), never a browser Playwright downloads. The machine
# runs as root without outside network: no sandbox, and nothing that tries to phone home.
CHROMIUM = pathlib.Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if E2E_DIR in item.path.parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="package")
def stack() -> Iterator[LocalStack]:
    """The local stack, in this process, for every e2e test (each works in a tenant of its own)."""
    with scratch_database(POSTGRES_ADMIN_URL, prefix="jobline_e2e", migrate=False) as url:
        config = StackConfig(
            api_port=0,
            aws_port=0,
            database_url=url,
            store="redis",
            redis_url=REDIS_URL,
            stack_name=f"e2e-{uuid.uuid4().hex[:6]}",  # its own Redis keys and queue names
            **FAST,
        )
        with LocalStack(config) as running:
            yield running


@pytest.fixture
def tenant_api(stack: LocalStack, tenant: str) -> Api:
    """The API as a user of a fresh tenant, without roles."""
    return Api(stack.api_url, stack.token(tenant=tenant, roles=()))


@pytest.fixture
def sender_api(stack: LocalStack, tenant: str) -> Api:
    """The same tenant's same user with the `sender` role: e-mail and SMS of their own writing."""
    return Api(stack.api_url, stack.token(tenant=tenant, roles=("sender",)))


@pytest.fixture
def operator_api(stack: LocalStack) -> Api:
    """The API as a platform operator (pause, resume, every tenant's jobs and the SQS depths)."""
    return Api(stack.api_url, stack.token(tenant="operators", roles=("operator",)))


@pytest.fixture
def category(tenant_api: Api) -> dict[str, Any]:
    """A room category of the test's tenant."""
    answer = tenant_api.post("/api/v1/room-categories", {"name": "Suite", "basePrice": 80})
    assert answer.status == 201, answer.text
    return dict(answer.data)


@pytest.fixture
def sql(stack: LocalStack) -> Iterator[sa.Engine]:
    """Direct access to the stack's database, for what the API does not offer (deleting a category)."""
    engine = sa.create_engine(stack.database.url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """One headless Chromium per test module, driven by Playwright; each test opens its own context."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` to install Debian's chromium", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class StackProcess:
    """`python -m jobline_dev.local` as a child process, as `make local` runs it."""

    def __init__(self, *args: str, database_url: str) -> None:
        self.port = free_port("127.0.0.1")
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"}
        env.pop("JOBLINE_JWT_SECRET", None)  # the dev secret, as `make token` uses it
        command = [sys.executable, "-m", "jobline_dev.local", "--port", str(self.port), *FAST_FLAGS, *args]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

    def wait_until_up(self, timeout: float = 40) -> None:
        def probe() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"the local stack exited early:\n{self.output()}")
            try:
                return Api(self.url, timeout=2).get("/api/v1/health").status == 200
            except OSError:
                return False

        wait_for(probe, timeout=timeout, interval=0.3, what="the local stack's health route")

    def interrupt(self, timeout: float = 20) -> int:
        """Ctrl-C, as a terminal sends it; returns the exit code."""
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def output(self) -> str:
        """Everything the child printed (it is stopped first if it still runs)."""
        self.kill()
        out, _ = self.process.communicate(timeout=10)
        return out or ""


@pytest.fixture
def stack_process() -> Iterator[Callable[..., StackProcess]]:
    """A factory of `python -m jobline_dev.local` child processes, each on its own throwaway database."""
    with contextlib.ExitStack() as resources:

        def start(*args: str) -> StackProcess:
            url = resources.enter_context(scratch_database(POSTGRES_ADMIN_URL, prefix="jobline_e2e", migrate=False))
            child = StackProcess(*args, database_url=url)
            resources.callback(child.kill)  # runs before the database is dropped
            child.wait_until_up()
            return child

        yield start
