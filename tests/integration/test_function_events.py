"""Every function's handler, invoked with each sample event in events/ (as `sam local invoke` would)."""

from __future__ import annotations

import datetime as dt
import decimal
import importlib.util
import json
import pathlib
import sys
from types import ModuleType
from typing import Any

import pytest

from jobline import auth, config, runtime
from jobline.core.job import Job
from jobline.core.queues import QUEUES
from jobline.core.states import JobState
from jobline.domains.rooms.tables import RoomCategory
from jobline_dev.support import provision_aws
from tests.api.helpers import LambdaContextStub, make_token

ROOT = pathlib.Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
# One SQS batch per queue, for the function that consumes it.
SQS_EVENTS = {q.name: f"sqs_{q.name.replace('-', '_')}.json" for q in QUEUES.values()}
EVENTS_BY_FUNCTION: dict[str, list[str]] = {
    "api": ["api_health.json", "api_room_generation.json"],
    "cleanup": ["schedule_tick.json", "schedule_nightly.json"],
    "authorizer": ["authorizer_request.json"],
}
for _queue in QUEUES.values():
    EVENTS_BY_FUNCTION.setdefault(_queue.consumer.name, []).append(SQS_EVENTS[_queue.name])
SECRET = "function-events-secret-0123456789abcdef"


def load_handler(function: str) -> Any:
    """functions/<function>/app.py's lambda_handler, loaded from its file as Lambda would."""
    path = ROOT / "functions" / function / "app.py"
    spec = importlib.util.spec_from_file_location(f"jobline_function_{function}", path)
    assert spec is not None and spec.loader is not None
    module: ModuleType = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.lambda_handler


def read_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


@pytest.fixture
def deployed(aws, database_url, monkeypatch):
    """The environment a deployed function gets, on moto and the test database, with the memory store."""
    monkeypatch.setenv("JOBLINE_STORE", "memory")
    monkeypatch.setenv("JOBLINE_QUEUE_PREFIX", "jobline-dev-")
    monkeypatch.setenv("JOBLINE_BUCKET", "jobline-dev-payloads")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("JOBLINE_JWT_SECRET", SECRET)
    config.get_settings.cache_clear()
    runtime.get_runtime.cache_clear()
    auth.reset()
    rt = runtime.get_runtime()
    provision_aws(rt.transport._sqs, rt.payloads._s3, prefix="jobline-dev-", bucket="jobline-dev-payloads")
    yield rt
    rt.engine.dispose()
    config.get_settings.cache_clear()
    runtime.get_runtime.cache_clear()
    auth.reset()


def test_every_function_has_sample_events_and_every_event_is_used() -> None:
    functions = {p.parent.name for p in (ROOT / "functions").glob("*/app.py")}
    assert functions == set(EVENTS_BY_FUNCTION)
    used = {name for names in EVENTS_BY_FUNCTION.values() for name in names}
    assert {p.name for p in EVENTS.glob("*.json")} == used


def seed_category(rt, tenant: str) -> RoomCategory:
    with rt.sessions.begin() as session:
        category = RoomCategory(tenant_id=tenant, name="Sample", base_price=decimal.Decimal("80"))
        session.add(category)
        session.flush()
        return category


def test_api_health_event_answers_200(deployed) -> None:
    response = load_handler("api")(read_event("api_health.json"), LambdaContextStub())
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["data"]["status"] == "ok"


def test_api_room_generation_event_with_a_real_token_generates_rooms(deployed, tenant) -> None:
    category = seed_category(deployed, tenant)
    event = read_event("api_room_generation.json")
    event["headers"]["authorization"] = f"Bearer {make_token(tenant=tenant, secret=SECRET)}"
    body = json.loads(event["body"])
    body["roomCategoryId"] = str(category.id)
    today = dt.datetime.now(dt.UTC).date()
    body["startDate"], body["endDate"] = str(today + dt.timedelta(days=1)), str(today + dt.timedelta(days=31))
    event["body"] = json.dumps(body)
    response = load_handler("api")(event, LambdaContextStub())
    assert response["statusCode"] == 201, response["body"]
    assert json.loads(response["body"])["data"]["totalRoomsCreated"] == 31


