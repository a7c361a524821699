"""Room generation and room category routes through the API handler, on moto and Postgres."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

import pytest
import redis
import sqlalchemy as sa
from redis.backoff import NoBackoff
from redis.retry import Retry

from jobline.api.app import create_app
from jobline.core.states import JobState
from jobline.domains.rooms.tables import Room
from jobline.engine.worker import Worker
from jobline.store.redis import RedisJobStore
from jobline.tick import periodic
from jobline_dev.local.aws import free_port
from jobline_dev.support import FakeClock, deliver
from tests.api.helpers import Client, make_token

NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)
BASE = "/api/v1"


@pytest.fixture
def rt(aws, memory_store, database_url):
    from jobline_dev.support import make_runtime

    runtime = make_runtime(memory_store, database_url=database_url)
    runtime.clock = FakeClock(NOW)
    yield runtime
    runtime.engine.dispose()


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
    assert job.data["result"]["jobId"] == data["jobId"]
    stats = api.get(f"{BASE}/room-generation/stats/{category}", token=token)
    assert stats.data == {
        "roomCategoryId": category,
        "dateRange": {"startDate": None, "endDate": None},
        "totalRooms": 31,
        "availableRooms": 31,
        "bookedRooms": 0,
        "blockedRooms": 0,
    }
    ranged = api.get(
        f"{BASE}/room-generation/stats/{category}",
        token=token,
        query={"startDate": "2026-12-10", "endDate": "2026-12-19"},
    )
    assert ranged.data["totalRooms"] == 10
    assert ranged.data["dateRange"] == {"startDate": "2026-12-10T00:00:00.000Z", "endDate": "2026-12-19T23:59:59.999Z"}


def test_second_generation_over_same_range_reports_zero_created(api, token) -> None:
    category = make_category(api, token)
    body = {"roomCategoryId": category, "startDate": "2027-01-01", "endDate": "2027-01-10"}
    api.post(f"{BASE}/room-generation", token=token, json_body=body)
    again = api.post(f"{BASE}/room-generation", token=token, json_body=body)
    assert again.status == 201
    assert again.data["totalRoomsCreated"] == 0
    assert again.json["message"] == "Room generation completed: 0 rooms created, 10 already existed"


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
    assert answer.json["message"] == "Room generation job scheduled successfully"
    data = answer.data
    assert dt.datetime.fromisoformat(data["scheduledAt"]) == NOW + dt.timedelta(days=2)
    assert dt.datetime.fromisoformat(data["estimatedCompletion"]) > NOW + dt.timedelta(days=2)
    assert api.get(f"{BASE}/room-generation/job/{data['jobId']}", token=token).data["state"] == "delayed"
    rt.clock.advance(2 * 24 * 3600)
    assert periodic.run_tick(rt).released == 1
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


# ---------------------------------------------------------------- the seed's bodies, as written


def test_seed_body_with_iso_date_times_covers_the_utc_days_and_shows_them_as_sent(api, token, rt) -> None:
    category = make_category(api, token)
    body = {
        "roomCategoryId": category,
        "startDate": "2028-02-01T00:00:00.000Z",
        "endDate": "2028-02-29T23:59:59.999Z",
        "priceOverride": 150,
        "scheduleType": "immediate",
    }
    answer = api.post(f"{BASE}/room-generation", token=token, json_body=body)
    assert answer.status == 201, answer.text
    assert answer.json["message"] == "Room generation completed: 29 rooms created, 0 already existed"
    data = answer.data
    assert (data["success"], data["totalRoomsCreated"], data["totalDatesProcessed"], data["errors"]) == (
        True,
        29,
        29,
        [],
    )
    assert data["sync"] is False
    job = api.get(f"{BASE}/room-generation/job/{data['jobId']}", token=token).data
    assert (job["id"], job["status"], job["progress"]) == (data["jobId"], "completed", 100)
    assert job["result"]["jobId"] == data["jobId"]
    assert job["data"]["startDate"] == "2028-02-01T00:00:00.000Z"
    assert job["data"]["endDate"] == "2028-02-29T23:59:59.999Z"
    assert job["data"]["roomCategoryId"] == category
    assert decimal.Decimal(job["data"]["priceOverride"]) == 150
    with rt.sessions() as session:
        prices = session.scalars(sa.select(Room.price).where(Room.category_id == uuid.UUID(category))).all()
    assert prices == [decimal.Decimal("150.00")] * 29


def test_seed_request_body_as_written_runs_now_and_says_scheduled_at_was_ignored(api, token) -> None:
    category = make_category(api, token)
    body = {
        "roomCategoryId": category,
        "startDate": "2027-01-01T00:00:00.000Z",
        "endDate": "2027-01-31T23:59:59.999Z",
        "priceOverride": 150,
        "scheduleType": "immediate",
        "scheduledAt": "2027-01-01T10:00:00.000Z",
    }
    answer = api.post(f"{BASE}/room-generation", token=token, json_body=body)
    assert answer.status == 201, answer.text
    assert answer.json["message"] == (
        "Room generation completed: 31 rooms created, 0 already existed;"
        " scheduledAt applies to scheduled generations only and was ignored"
    )
    assert (answer.data["totalRoomsCreated"], answer.data["totalDatesProcessed"]) == (31, 31)


def test_one_day_given_as_its_first_and_last_moment_is_one_room(api, token) -> None:
    category = make_category(api, token)
    body = {"roomCategoryId": category, "startDate": "2027-03-01T00:00:00.000Z", "endDate": "2027-03-01T23:59:59.999Z"}
    answer = api.post(f"{BASE}/room-generation", token=token, json_body=body)
    assert answer.status == 201, answer.text
    assert answer.data["totalDatesProcessed"] == 1


def test_date_time_with_an_offset_means_its_utc_day(api, token) -> None:
    category = make_category(api, token)
    # 01:00 on 2 March in UTC+02:00 is 23:00 on 1 March in UTC.
    body = {"roomCategoryId": category, "startDate": "2027-03-02T01:00:00+02:00", "endDate": "2027-03-05"}
    answer = api.post(f"{BASE}/room-generation", token=token, json_body=body)
    assert answer.status == 201, answer.text
    assert answer.data["totalDatesProcessed"] == 5
    job = api.get(f"{BASE}/room-generation/job/{answer.data['jobId']}", token=token).data
    assert job["data"]["startDate"] == "2027-03-01T23:00:00.000Z"
    assert job["data"]["endDate"] == "2027-03-05"


@pytest.mark.parametrize("category_id", [1, "1", 0, True, None, "Deluxe"])
def test_non_uuid_room_category_id_is_422_saying_categories_have_uuids(api, token, category_id) -> None:
    make_category(api, token)
    body = {
        "roomCategoryId": category_id,
        "startDate": "2027-02-01T00:00:00.000Z",
        "endDate": "2027-02-28T23:59:59.999Z",
        "scheduleType": "immediate",
    }
    answer = api.post(f"{BASE}/room-generation", token=token, json_body=body)
    assert answer.status == 422, answer.text
    [error] = answer.json["errors"]
    assert error["field"] == "body.roomCategoryId"
    assert "room categories are identified by UUID" in error["message"]
    assert "GET /api/v1/room-categories" in error["message"]


def test_integer_category_id_in_the_stats_path_is_422_naming_it(api, token) -> None:
    answer = api.get(f"{BASE}/room-generation/stats/1", token=token, query={"startDate": "2027-01-01"})
    assert answer.status == 422, answer.text
    [error] = answer.json["errors"]
    assert error["field"] == "path.roomCategoryId"
    assert '"1" is not one' in error["message"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"startDate": 1}, "body.startDate"),
        ({"endDate": 1706745599999}, "body.endDate"),
        ({"endDate": "2027-02-30"}, "body.endDate"),
        ({"endDate": "2027-02-28T25:00:00.000Z"}, "body.endDate"),
        ({"startDate": "2027-02-10T00:00:00.000Z", "endDate": "2027-02-09T23:59:59.999Z"}, "body.endDate"),
        ({"scheduleType": "scheduled", "scheduledAt": "2028-01-01T00:00:00.000Z"}, "body.scheduledAt"),
    ],
)
def test_seed_shaped_bad_dates_are_422_naming_the_field(api, token, changes, field) -> None:
    category = make_category(api, token)
    body = {"roomCategoryId": category, "startDate": "2027-02-01T00:00:00.000Z", "endDate": "2027-02-28", **changes}
    answer = api.post(f"{BASE}/room-generation", token=token, json_body=body)
    assert answer.status == 422, answer.text
    assert answer.fields() == [field]


def test_room_stats_take_iso_date_times_and_show_the_counted_range(api, token, rt) -> None:
    category = make_category(api, token)
    body = {"roomCategoryId": category, "startDate": "2027-01-01", "endDate": "2027-01-31"}
    assert api.post(f"{BASE}/room-generation", token=token, json_body=body).status == 201
    query = {"startDate": "2027-01-01T00:00:00.000Z", "endDate": "2027-01-10T12:00:00.000Z"}
    stats = api.get(f"{BASE}/room-generation/stats/{category}", token=token, query=query)
    assert stats.status == 200, stats.text
    assert stats.data["totalRooms"] == 10
    assert stats.data["dateRange"] == {"startDate": "2027-01-01T00:00:00.000Z", "endDate": "2027-01-10T23:59:59.999Z"}
    only_start = api.get(f"{BASE}/room-generation/stats/{category}", token=token, query={"startDate": "2027-01-30"})
    assert only_start.data["totalRooms"] == 2
    assert only_start.data["dateRange"] == {"startDate": "2027-01-30T00:00:00.000Z", "endDate": None}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"startDate": "2027-01-10", "endDate": "2027-01-09"}, "query.endDate"),
        ({"startDate": "soon"}, "query.startDate"),
        ({"endDate": "2027-13-01"}, "query.endDate"),
    ],
)
def test_room_stats_bad_range_is_422_naming_the_query_field(api, token, query, field) -> None:
    category = make_category(api, token)
    answer = api.get(f"{BASE}/room-generation/stats/{category}", token=token, query=query)
    assert answer.status == 422, answer.text
    assert answer.fields() == [field]


def test_generation_queue_stats_carry_every_count_the_seed_shows(api, token, rt) -> None:
    category = make_category(api, token)
    at = (NOW + dt.timedelta(days=1)).isoformat()
    scheduled = {"startDate": "2027-02-01", "endDate": "2027-02-10", "scheduleType": "scheduled", "scheduledAt": at}
    api.post(f"{BASE}/room-generation", token=token, json_body={"roomCategoryId": category, **scheduled})
    api.post(
        f"{BASE}/room-generation",
        token=token,
        json_body={"roomCategoryId": category, "startDate": "2027-01-01", "endDate": "2028-06-30"},
    )
    api.post(
        f"{BASE}/room-generation",
        token=token,
        json_body={"roomCategoryId": category, "startDate": "2027-03-01", "endDate": "2027-03-10"},
    )
    stats = api.get(f"{BASE}/room-generation/queue/stats", token=token).data
    assert {k: stats[k] for k in ("waiting", "active", "completed", "failed", "delayed")} == {
        "waiting": 1,
        "active": 0,
        "completed": 1,
        "failed": 0,
        "delayed": 1,
    }


# ---------------------------------------------------------------- the queue unavailable


@pytest.fixture
def down_api(aws, database_url, tenant):
    """The API whose job store is a Redis nobody listens on (connections refused), on real Postgres."""
    from jobline_dev.support import make_runtime

    # No retries: the refusal is the point, and redis-py's default backoff would spend seconds on it.
    client = redis.Redis(host="127.0.0.1", port=free_port("127.0.0.1"), retry=Retry(NoBackoff(), 0))
    runtime = make_runtime(RedisJobStore(client, prefix="jobline-down:"), database_url=database_url)
    runtime.clock = FakeClock(NOW)
    yield Client(create_app(lambda: runtime).resolve)
    runtime.engine.dispose()


def test_immediate_generation_with_the_job_store_down_runs_in_the_request_and_says_sync(down_api, token) -> None:
    api = down_api
    category = make_category(api, token)
    body = {"roomCategoryId": category, "startDate": "2027-02-01T00:00:00.000Z", "endDate": "2027-02-28T23:59:59.999Z"}
    answer = api.post(f"{BASE}/room-generation", token=token, json_body=body)
    assert answer.status == 201, answer.text
    assert answer.data["sync"] is True
    assert (answer.data["totalRoomsCreated"], answer.data["totalDatesProcessed"]) == (28, 28)
    assert answer.json["message"].startswith("The job queue is unavailable, so the rooms were generated in the request")
    stats = api.get(f"{BASE}/room-generation/stats/{category}", token=token).data
    assert stats["totalRooms"] == 28
    # Again, while still down: idempotent by category and day.
    again = api.post(f"{BASE}/room-generation", token=token, json_body=body)
    assert (again.status, again.data["sync"], again.data["totalRoomsCreated"]) == (201, True, 0)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"scheduleType": "scheduled", "scheduledAt": "2026-12-01T02:00:00.000Z"}, "cannot be scheduled now"),
        ({"endDate": "2028-06-30T23:59:59.999Z"}, "516 days is more than the 366"),
    ],
)
def test_scheduled_or_long_generation_with_the_job_store_down_is_503_and_creates_nothing(
    down_api, token, changes, words
) -> None:
    api = down_api
    category = make_category(api, token)
    body = {"roomCategoryId": category, "startDate": "2027-02-01T00:00:00.000Z", "endDate": "2027-02-28", **changes}
    answer = api.post(f"{BASE}/room-generation", token=token, json_body=body)
    assert answer.status == 503, answer.text
    assert words in answer.json["message"]
    assert "nothing was created" in answer.json["message"]
    assert api.get(f"{BASE}/room-generation/stats/{category}", token=token).data["totalRooms"] == 0
