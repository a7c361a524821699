"""Room generation over HTTP: a range over a year rides SQS to the room worker; a scheduled one waits for its time."""

from __future__ import annotations

import datetime as dt
from typing import Any

from jobline_dev.local import LocalStack
from tests.e2e.support import Api, JobFlow, run_job_flow, wait_for_job

GENERATION = "/api/v1/room-generation"
JOB = GENERATION + "/job/{job_id}"


def date_range(days: int, *, from_today: int = 30) -> tuple[str, str]:
    """An inclusive range of `days` days starting `from_today` days ahead, as ISO dates."""
    start = dt.date.today() + dt.timedelta(days=from_today)
    return start.isoformat(), (start + dt.timedelta(days=days - 1)).isoformat()


def test_room_generation_over_a_year_is_queued_and_the_worker_completes_it(
    stack: LocalStack, tenant_api: Api, category: dict[str, Any]
) -> None:
    start, end = date_range(400)
    worker = stack.functions["RoomWorkerFunction"]
    runs_before = worker.invocations

    flow = JobFlow(GENERATION, {"roomCategoryId": category["id"], "startDate": start, "endDate": end}, JOB)
    result = run_job_flow(tenant_api, flow)

    assert result.submitted.status == 202
    assert result.submitted.body["message"] == "Room generation job queued: the room worker takes it from here"
    assert result.submitted.data["state"] == "waiting"
    job = result.job
    assert job["state"] == "completed", job
    assert job["attemptsMade"] == 1
    assert job["result"]["totalRoomsCreated"] == 400
    assert worker.invocations > runs_before
    stats = tenant_api.get(f"{GENERATION}/stats/{category['id']}")
    counts = {k: stats.data[k] for k in ("totalRooms", "availableRooms", "bookedRooms", "blockedRooms")}
    assert counts == {"totalRooms": 400, "availableRooms": 400, "bookedRooms": 0, "blockedRooms": 0}


def test_scheduled_room_generation_stays_delayed_until_its_time_then_runs(
    tenant_api: Api, category: dict[str, Any]
) -> None:
    start, end = date_range(31)
    scheduled_at = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=3)
    body = {
        "roomCategoryId": category["id"],
        "startDate": start,
        "endDate": end,
        "scheduleType": "scheduled",
        "scheduledAt": scheduled_at.isoformat().replace("+00:00", "Z"),
    }

    submitted = tenant_api.post(GENERATION, body)

    assert submitted.status == 202, submitted.text
    assert submitted.body["message"] == "Room generation job scheduled successfully"
    path = JOB.format(job_id=submitted.data["jobId"])
    assert tenant_api.get(path).data["state"] == "delayed"
    job = wait_for_job(tenant_api, path, timeout=20)
    assert job["state"] == "completed", job
    assert job["result"]["totalRoomsCreated"] == 31
    # The message rode on SQS DelaySeconds; the worker runs a job at most a second early.
    started = dt.datetime.fromisoformat(job["startedAt"].replace("Z", "+00:00"))
    assert started >= scheduled_at - dt.timedelta(seconds=1)
