"""Seed 000 (Bull room generation): its three curl examples, its request body and its four routes, as written.

Against the local stack over HTTP, with a bearer token added and the dates moved into the
future: the seed's February 2024 (a leap year: 29 days) becomes the next leap year's
February, its "tomorrow" schedule the next 31 January at 02:00 UTC, its January the next
January. The seed numbers its room categories (`"roomCategoryId": 1`); Jobline's are
UUIDs, so that body as written answers a 422 naming the field, and the same body with the
tenant's category id works. Each answer is checked against the seed's documented answer
(`"…"` matches any value; answers may carry more fields).
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

import sqlalchemy as sa

from tests.e2e.support import Api, matches

GENERATION = "/api/v1/room-generation"


def _leap_february() -> int:
    """The first leap year whose February is wholly ahead, so the seed's 29 days stay 29."""
    year = dt.date.today().year + 1
    while not calendar.isleap(year):
        year += 1
    return year


def _next_31_january() -> int:
    """The year of the next 31 January at 02:00 UTC still a day away (within the 366 days a job may wait)."""
    now = dt.datetime.now(dt.UTC)
    this_year = dt.datetime(now.year, 1, 31, 2, tzinfo=dt.UTC)
    return now.year if this_year - now > dt.timedelta(days=1) else now.year + 1


def _february(year: int) -> tuple[str, str]:
    last = calendar.monthrange(year, 2)[1]
    return f"{year}-02-01T00:00:00.000Z", f"{year}-02-{last}T23:59:59.999Z"


def _check(expected: Any, answer: Any) -> None:
    problems = matches(expected, answer.body)
    assert not problems, f"{problems}\n{answer.text[:1000]}"


def test_seed_000_curl_examples_generate_schedule_and_show_jobs_and_queue_stats(
    tenant_api: Api, category: dict[str, Any]
) -> None:
    # Example 1: Generate Rooms for Next Month, exactly as written: a numbered category.
    leap = _leap_february()
    start, end = _february(leap)
    example_1 = {"roomCategoryId": 1, "startDate": start, "endDate": end, "scheduleType": "immediate"}

    refused = tenant_api.post(GENERATION, example_1)

    assert refused.status == 422, refused.text
    [error] = refused.body["errors"]
    assert error["field"] == "body.roomCategoryId"
    assert "room categories are identified by UUID; 1 is not one" in error["message"]
    assert "GET /api/v1/room-categories" in error["message"]

    # The same body with the tenant's room category.
    generated = tenant_api.post(GENERATION, {**example_1, "roomCategoryId": category["id"]})

    assert generated.status == 201, generated.text
    _check(
        {
            "success": True,
            "message": "…",
            "data": {"success": True, "totalRoomsCreated": 29, "totalDatesProcessed": 29, "errors": [], "jobId": "…"},
        },
        generated,
    )
    assert generated.body["message"].startswith("Room generation completed")
    immediate_job = generated.data["jobId"]

    # Example 2: Schedule Room Generation for "tomorrow" (the night before February begins).
    year = _next_31_january()
    start, end = _february(year)
    scheduled_at = f"{year}-01-31T02:00:00.000Z"
    example_2 = {
        "roomCategoryId": category["id"],
        "startDate": start,
        "endDate": end,
        "scheduleType": "scheduled",
        "scheduledAt": scheduled_at,
    }

    scheduled = tenant_api.post(GENERATION, example_2)

    assert scheduled.status in (201, 202), scheduled.text
    _check(
        {
            "success": True,
            "message": "Room generation job scheduled successfully",
            "data": {"jobId": "…", "scheduledAt": scheduled_at, "estimatedCompletion": "…"},
        },
        scheduled,
    )
    assert scheduled.data["estimatedCompletion"] > scheduled_at  # both in one ISO format: text order is time order
    scheduled_job = scheduled.data["jobId"]

    # Example 3: Check Job Status (`GET /api/v1/room-generation/job/:jobId`), for each job.
    done = tenant_api.get(f"{GENERATION}/job/{immediate_job}")

    assert done.status == 200, done.text
    leap_start, leap_end = _february(leap)
    _check(
        {
            "success": True,
            "data": {
                "id": immediate_job,
                "status": "completed",
                "progress": 100,
                "result": {
                    "success": True,
                    "totalRoomsCreated": 29,
                    "totalDatesProcessed": 29,
                    "errors": [],
                    "jobId": immediate_job,
                },
                "data": {"roomCategoryId": category["id"], "startDate": leap_start, "endDate": leap_end},
            },
        },
        done,
    )

    waiting = tenant_api.get(f"{GENERATION}/job/{scheduled_job}")

    assert waiting.status == 200, waiting.text
    _check(
        {
            "success": True,
            "data": {
                "id": scheduled_job,
                "status": "delayed",
                "progress": 0,
                "result": None,
                "data": {"roomCategoryId": category["id"], "startDate": start, "endDate": end},
            },
        },
        waiting,
    )

    # Route 3 (and the seed's debug command): Get Queue Statistics, this tenant's jobs.
    stats = tenant_api.get(f"{GENERATION}/queue/stats")

    assert stats.status == 200, stats.text
    _check(
        {"success": True, "data": {"waiting": 0, "active": 0, "completed": 1, "failed": 0, "delayed": 1}},
        stats,
    )


def test_seed_000_request_body_then_room_statistics_of_the_month(
    tenant_api: Api, category: dict[str, Any], sql: sa.Engine
) -> None:
    # Route 1's request body as written, `scheduledAt` beside `"scheduleType": "immediate"` included.
    year = dt.date.today().year + 1
    body = {
        "roomCategoryId": category["id"],
        "startDate": f"{year}-01-01T00:00:00.000Z",
        "endDate": f"{year}-01-31T23:59:59.999Z",
        "priceOverride": 150,
        "scheduleType": "immediate",
        "scheduledAt": f"{year}-01-01T10:00:00.000Z",
    }

    generated = tenant_api.post(GENERATION, body)

    assert generated.status == 201, generated.text
    _check(
        {
            "success": True,
            "message": "…",
            "data": {"success": True, "totalRoomsCreated": 31, "totalDatesProcessed": 31, "errors": [], "jobId": "…"},
        },
        generated,
    )
    assert "scheduledAt applies to scheduled generations only and was ignored" in generated.body["message"]

    # Six of the month's rooms get booked (Jobline has no booking route; the bookings are the hotel's).
    with sql.begin() as connection:
        prices = connection.execute(
            sa.text("SELECT DISTINCT price FROM rooms WHERE category_id = CAST(:id AS uuid)"), {"id": category["id"]}
        ).scalars()
        assert [str(price) for price in prices] == ["150.00"]
        connection.execute(
            sa.text(
                "UPDATE rooms SET status = 'booked' WHERE category_id = CAST(:id AS uuid) AND date <= :last_booked"
            ),
            {"id": category["id"], "last_booked": dt.date(year, 1, 6)},
        )

    # Route 4: Get Room Statistics, with the seed's query as written.
    stats = tenant_api.get(f"{GENERATION}/stats/{category['id']}?startDate={year}-01-01&endDate={year}-01-31")

    assert stats.status == 200, stats.text
    _check(
        {
            "success": True,
            "data": {
                "roomCategoryId": category["id"],
                "dateRange": {"startDate": f"{year}-01-01T00:00:00.000Z", "endDate": f"{year}-01-31T23:59:59.999Z"},
                "totalRooms": 31,
                "availableRooms": 25,
                "bookedRooms": 6,
            },
        },
        stats,
    )
