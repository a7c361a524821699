"""Room generation and room category routes through the API handler, on moto and Postgres."""

from __future__ import annotations

import datetime as dt

import pytest

from jobline import ticks
from jobline.api.app import create_app
from jobline.states import JobState
from jobline.worker import Worker
from tests.api.helpers import Client, make_token
from tests.support import FakeClock, deliver

NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)
BASE = "/api/v1"


@pytest.fixture
def rt(aws, memory_store, database_url):
    from tests.support import make_runtime

    runtime = make_runtime(memory_store, database_url=database_url)
    runtime.clock = FakeClock(NOW)
    yield runtime
    runtime.sessions.kw["bind"].dispose()


@pytest.fixture
def api(rt) -> Client:
    return Client(create_app(lambda: rt).resolve)


@pytest.fixture
def token(tenant) -> str:
    return make_token(tenant=tenant, user="rita")


def make_category(api: Client, token: str, name: str = "Deluxe", price: str = "150.00") -> str:
    answer = api.post(f"{BASE}/room-categories", token=token, json_body={"name": name, "basePrice": price})
    assert answer.status == 201, answer.text
    return answer.data["id"]


def test_room_categories_create_and_list_for_own_tenant_only(api, token) -> None:
    make_category(api, token, "Suite", "300.5")
    make_category(api, token, "Double", "120")
    other = make_token(tenant="someone-else")
    listed = api.get(f"{BASE}/room-categories", token=token)
    assert [(c["name"], c["basePrice"]) for c in listed.data] == [("Double", "120.00"), ("Suite", "300.50")]
    assert api.get(f"{BASE}/room-categories", token=other).data == []


def test_room_category_duplicate_name_is_409(api, token) -> None:
    make_category(api, token, "Suite")
    answer = api.post(f"{BASE}/room-categories", token=token, json_body={"name": "Suite", "basePrice": "1"})
    assert answer.status == 409
    assert answer.json["success"] is False


def test_immediate_generation_answers_with_result_and_completed_job(api, token, rt) -> None:
    category = make_category(api, token)
    body = {"roomCategoryId": category, "startDate": "2026-12-01", "endDate": "2026-12-31"}
    answer = api.post(f"{BASE}/room-generation", token=token, json_body=body)
    assert answer.status == 201, answer.text
    assert answer.json["success"] is True
    data = answer.data
    assert {k: data[k] for k in ("success", "totalRoomsCreated", "totalDatesProcessed", "errors")} == {
        "success": True,
        "totalRoomsCreated": 31,
        "totalDatesProcessed": 31,
        "errors": [],
    }
    job = api.get(f"{BASE}/room-generation/job/{data['jobId']}", token=token)
    assert job.status == 200
    assert job.data["state"] == "completed"
    assert job.data["progress"] == 100
    assert job.data["result"]["totalRoomsCreated"] == 31
    assert job.data["data"]["roomCategoryId"] == category
    stats = api.get(f"{BASE}/room-generation/stats/{category}", token=token)
    assert stats.data == {"totalRooms": 31, "availableRooms": 31, "bookedRooms": 0, "blockedRooms": 0}
    ranged = api.get(
        f"{BASE}/room-generation/stats/{category}",
        token=token,
        query={"startDate": "2026-12-10", "endDate": "2026-12-19"},
    )
    assert ranged.data["totalRooms"] == 10


def test_second_generation_over_same_range_reports_zero_created(api, token) -> None:
    category = make_category(api, token)
    body = {"roomCategoryId": category, "startDate": "2027-01-01", "endDate": "2027-01-10"}
    api.post(f"{BASE}/room-generation", token=token, json_body=body)
    again = api.post(f"{BASE}/room-generation", token=token, json_body=body)
    assert again.status == 201
    assert again.data["totalRoomsCreated"] == 0
    assert again.json["message"] == "0 rooms created, 10 already existed"


def test_long_range_answers_202_and_worker_completes_it(api, token, rt) -> None:
    category = make_category(api, token)
    body = {"roomCategoryId": category, "startDate": "2027-01-01", "endDate": "2028-12-31", "batchSize": 200}
    answer = api.post(f"{BASE}/room-generation", token=token, json_body=body)
    assert answer.status == 202
    assert answer.data["state"] == "waiting"
    deliver(rt, Worker(rt), "room-generation")
    job = api.get(f"{BASE}/room-generation/job/{answer.data['jobId']}", token=token).data
    assert job["state"] == "completed"
    assert job["result"]["totalRoomsCreated"] == 731
    assert len(job["logs"]) == 4


