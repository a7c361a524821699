"""The waitlist routes through the API handler: validation, tenancy, conflicts, the token link."""

from __future__ import annotations

import hashlib
import secrets
import uuid

import pytest
import sqlalchemy as sa

from jobline.domains.waitlist.tables import Hold
from tests.api.helpers import make_token
from tests.waitlist.conftest import mail_to, run_all, token_in

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
    assert api.post(f"{BASE}/slots/{slot_id}/release", token=intruder).status == 404
    assert api.get(f"{BASE}/slots/{uuid.uuid4()}", token=token).status == 404
    # Nothing changed for the owner.
    assert api.get(f"{BASE}/slots/{slot_id}", token=token).data["waiting"] == 0


def test_join_twice_with_same_address_answers_409(api, token, slot_id) -> None:
    assert join(api, token, slot_id, priority=2).status == 201
    answer = join(api, token, slot_id)
    assert answer.status == 409
    assert "already" in answer.json["message"]


def test_release_while_offer_is_out_answers_409(api, rt, token, slot_id) -> None:
    offered_token(api, rt, token, slot_id)
    assert api.get(f"{BASE}/slots/{slot_id}", token=token).data["status"] == "held"
    assert api.post(f"{BASE}/slots/{slot_id}/release", token=token).status == 409


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