def test_room_worker_event_runs_the_named_job(deployed, tenant) -> None:
    category = seed_category(deployed, tenant)
    event = read_event("sqs_room_generation.json")
    job_id = json.loads(event["Records"][0]["body"])["job_id"]
    deployed.store.create(
        Job(
            id=job_id,
            queue="room-generation",
            name="generate-rooms",
            tenant_id=tenant,
            data={"roomCategoryId": str(category.id), "startDate": "2030-01-01", "endDate": "2030-01-31"},
            created_at=dt.datetime.now(dt.UTC),
            dispatch=1,
            max_attempts=4,
        )
    )
    assert load_handler("room_worker")(event, LambdaContextStub()) == {"batchItemFailures": []}
    done = deployed.store.get(job_id)
    assert done.state is JobState.COMPLETED
    assert done.result["totalRoomsCreated"] == 31


@pytest.mark.parametrize(
    ("function", "event_name"),
    [(q.consumer.name, SQS_EVENTS[q.name]) for q in QUEUES.values() if q.name != "room-generation"],
)
def test_worker_event_for_a_job_that_is_gone_is_acknowledged(deployed, function, event_name) -> None:
    assert load_handler(function)(read_event(event_name), LambdaContextStub()) == {"batchItemFailures": []}


@pytest.mark.parametrize("event_name", ["schedule_tick.json", "schedule_nightly.json"])
def test_cleanup_schedule_events_run_their_task(deployed, event_name) -> None:
    result = load_handler("cleanup")(read_event(event_name), LambdaContextStub())
    assert result["task"] == read_event(event_name)["task"]


def test_authorizer_event_is_refused_as_is_and_allowed_with_a_real_token(monkeypatch, tenant) -> None:
    # The sample's placeholder token is refused (an answer, not a raise); a real one is allowed.
    monkeypatch.setenv("JOBLINE_JWT_SECRET", SECRET)
    auth.reset()
    try:
        event = read_event("authorizer_request.json")
        assert load_handler("authorizer")(event, LambdaContextStub()) == {"isAuthorized": False}
        event["headers"]["authorization"] = f"Bearer {make_token(tenant=tenant, secret=SECRET)}"
        answer = load_handler("authorizer")(event, LambdaContextStub())
        assert answer["isAuthorized"] is True and answer["context"]["tenantId"] == tenant
    finally:
        auth.reset()


# Run in a fresh interpreter, as a cold Lambda starts: the job types that importing `argv[1]` (a
# function's app.py, or nothing but the catalog) registers, as "queue name" lines.
REGISTERED_BY = """
import json, runpy, sys
from jobline.core import catalog, registry
if sys.argv[1] == "catalog":
    catalog.load_all_job_types()
else:
    runpy.run_path(sys.argv[1])
print(json.dumps(sorted(f"{queue} {name}" for queue, name in registry._JOB_TYPES)))
"""


def registered_by(target: str) -> set[str]:
    import subprocess

    run = subprocess.run(
        [sys.executable, "-c", REGISTERED_BY, target], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return set(json.loads(run.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("function", sorted({q.consumer.name for q in QUEUES.values()}))
def test_each_worker_function_loads_every_job_type_of_its_queues(function: str) -> None:
    # A cold Lambda imports only functions/<name>/app.py: each job type of its queues must be there.
    from jobline.core.queues import queues_consumed_by

    consumed = {q.name for q in queues_consumed_by(function)}
    expected = {line for line in registered_by("catalog") if line.split()[0] in consumed}
    assert expected, f"no job types found for {function}'s queues"
    assert expected <= registered_by(str(ROOT / "functions" / function / "app.py"))
