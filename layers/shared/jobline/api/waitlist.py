"""Waitlist routes: slots, joining a slot's waitlist, releasing a slot, answering an offer by its token.

Every route needs a bearer token but the two offer answers: the person offered a place
has no login, only the token from their link. Those are listed in PUBLIC_PATHS, which
the app adds (under its prefix) to the routes its gate lets through without a token.
"""

from __future__ import annotations

import datetime as dt
import uuid
from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import Field

import jobline.domains.waitlist.jobs  # noqa: F401 - registers the job types these routes enqueue
from jobline.api import deps
from jobline.api.envelope import Envelope, ok, responses
from jobline.api.errors import InvalidRequest
from jobline.api.schemas import ApiModel
from jobline.domains.waitlist import offers, slots
from jobline.domains.waitlist.schemas import EntryCreate, OfferAnswer, SlotCreate
from jobline.domains.waitlist.tables import Channel, EntryStatus, HoldStatus, SlotStatus
from jobline.runtime import Runtime

router = APIGatewayHttpRouter()
TAGS = ["waitlist"]

ACCEPT_PATH = "/waitlist/offers/accept"
DECLINE_PATH = "/waitlist/offers/decline"
# (method, path below the API prefix) of the routes that take no bearer token.
PUBLIC_PATHS = frozenset({("POST", ACCEPT_PATH), ("POST", DECLINE_PATH)})

SlotIdPath = Annotated[uuid.UUID, Path(alias="slotId", description="The slot id (a UUID).")]


class SlotView(ApiModel):
    id: uuid.UUID
    name: str
    starts_at: dt.datetime | None
    hold_minutes: int
    status: SlotStatus
    waiting: int = Field(description="entries waiting for the slot")
    created_at: dt.datetime


class EntryView(ApiModel):
    id: uuid.UUID
    slot_id: uuid.UUID
    name: str
    channel: Channel
    recipient: str
    priority: int
    status: EntryStatus
    position: int | None = Field(default=None, description="place in the queue while waiting; 1 is offered next")
    created_at: dt.datetime


class ReleaseView(ApiModel):
    slot_id: uuid.UUID
    status: SlotStatus
    job_id: str | None = Field(description="the cascade job that offers the slot on")


class AnswerView(ApiModel):
    slot_id: uuid.UUID
    slot_name: str
    status: HoldStatus


def _slot_view(summary: slots.SlotSummary) -> SlotView:
    slot = summary.slot
    return SlotView(
        id=slot.id,
        name=slot.name,
        starts_at=slot.starts_at,
        hold_minutes=slot.hold_minutes,
        status=slot.status,
        waiting=summary.waiting,
        created_at=slot.created_at,
    )


def _entry_view(listed: slots.Listed) -> EntryView:
    view = EntryView.model_validate(listed.entry, from_attributes=True)
    return view.model_copy(update={"position": listed.position})


@router.post("/waitlist/slots", summary="Create a slot", tags=TAGS, responses=responses(success=(HTTPStatus.CREATED,)))
def create_slot(
    body: Annotated[SlotCreate, Body()], runtime: deps.RuntimeDep, caller: deps.CallerDep
) -> Response[Envelope[SlotView]]:
    """A slot of the caller's tenant; `booked` (people wait for it) unless created `available`."""
    slot = slots.create_slot(runtime, body, tenant_id=caller.tenant_id)
    view = _slot_view(slots.SlotSummary(slot=slot, waiting=0))
    return ok(view, "slot created", status=HTTPStatus.CREATED)


@router.get("/waitlist/slots/<slotId>", summary="A slot", tags=TAGS, responses=responses(HTTPStatus.NOT_FOUND))
def get_slot(slot_id: SlotIdPath, runtime: deps.RuntimeDep, caller: deps.CallerDep) -> Envelope[SlotView]:
    """The slot, with how many wait for it (404 for another tenant's)."""
    return Envelope(message="slot", data=_slot_view(slots.slot_summary(runtime, slot_id, tenant_id=caller.tenant_id)))


