"""The waitlist routes through the API handler: validation, tenancy, conflicts, the token link."""

from __future__ import annotations

import hashlib
import secrets
import uuid

import pytest
import sqlalchemy as sa

from jobline.domains.waitlist import cascade
from jobline.domains.waitlist.tables import Hold, HoldStatus
from jobline_dev.support import receive
from tests.api.helpers import make_token
from tests.waitlist.conftest import mail_to, run_all, token_in
from tests.waitlist.helpers import holds_of, new_entry, new_slot

BASE = "/api/v1/waitlist"


@pytest.fixture
def slot_id(api, token) -> str:
    answer = api.post(f"{BASE}/slots", token=token, json_body={"name": "Court 1", "status": "available"})
    assert answer.status == 201, answer.text
    return answer.data["id"]


def join(api, token, slot_id, email="pat@example.com", **body):
    return api.post(f"{BASE}/slots/{slot_id}/entries", token=token, json_body={"name": "Pat", "email": email, **body})


def offered_token(api, rt, token, slot_id, email="pat@example.com") -> str:
    assert join(api, token, slot_id, email).status == 201
    run_all(rt)
    (mail,) = mail_to(email)
    return token_in(mail.body)


def test_create_slot_answers_201_with_defaults(api, token) -> None:
    body = {"name": "  Court 2 ", "startsAt": "2026-12-01T19:00:00+01:00"}
    answer = api.post(f"{BASE}/slots", token=token, json_body=body)
    assert answer.status == 201
    data = answer.data
    assert (data["name"], data["status"], data["holdMinutes"], data["waiting"]) == ("Court 2", "booked", 15, 0)
    assert data["startsAt"] == "2026-12-01T18:00:00Z"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body.name"),
        ({"name": ""}, "body.name"),
        ({"name": "a\u0000b"}, "body.name"),
        ({"name": "x", "holdMinutes": 0}, "body.holdMinutes"),
        ({"name": "x", "startsAt": "2026-12-01T19:00:00"}, "body.startsAt"),
        ({"name": "x", "status": "held"}, "body.status"),
        ({"name": "x", "colour": "red"}, "body.colour"),
    ],
)
def test_create_slot_invalid_body_answers_422_naming_field(api, token, body, field) -> None:
    answer = api.post(f"{BASE}/slots", token=token, json_body=body)
    assert answer.status == 422
    assert field in answer.fields()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Pat", "channel": "email"}, "body.email"),
        ({"name": "Pat", "channel": "sms", "email": "pat@example.com"}, "body.phone"),
        ({"name": "Pat", "channel": "sms", "phone": "07700 900123"}, "body.phone"),
        ({"name": "Pat", "email": "not-an-address"}, "body.email"),
        ({"name": "Pat", "email": "pat@example.com", "priority": -1}, "body.priority"),
        ({"name": "Pat", "email": "pat@example.com", "channel": "pigeon"}, "body.channel"),
    ],
)
def test_join_invalid_body_answers_422_naming_field(api, token, slot_id, body, field) -> None:
    answer = api.post(f"{BASE}/slots/{slot_id}/entries", token=token, json_body=body)
    assert answer.status == 422, answer.text
    assert field in answer.fields()


def test_slot_id_that_is_not_a_uuid_answers_422(api, token) -> None:
    answer = api.get(f"{BASE}/slots/not-a-uuid", token=token)
    assert answer.status == 422
    assert answer.fields() == ["path.slotId"]


def test_slot_routes_without_token_answer_401(api, slot_id) -> None:
    assert api.post(f"{BASE}/slots", json_body={"name": "x"}).status == 401
    assert api.get(f"{BASE}/slots/{slot_id}/entries").status == 401


def test_other_tenants_slot_answers_404_on_every_route(api, rt, token, slot_id) -> None:
    intruder = make_token(tenant="someone-else", user="eve")
    assert api.get(f"{BASE}/slots/{slot_id}", token=intruder).status == 404
    assert api.get(f"{BASE}/slots/{slot_id}/entries", token=intruder).status == 404
    assert join(api, intruder, slot_id).status == 404
    # Releasing needs a role first; with it, another tenant's slot is as unknown as on every other route.
    intruding_admin = make_token(tenant="someone-else", user="eve", roles=["admin"])
    assert api.post(f"{BASE}/slots/{slot_id}/release", token=intruding_admin).status == 404
    assert api.get(f"{BASE}/slots/{uuid.uuid4()}", token=token).status == 404
    # Nothing changed for the owner.
    assert api.get(f"{BASE}/slots/{slot_id}", token=token).data["waiting"] == 0


def test_join_twice_with_same_address_answers_409(api, token, slot_id) -> None:
    assert join(api, token, slot_id, priority=2).status == 201
    answer = join(api, token, slot_id)
    assert answer.status == 409
    assert "already" in answer.json["message"]


def test_release_while_offer_is_out_answers_409(api, rt, token, tenant, slot_id) -> None:
    offered_token(api, rt, token, slot_id)
    assert api.get(f"{BASE}/slots/{slot_id}", token=token).data["status"] == "held"
    admin = make_token(tenant=tenant, user="ada", roles=["admin"])
    assert api.post(f"{BASE}/slots/{slot_id}/release", token=admin).status == 409


def booked_slot_with_a_waiter(api, token) -> str:
    slot = api.post(f"{BASE}/slots", token=token, json_body={"name": "Court 9"}).data["id"]
    assert join(api, token, slot).status == 201
    return slot


