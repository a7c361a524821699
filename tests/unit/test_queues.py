"""The queue registry's invariants."""

from __future__ import annotations

import pytest

from jobline.core.errors import UnknownQueue
from jobline.core.queues import (
    QUEUES,
    VISIBILITY_TIMEOUT_FACTOR,
    WEBHOOKS,
    WORKER_FUNCTIONS,
    QueueRegistry,
    WorkerFunction,
    get_queue,
    queue_settings,
    queues_consumed_by,
)


@pytest.mark.parametrize("queue", list(QUEUES.values()), ids=list(QUEUES))
def test_queue_job_timeout_fits_inside_its_function_timeout(queue) -> None:
    assert queue.job_timeout_seconds < queue.consumer.timeout_seconds
    assert queue.visibility_timeout_seconds == VISIBILITY_TIMEOUT_FACTOR * queue.consumer.timeout_seconds
    assert queue.max_receive_count > queue.attempts


def test_room_generation_queue_has_the_issue_settings() -> None:
    rooms = get_queue("room-generation")
    assert rooms.attempts == 4  # three retries
    assert [rooms.backoff.delay_after(n) for n in (1, 2, 3)] == [2, 4, 8]
    assert (rooms.keep_completed.count, rooms.keep_failed.count) == (100, 50)


def test_get_queue_unknown_name_raises() -> None:
    with pytest.raises(UnknownQueue):
        get_queue("nope")


def test_every_queue_is_consumed_by_exactly_one_function() -> None:
    consumed = [q.name for name in {q.consumer.name for q in QUEUES.values()} for q in queues_consumed_by(name)]
    assert sorted(consumed) == sorted(QUEUES)


def test_registry_holds_every_domains_queues_and_the_platforms_webhooks() -> None:
    from jobline.core import catalog

    declared = [q.name for q in catalog.load_all_queues()]
    assert sorted(QUEUES) == sorted([*declared, WEBHOOKS])
    assert set(_domain_queue_modules()) == {f"jobline.domains.{d}.queues" for d in DOMAINS}


def test_registry_lists_queues_by_consumer_as_the_template_does() -> None:
    ranks = [list(WORKER_FUNCTIONS).index(q.consumer.name) for q in QUEUES.values()]
    assert ranks == sorted(ranks)
    assert list(QUEUES)[:8] == [
        "room-generation",
        "email",
        "sms",
        "waitlist-notifications",
        "webhooks",
        "waitlist-expired-holds",
        "waitlist-cascade",
        "waitlist-cleanup",
    ]


def test_a_queue_declared_twice_raises_when_the_registry_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    from jobline.core import catalog

    email = get_queue("email")
    monkeypatch.setattr(catalog, "load_all_queues", lambda: [email, email])
    with pytest.raises(ValueError, match="'email' is declared twice"):
        len(QueueRegistry())


def test_a_queue_no_worker_function_consumes_raises_when_the_registry_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    from jobline.core import catalog

    stray = queue_settings(
        "stray",
        WorkerFunction(name="nowhere", logical_id="NowhereFunction", timeout_seconds=60),
        job_timeout_seconds=30,
    )
    monkeypatch.setattr(catalog, "load_all_queues", lambda: [stray])
    with pytest.raises(ValueError, match="stray"):
        list(QueueRegistry())


DOMAINS = ("ai", "bulk", "exports", "marketing", "notifications", "rooms", "tasks", "waitlist")


def _domain_queue_modules() -> list[str]:
    import sys

    return [name for name in sys.modules if name.startswith("jobline.domains.") and name.endswith(".queues")]
