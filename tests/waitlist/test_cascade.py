"""The offer cascade and expired holds on real Postgres: locking, priority, tenancy, the sweep."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from jobline.core.errors import EnqueueFailed
from jobline.core.states import JobState
from jobline.domains.waitlist import cascade
from jobline.domains.waitlist.tables import EntryStatus, Hold, HoldStatus, Slot, SlotStatus
from jobline_dev.support import receive
from tests.waitlist.conftest import run_queue
from tests.waitlist.helpers import entry_status, holds_of, new_entry, new_slot

CASCADE = "waitlist-cascade"


def freed_slot(rt, tenant, waiting=("amy", "bob", "cyd")):
    """A slot just released with people waiting, no cascade run yet."""
    slot_id = new_slot(rt, tenant)
    entries = [new_entry(rt, tenant, slot_id, name) for name in waiting]
    free(rt, slot_id)
    return slot_id, entries


def free(rt, slot_id) -> None:
    """Mark the slot available without queueing a cascade, so the test runs the cascade itself."""
    with rt.sessions.begin() as session:
        session.execute(sa.update(Slot).where(Slot.id == slot_id).values(status=SlotStatus.AVAILABLE))


def test_cascade_two_threads_racing_on_one_slot_make_exactly_one_offer(rt, tenant) -> None:
    slot_id, _ = freed_slot(rt, tenant)
    start = threading.Barrier(4)
    results, errors = [], []

    def race() -> None:
        start.wait()
        try:
            results.append(cascade.cascade_slot(rt, tenant_id=tenant, slot_id=slot_id))
        except Exception as exc:  # noqa: BLE001 - a thread's error must fail the test, not vanish
            errors.append(exc)

    threads = [threading.Thread(target=race) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len([offer for offer in results if offer is not None]) == 1
    assert len(holds_of(rt, slot_id)) == 1


def test_cascade_second_transaction_waits_on_slot_lock_then_offers_nothing(rt, tenant) -> None:
    slot_id, entries = freed_slot(rt, tenant)
    first_locked, second_started = threading.Event(), threading.Event()
    outcome = {}

    def first() -> None:
        with rt.sessions.begin() as session:
            outcome["first"] = cascade.offer_next(session, tenant_id=tenant, slot_id=slot_id, now=rt.clock())
            first_locked.set()
            # Keep the transaction open until the second one has had time to reach the lock.
            second_started.wait(timeout=10)
            threading.Event().wait(0.5)

    def second() -> None:
        first_locked.wait(timeout=10)
        second_started.set()
        with rt.sessions.begin() as session:
            outcome["second"] = cascade.offer_next(session, tenant_id=tenant, slot_id=slot_id, now=rt.clock())

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert outcome["first"] is not None and outcome["first"].entry_id == entries[0].id
    assert outcome["second"] is None
    assert [entry_status(rt, e.id) for e in entries] == ["offered", "waiting", "waiting"]


def test_schema_refuses_a_second_active_hold_on_one_slot(rt, tenant) -> None:
    slot_id, entries = freed_slot(rt, tenant)
    cascade.cascade_slot(rt, tenant_id=tenant, slot_id=slot_id)
    with pytest.raises(IntegrityError), rt.sessions.begin() as session:
        hold = Hold(
            tenant_id=tenant, slot_id=slot_id, entry_id=entries[1].id, status=HoldStatus.ACTIVE, expires_at=rt.clock()
        )
        session.add(hold)


def test_cascade_offers_highest_priority_then_first_come(rt, tenant) -> None:
    slot_id = new_slot(rt, tenant)
    early = new_entry(rt, tenant, slot_id, "early", priority=3)
    rt.clock.advance(1)
    later = new_entry(rt, tenant, slot_id, "later", priority=3)
    low = new_entry(rt, tenant, slot_id, "low", priority=0)
    top = new_entry(rt, tenant, slot_id, "top", priority=9)
    free(rt, slot_id)
    order = []
    for _ in range(4):
        offer = cascade.cascade_slot(rt, tenant_id=tenant, slot_id=slot_id)
        order.append(offer.entry_id)
        with rt.sessions.begin() as session:  # the offer is declined: the slot is free again
            session.execute(sa.update(Hold).where(Hold.id == offer.hold_id).values(status=HoldStatus.DECLINED))
        free(rt, slot_id)
    assert order == [top.id, early.id, later.id, low.id]


def test_cascade_with_nobody_waiting_leaves_slot_available_until_someone_joins(rt, tenant) -> None:
    slot_id = new_slot(rt, tenant, status="available")
    assert cascade.cascade_slot(rt, tenant_id=tenant, slot_id=slot_id) is None
    entry = new_entry(rt, tenant, slot_id, "walk-in")  # joining a free slot queues its cascade
    run_queue(rt, CASCADE)
    assert entry_status(rt, entry.id) == EntryStatus.OFFERED


def test_cascade_of_another_tenants_slot_offers_nothing(rt, tenant) -> None:
    slot_id, _ = freed_slot(rt, tenant)
    assert cascade.cascade_slot(rt, tenant_id=f"{tenant}-intruder", slot_id=slot_id) is None
    assert holds_of(rt, slot_id) == []


def test_release_expired_holds_expires_only_holds_past_their_time(rt, tenant) -> None:
    short, _ = freed_slot(rt, tenant)
    long = new_slot(rt, tenant, hold_minutes=60)
    new_entry(rt, tenant, long, "patient")
    free(rt, long)
    cascade.cascade_slot(rt, tenant_id=tenant, slot_id=long)
    cascade.cascade_slot(rt, tenant_id=tenant, slot_id=short)
    rt.clock.advance(15 * 60)  # exactly the short hold's time: it is due
    assert cascade.release_expired_holds(rt, tenant_id=tenant) == 1
    assert [h.status for h in holds_of(rt, short)] == [HoldStatus.EXPIRED]
    assert [h.status for h in holds_of(rt, long)] == [HoldStatus.ACTIVE]
    # The freed slot is cascaded by a job: the next in line gets the offer.
    run_queue(rt, CASCADE)
    assert [h.status for h in holds_of(rt, short)] == [HoldStatus.EXPIRED, HoldStatus.ACTIVE]


def test_release_expired_holds_for_one_tenant_leaves_other_tenants_holds(rt, tenant) -> None:
    mine, _ = freed_slot(rt, tenant)
    theirs, _ = freed_slot(rt, f"{tenant}-b")
    cascade.cascade_slot(rt, tenant_id=tenant, slot_id=mine)
    cascade.cascade_slot(rt, tenant_id=f"{tenant}-b", slot_id=theirs)
    rt.clock.advance(20 * 60)
    assert cascade.release_expired_holds(rt, tenant_id=tenant) == 1
    assert holds_of(rt, theirs)[0].status is HoldStatus.ACTIVE
    assert cascade.release_expired_holds(rt, tenant_id=f"{tenant}-b") == 1


def test_release_expired_holds_in_batches_expires_every_due_hold(rt, tenant, monkeypatch) -> None:
    monkeypatch.setattr(cascade, "EXPIRE_BATCH", 2)
    slot_ids = [freed_slot(rt, tenant, waiting=("x",))[0] for _ in range(5)]
    for slot_id in slot_ids:
        cascade.cascade_slot(rt, tenant_id=tenant, slot_id=slot_id)
    rt.clock.advance(16 * 60)
    assert cascade.release_expired_holds(rt, tenant_id=tenant) == 5
    assert {h.status for s in slot_ids for h in holds_of(rt, s)} == {HoldStatus.EXPIRED}


def test_release_expired_holds_queues_cascade_for_slot_whose_cascade_was_lost(rt, tenant, monkeypatch) -> None:
    slot_id, entries = freed_slot(rt, tenant)

    def unreachable(*args, **kwargs):
        raise EnqueueFailed("SQS is down")

    monkeypatch.setattr(cascade, "enqueue", unreachable)
    assert cascade.enqueue_cascade(rt, tenant_id=tenant, slot_id=slot_id) is None
    monkeypatch.undo()
    assert receive(rt, CASCADE) == []
    assert cascade.release_expired_holds(rt, tenant_id=tenant) == 0
    run_queue(rt, CASCADE)
    assert entry_status(rt, entries[0].id) == "offered"


def test_cascade_job_without_slot_offers_every_free_slot_of_its_tenant(rt, tenant) -> None:
    first, _ = freed_slot(rt, tenant)
    second, _ = freed_slot(rt, tenant)
    other, _ = freed_slot(rt, f"{tenant}-b")
    job = cascade.enqueue(rt, queue=CASCADE, name="cascade", data={}, tenant_id=tenant).job
    run_queue(rt, CASCADE)
    done = rt.store.get(job.id)
    assert done.state is JobState.COMPLETED
    assert {offer["slotId"] for offer in done.result["offers"]} == {str(first), str(second)}
    assert holds_of(rt, other) == []
