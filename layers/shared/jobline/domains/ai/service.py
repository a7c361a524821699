"""The AI jobs' logic: the context each prompt carries, the question, and the answer made into a result.

Package recommendations are grounded in the tenant's own room categories (their prices and
the rooms still available in the coming weeks): the model chooses among them and explains,
and anything it names that is not one of them is discarded, never shown.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jobline.core.clock import as_utc
from jobline.domains.ai import answers, bedrock
from jobline.domains.ai.schemas import DelayRisk, PackageRecommendations
from jobline.domains.rooms.tables import Room, RoomCategory, RoomStatus

# How far ahead availability counts, and how many categories one prompt lists at most.
AVAILABILITY_DAYS = 30
MAX_CATEGORIES = 50

RECOMMEND_SYSTEM = (
    "You recommend accommodation packages to a customer of a hotel. You may only recommend "
    "packages from the list you are given, identified by their id. Prefer packages with rooms "
    "available soon and a fair price. Answer with one JSON object and nothing else, in this form: "
    '{"recommendations": [{"roomCategoryId": "<id from the list>", "reason": "<one sentence>", '
    '"score": <fit from 0 to 1>}]}. Best fit first.'
)
DELAY_RISK_SYSTEM = (
    "You estimate the risk that a passenger ground transfer between two cities starts or "
    "arrives late, from the route, the day and the time of day (traffic, distance, season). "
    "Answer with one JSON object and nothing else, in this form: "
    '{"riskLevel": "low" | "medium" | "high", "riskScore": <integer 0 to 100>, '
    '"expectedDelayMinutes": <integer>, "reasons": ["<short reason>", ...]} with one to five reasons.'
)


@dataclasses.dataclass(frozen=True)
class Package:
    """A room category as a package: its price and the rooms available in the coming days."""

    room_category_id: str
    name: str
    base_price: decimal.Decimal
    available_rooms: int
    first_available: dt.date | None

    def for_prompt(self) -> dict[str, Any]:
        return {
            "id": self.room_category_id,
            "name": self.name,
            "basePrice": str(self.base_price),
            f"availableRoomsNext{AVAILABILITY_DAYS}Days": self.available_rooms,
            "firstAvailableDate": self.first_available.isoformat() if self.first_available else None,
        }


def packages(session: Session, *, tenant_id: str, today: dt.date) -> list[Package]:
    """The tenant's room categories with their available rooms from `today` on, in one query."""
    horizon = today + dt.timedelta(days=AVAILABILITY_DAYS)
    available = sa.and_(
        Room.category_id == RoomCategory.id,
        Room.tenant_id == tenant_id,
        Room.status == RoomStatus.AVAILABLE,
        Room.date >= today,
        Room.date < horizon,
    )
    query = (
        sa.select(
            RoomCategory.id,
            RoomCategory.name,
            RoomCategory.base_price,
            sa.func.count(Room.id),
            sa.func.min(Room.date),
        )
        .outerjoin(Room, available)
        .where(RoomCategory.tenant_id == tenant_id)
        .group_by(RoomCategory.id)
        .order_by(RoomCategory.name, RoomCategory.id)
        .limit(MAX_CATEGORIES)
    )
    return [
        Package(
            room_category_id=str(row[0]),
            name=row[1],
            base_price=row[2],
            available_rooms=row[3],
            first_available=row[4],
        )
        for row in session.execute(query)
    ]


def recommendation_prompt(request: PackageRecommendations, offer: list[Package]) -> str:
    """The question: the packages on offer, how many to pick, and the language of the reasons."""
    listed = json.dumps([p.for_prompt() for p in offer], ensure_ascii=False)
    return (
        f"Packages on offer (JSON): {listed}\n"
        f"Recommend at most {request.options.limit} of them. "
        f"Write each reason in the language with BCP 47 tag {request.options.language!r}."
    )


def recommend(client: Any, *, model_id: str, request: PackageRecommendations, offer: list[Package]) -> dict[str, Any]:
    """The model's picks among `offer`, best first, at most `limit`; no model call when nothing is on offer."""
    result: dict[str, Any] = {
        "userId": request.user_id,
        "language": request.options.language,
        "packagesConsidered": len(offer),
        "model": model_id,
    }
    if not offer:
        return {**result, "recommendations": [], "discarded": 0}
    answer = bedrock.ask(
        client, model_id=model_id, system=RECOMMEND_SYSTEM, prompt=recommendation_prompt(request, offer)
    )
    parsed = answers.parse(answers.RecommendationsAnswer, answer.text)
    by_id = {p.room_category_id: p for p in offer}
    picked: dict[str, dict[str, Any]] = {}
    for item in sorted(parsed.recommendations, key=lambda r: r.score, reverse=True):
        package = by_id.get(item.room_category_id.strip().lower())
        if package is None or package.room_category_id in picked:
            continue
        picked[package.room_category_id] = {
            "roomCategoryId": package.room_category_id,
            "name": package.name,
            "basePrice": str(package.base_price),
            "availableRooms": package.available_rooms,
            "score": item.score,
            "reason": item.reason,
        }
    recommendations = list(picked.values())[: request.options.limit]
    return {
        **result,
        "recommendations": recommendations,
        # Ids the model made up or repeated: counted, so a drifting model shows in the results.
        "discarded": len(parsed.recommendations) - len(picked),
        "usage": _usage(answer),
    }


def delay_risk_prompt(request: DelayRisk, *, now: dt.datetime) -> str:
    """The question: the route and the departure, with its weekday, hour and distance in time from now."""
    departure = as_utc(request.scheduled_time).astimezone(dt.UTC)
    hours_ahead = (departure - now).total_seconds() / 3600
    return (
        f"Route: from {json.dumps(request.origin, ensure_ascii=False)} "
        f"to {json.dumps(request.destination, ensure_ascii=False)}.\n"
        f"Scheduled departure: {departure.isoformat()} (UTC), a {departure:%A} in {departure:%B}, "
        f"at {departure:%H:%M} UTC; {hours_ahead:+.1f} hours from now."
    )


def assess_delay_risk(client: Any, *, model_id: str, request: DelayRisk, now: dt.datetime) -> dict[str, Any]:
    """The model's delay risk for the transfer: level, score, expected delay and reasons."""
    answer = bedrock.ask(
        client, model_id=model_id, system=DELAY_RISK_SYSTEM, prompt=delay_risk_prompt(request, now=now)
    )
    parsed = answers.parse(answers.DelayRiskAnswer, answer.text)
    return {
        "origin": request.origin,
        "destination": request.destination,
        "scheduledTime": as_utc(request.scheduled_time).astimezone(dt.UTC).isoformat(),
        "riskLevel": parsed.risk_level.value,
        "riskScore": parsed.risk_score,
        "expectedDelayMinutes": parsed.expected_delay_minutes,
        "reasons": parsed.reasons,
        "model": model_id,
        "usage": _usage(answer),
    }


def _usage(answer: bedrock.ModelAnswer) -> dict[str, int | None]:
    return {"inputTokens": answer.input_tokens, "outputTokens": answer.output_tokens}