@router.post(
    "/waitlist/slots/<slotId>/entries",
    summary="Join a slot's waitlist",
    tags=TAGS,
    responses=responses(HTTPStatus.NOT_FOUND, HTTPStatus.CONFLICT, success=(HTTPStatus.CREATED,)),
)
def join_waitlist(
    slot_id: SlotIdPath, body: Annotated[EntryCreate, Body()], runtime: deps.RuntimeDep, caller: deps.CallerDep
) -> Response[Envelope[EntryView]]:
    """Wait for the slot; a free slot is offered at once. 409 if the address already waits for it."""
    if body.recipient() is None:
        raise InvalidRequest(f"body.{body.recipient_field()}", f"is required when channel is {body.channel.value}")
    entry = slots.join_waitlist(runtime, slot_id, body, tenant_id=caller.tenant_id)
    view = _entry_view(slots.Listed(entry, None))
    return ok(view, "joined the waitlist", status=HTTPStatus.CREATED)


@router.get(
    "/waitlist/slots/<slotId>/entries",
    summary="A slot's waitlist",
    tags=TAGS,
    responses=responses(HTTPStatus.NOT_FOUND),
)
def list_waitlist(
    slot_id: SlotIdPath,
    runtime: deps.RuntimeDep,
    caller: deps.CallerDep,
    status: Annotated[EntryStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=slots.MAX_LIST)] = slots.MAX_LIST,
) -> Envelope[list[EntryView]]:
    """Waiting entries first, in the order they are offered; then those that left the queue."""
    listed = slots.list_entries(runtime, slot_id, tenant_id=caller.tenant_id, status=status, limit=limit)
    return Envelope(message=f"{len(listed)} entries", data=[_entry_view(item) for item in listed])


@router.post(
    "/waitlist/slots/<slotId>/release",
    summary="Free a slot and offer it to the next in line",
    tags=TAGS,
    responses=responses(
        HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND, HTTPStatus.CONFLICT, success=(HTTPStatus.ACCEPTED,)
    ),
)
def release_slot(
    slot_id: SlotIdPath, runtime: deps.RuntimeDep, admin: deps.AdminDep
) -> Response[Envelope[ReleaseView]]:
    """The slot becomes available and a cascade job offers it on; 409 while an offer is out. Needs the
    admin or operator role (403 otherwise): releasing hands the slot to whoever waits, and sends them offers."""
    slot, job = slots.release_slot(runtime, slot_id, tenant_id=admin.tenant_id)
    view = ReleaseView(slot_id=slot.id, status=slot.status, job_id=job.id if job else None)
    return ok(view, "slot released", status=HTTPStatus.ACCEPTED)


def _answer(body: OfferAnswer, runtime: Runtime, *, accept: bool) -> Envelope[AnswerView]:
    answer = offers.answer_offer(runtime, body.token, accept=accept)
    view = AnswerView(slot_id=answer.slot_id, slot_name=answer.slot_name, status=answer.status)
    return Envelope(message=f"offer {answer.status.value}", data=view)


OFFER_RESPONSES = responses(HTTPStatus.NOT_FOUND, HTTPStatus.CONFLICT, public=True)


@router.post(ACCEPT_PATH, summary="Accept an offer by its token", tags=TAGS, security=[{}], responses=OFFER_RESPONSES)
def accept_offer(body: Annotated[OfferAnswer, Body()], runtime: deps.RuntimeDep) -> Envelope[AnswerView]:
    """No login: the token is the proof. It works once, before the hold expires (409 after)."""
    return _answer(body, runtime, accept=True)


@router.post(DECLINE_PATH, summary="Decline an offer by its token", tags=TAGS, security=[{}], responses=OFFER_RESPONSES)
def decline_offer(body: Annotated[OfferAnswer, Body()], runtime: deps.RuntimeDep) -> Envelope[AnswerView]:
    """No login: the token is the proof. The slot is offered to the next in line."""
    return _answer(body, runtime, accept=False)
