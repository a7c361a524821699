"""Fixtures the notification and task tests share (imported by both conftests)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.helpers import Client, make_token, use_test_secret
from tests.notifications.support import make_api, verify_sender


@pytest.fixture
def ses(runtime) -> None:
    verify_sender(runtime)


@pytest.fixture
def memory_ses(memory_runtime) -> None:
    verify_sender(memory_runtime)


@pytest.fixture
def api(runtime, monkeypatch) -> Iterator[Client]:
    with use_test_secret(monkeypatch):
        yield make_api(runtime)


@pytest.fixture
def memory_api(memory_runtime, monkeypatch) -> Iterator[Client]:
    with use_test_secret(monkeypatch):
        yield make_api(memory_runtime)


@pytest.fixture
def token() -> str:
    """A user who may write their own content (the `sender` role): most tests send raw e-mail and SMS."""
    return make_token(tenant="tenant-a", user="alice", roles=("sender",))


@pytest.fixture
def plain_token() -> str:
    """A user of the same tenant without any role: templates only."""
    return make_token(tenant="tenant-a", user="bob")
