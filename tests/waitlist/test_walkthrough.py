"""A slot's whole life through the API and the workers: offer, decline, cascade, expiry, cascade, accept."""

from __future__ import annotations

from jobline.domains.waitlist import cascade, records
from tests.api.helpers import make_token
from tests.waitlist.conftest import mail_to, run_all, token_in

BASE = "/api/v1/waitlist"


def create_slot(api, token, **body) -> str:
    answer = api.post(f"{BASE}/slots", token=token, json_body={"name": "Dinner at 19:00", **body})
    assert answer.status == 201, answer.text
    return answer.data["id"]


def join(api, token, slot_id, name, priority=0, **contact) -> str:
    contact = contact or {"email": f"{name}@example.com"}
    body = {"name": name, "priority": priority, **contact}
    answer = api.post(f"{BASE}/slots/{slot_id}/entries", token=token, json_body=body)
    assert answer.status == 201, answer.text
    return answer.data["id"]


def statuses(api, token, slot_id) -> dict[str, tuple[str, int | None]]:
    listed = api.get(f"{BASE}/slots/{slot_id}/entries", token=token)
    assert listed.status == 200, listed.text
    return {entry["name"]: (entry["status"], entry["position"]) for entry in listed.data}


def offer_token(address: str) -> str:
    (mail,) = mail_to(address)
    return token_in(mail.body)


def test_slot_walks_offer_decline_cascade_expiry_cascade_accept(api, rt, token, tenant) -> None:
    slot_id = create_slot(api, token, holdMinutes=30)
    join(api, token, slot_id, "ben", priority=1)
    join(api, token, slot_id, "ann", priority=5)
    join(api, token, slot_id, "cat", priority=1)
    run_all(rt)
    assert mail_to("ann@example.com") == []  # booked: nobody is offered anything yet

    # Releasing needs the admin (or operator) role.
    released = api.post(f"{BASE}/slots/{slot_id}/release", token=make_token(tenant=tenant, roles=["admin"]))
    assert (released.status, released.data["status"]) == (202, "available")
    assert released.data["jobId"]
    run_all(rt)
    # The highest priority is offered first; the others keep their places.
    assert statuses(api, token, slot_id) == {"ann": ("offered", None), "ben": ("waiting", 1), "cat": ("waiting", 2)}
    assert api.get(f"{BASE}/slots/{slot_id}", token=token).data["status"] == "held"

    declined = api.post(f"{BASE}/offers/decline", json_body={"token": offer_token("ann@example.com")})
    assert (declined.status, declined.data["status"]) == (200, "declined")
    run_all(rt)
    assert statuses(api, token, slot_id)["ben"] == ("offered", None)
    ben_token = offer_token("ben@example.com")

    rt.clock.advance(31 * 60)
    assert cascade.release_expired_holds(rt, tenant_id=tenant) == 1
    run_all(rt)
    assert statuses(api, token, slot_id) == {
        "ann": ("declined", None),
        "ben": ("expired", None),
        "cat": ("offered", None),
    }
    assert api.post(f"{BASE}/offers/accept", json_body={"token": ben_token}).status == 409

    accepted = api.post(f"{BASE}/offers/accept", json_body={"token": offer_token("cat@example.com")})
    assert (accepted.status, accepted.data) == (
        200,
        {"slotId": slot_id, "slotName": "Dinner at 19:00", "status": "accepted"},
    )
    run_all(rt)
    assert api.get(f"{BASE}/slots/{slot_id}", token=token).data["status"] == "booked"
    confirmation = [m for m in mail_to("cat@example.com") if m.subject.startswith("Booked")]
    assert len(confirmation) == 1

    with rt.sessions() as session:
        actions = [line.action for line in records.audit_trail(session, tenant_id=tenant, slot_id=slot_id)]
    assert actions == [
        "slot.created",
        "entry.joined",
        "entry.joined",
        "entry.joined",
        "slot.released",
        "hold.offered",
        "notification.sent",
        "hold.declined",
        "hold.offered",
        "notification.sent",
        "hold.expired",
        "hold.offered",
        "notification.sent",
        "hold.accepted",
        "notification.sent",
    ]