def test_user_without_a_role_cannot_release_a_slot_403_and_nothing_changes(api, rt, token, tenant) -> None:
    slot = booked_slot_with_a_waiter(api, token)
    answer = api.post(f"{BASE}/slots/{slot}/release", token=token)
    assert answer.status == 403, answer.text
    assert "role" in answer.json["message"]
    assert api.get(f"{BASE}/slots/{slot}", token=token).data["status"] == "booked"
    assert receive(rt, "waitlist-cascade") == []


@pytest.mark.parametrize("roles", [["admin"], ["operator"]])
def test_admin_or_operator_of_the_tenant_releases_a_slot(api, token, tenant, roles) -> None:
    slot = booked_slot_with_a_waiter(api, token)
    answer = api.post(f"{BASE}/slots/{slot}/release", token=make_token(tenant=tenant, user="ada", roles=roles))
    assert answer.status == 202, answer.text
    assert answer.data["status"] == "available"


EXPIRED_HOLDS = "/api/v1/jobs/expired-holds/trigger"


def test_expired_holds_trigger_naming_another_tenant_in_any_field_is_422_at_once(api, rt, tenant) -> None:
    """Another tenant's id, under any name (its tenant, a slot, an entry, a hold), is refused before
    anything is queued, so the other tenant's overdue hold stays as it is."""
    other = f"{tenant}-other"
    slot = new_slot(rt, other, status="available")
    entry = new_entry(rt, other, slot, "ola")
    cascade.cascade_slot(rt, tenant_id=other, slot_id=slot)
    (hold,) = holds_of(rt, slot)
    rt.clock.advance(20 * 60)
    admin = make_token(tenant=tenant, user="ada", roles=["admin"])
    bodies = {
        "body.tenantId": [{"tenantId": other}, {"tenant_id": other}, {"tenantId": other.upper()}],
        "body.subAccountId": [{"subAccountId": other}],
        "body.slotId": [{"slotId": str(slot)}],
        "body.entryId": [{"entryId": str(entry.id)}],
        "body.holdId": [{"holdId": str(hold.id)}],
    }
    for field, sent in bodies.items():
        for body in sent:
            answer = api.post(EXPIRED_HOLDS, token=admin, json_body=body)
            assert answer.status == 422, (body, answer.text)
            assert answer.fields() == [field], body
    assert receive(rt, "waitlist-expired-holds") == []
    assert holds_of(rt, slot)[0].status is HoldStatus.ACTIVE


def test_expired_holds_trigger_by_a_user_without_a_role_is_403(api, rt, token) -> None:
    assert api.post(EXPIRED_HOLDS, token=token, json_body={}).status == 403
    assert receive(rt, "waitlist-expired-holds") == []


def test_list_waitlist_filters_by_status_and_orders_by_priority(api, token) -> None:
    slot = api.post(f"{BASE}/slots", token=token, json_body={"name": "Court 3"}).data["id"]
    for name, priority in (("low", 0), ("high", 7), ("mid", 3)):
        assert join(api, token, slot, f"{name}@example.com", priority=priority).status == 201
    listed = api.get(f"{BASE}/slots/{slot}/entries", token=token, query={"status": "waiting", "limit": 2})
    assert [(e["recipient"], e["position"]) for e in listed.data] == [("high@example.com", 1), ("mid@example.com", 2)]
    assert api.get(f"{BASE}/slots/{slot}/entries", token=token, query={"status": "gone"}).status == 422


def test_offer_token_accepts_once_without_login_then_answers_409(api, rt, token, slot_id) -> None:
    offer = offered_token(api, rt, token, slot_id)
    first = api.post(f"{BASE}/offers/accept", json_body={"token": offer})
    assert (first.status, first.data["status"]) == (200, "accepted")
    again = api.post(f"{BASE}/offers/accept", json_body={"token": offer})
    assert again.status == 409
    assert api.post(f"{BASE}/offers/decline", json_body={"token": offer}).status == 409


def test_offer_token_is_long_random_and_stored_only_as_its_hash(api, rt, token, slot_id) -> None:
    offer = offered_token(api, rt, token, slot_id)
    assert len(offer) >= 43  # 256 bits, URL-safe base64
    with rt.sessions() as session:
        (hold,) = session.scalars(sa.select(Hold).where(Hold.slot_id == uuid.UUID(slot_id))).all()
        stored = session.execute(
            sa.text("SELECT row_to_json(h)::text FROM waitlist_holds h WHERE id = :id"), {"id": hold.id}
        )
        row = stored.scalar_one()
    assert hold.token_hash == hashlib.sha256(offer.encode()).hexdigest()
    assert offer not in row


@pytest.mark.parametrize("path", ["accept", "decline"])
def test_guessed_or_altered_token_answers_404_and_changes_nothing(api, rt, token, slot_id, path) -> None:
    offer = offered_token(api, rt, token, slot_id)
    altered = offer[:-1] + ("A" if offer[-1] != "A" else "B")
    for guess in (secrets.token_urlsafe(32), altered):
        assert api.post(f"{BASE}/offers/{path}", json_body={"token": guess}).status == 404
    assert api.get(f"{BASE}/slots/{slot_id}", token=token).data["status"] == "held"


@pytest.mark.parametrize("body", [{}, {"token": "short"}, {"token": "x" * 129}, {"token": "has spaces in it!!"}])
def test_malformed_token_answers_422(api, body) -> None:
    answer = api.post(f"{BASE}/offers/accept", json_body=body)
    assert answer.status == 422
    assert answer.fields() == ["body.token"]