def test_scheduled_generation_answers_job_time_and_estimate_then_runs_when_due(api, token, rt) -> None:
    category = make_category(api, token)
    at = (NOW + dt.timedelta(days=2)).isoformat()
    body = {
        "roomCategoryId": category,
        "startDate": "2027-02-01",
        "endDate": "2027-02-28",
        "scheduleType": "scheduled",
        "scheduledAt": at,
    }
    answer = api.post(f"{BASE}/room-generation", token=token, json_body=body)
    assert answer.status == 202
    assert answer.json["message"] == "room generation scheduled"
    data = answer.data
    assert dt.datetime.fromisoformat(data["scheduledAt"]) == NOW + dt.timedelta(days=2)
    assert dt.datetime.fromisoformat(data["estimatedCompletion"]) > NOW + dt.timedelta(days=2)
    assert api.get(f"{BASE}/room-generation/job/{data['jobId']}", token=token).data["state"] == "delayed"
    rt.clock.advance(2 * 24 * 3600)
    assert ticks.run_tick(rt).released == 1
    deliver(rt, Worker(rt), "room-generation")
    assert rt.store.get(data["jobId"]).state is JobState.COMPLETED


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"startDate": "2026-11-01"}, "body.startDate"),
        ({"endDate": "2026-12-01"}, "body.endDate"),
        ({"endDate": "2031-12-02"}, "body.endDate"),
        ({"scheduleType": "scheduled"}, "body.scheduledAt"),
        ({"scheduleType": "scheduled", "scheduledAt": "2026-11-25T09:00:00Z"}, "body.scheduledAt"),
        ({"startDate": "not-a-date"}, "body.startDate"),
        ({"batchSize": 0}, "body.batchSize"),
        ({"priceOverride": -1}, "body.priceOverride"),
        ({"scheduleType": "later"}, "body.scheduleType"),
        ({"roomCategoryId": "nope"}, "body.roomCategoryId"),
        ({"colour": "red"}, "body.colour"),
    ],
)
def test_generation_bad_input_is_422_naming_the_field(api, token, changes, field) -> None:
    category = make_category(api, token)
    body = {"roomCategoryId": category, "startDate": "2026-12-01", "endDate": "2026-12-31", **changes}
    answer = api.post(f"{BASE}/room-generation", token=token, json_body=body)
    assert answer.status == 422, answer.text
    assert field in answer.fields()


def test_generation_missing_fields_are_422(api, token) -> None:
    answer = api.post(f"{BASE}/room-generation", token=token, json_body={})
    assert answer.status == 422
    assert {"body.roomCategoryId", "body.startDate", "body.endDate"} <= set(answer.fields())


def test_other_tenant_category_job_and_stats_read_as_404(api, token) -> None:
    category = make_category(api, token)
    body = {"roomCategoryId": category, "startDate": "2026-12-01", "endDate": "2026-12-05"}
    job_id = api.post(f"{BASE}/room-generation", token=token, json_body=body).data["jobId"]
    intruder = make_token(tenant="intruder")
    assert api.post(f"{BASE}/room-generation", token=intruder, json_body=body).status == 404
    assert api.get(f"{BASE}/room-generation/job/{job_id}", token=intruder).status == 404
    assert api.get(f"{BASE}/room-generation/stats/{category}", token=intruder).status == 404


def test_generation_queue_stats_count_the_tenants_jobs(api, token) -> None:
    category = make_category(api, token)
    for month in ("01", "02"):
        body = {"roomCategoryId": category, "startDate": f"2027-{month}-01", "endDate": f"2027-{month}-20"}
        api.post(f"{BASE}/room-generation", token=token, json_body=body)
    stats = api.get(f"{BASE}/room-generation/queue/stats", token=token)
    assert stats.status == 200
    assert stats.data["completed"] == 2
    assert api.get(f"{BASE}/room-generation/queue/stats", token=make_token(tenant="x")).data["completed"] == 0


def test_room_routes_need_a_token(api) -> None:
    assert api.get(f"{BASE}/room-categories").status == 401
    assert api.post(f"{BASE}/room-generation", json_body={}).status == 401
