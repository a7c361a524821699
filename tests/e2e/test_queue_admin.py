"""Queue administration over HTTP: pause and resume, the dead-letter queue, retries with backoff, retry by hand."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from jobline.core.registry import job_type, unregister
from jobline.core.retry import Backoff, BackoffKind
from jobline.domains.rooms.tables import RoomCategory
from jobline.engine.enqueue import JobOptions, enqueue
from jobline.runtime import get_runtime
from jobline_dev.local import LocalStack
from tests.e2e.support import Api, wait_for, wait_for_job
from tests.e2e.test_room_generation import GENERATION, JOB, date_range

ADMIN = "/api/v1/admin/jobs"
ROOMS_QUEUE = "room-generation"
TASK_QUEUE = "generic-task"


@pytest.fixture
def paused_rooms(operator_api: Api) -> Iterator[None]:
    """The room-generation queue paused for the test, resumed whatever happens."""
    answer = operator_api.post(f"{ADMIN}/{ROOMS_QUEUE}/pause")
    assert answer.status == 200, answer.text
    yield
    operator_api.post(f"{ADMIN}/{ROOMS_QUEUE}/resume")


def _queued_generation(api: Api, category_id: str) -> str:
    start, end = date_range(400)
    answer = api.post(GENERATION, {"roomCategoryId": category_id, "startDate": start, "endDate": end})
    assert answer.status == 202, answer.text
    return str(answer.data["jobId"])


def _dlq_depth(operator_api: Api, queue: str) -> int:
    return int(operator_api.get(f"{ADMIN}/{queue}/stats").data["sqs"]["dlq"])


def test_pausing_a_queue_needs_an_admin_or_operator_role(tenant_api: Api) -> None:
    answer = tenant_api.post(f"{ADMIN}/{ROOMS_QUEUE}/pause")

    assert answer.status == 403


@pytest.mark.usefixtures("paused_rooms")
def test_paused_queue_keeps_its_jobs_waiting_until_resumed(
    tenant_api: Api, operator_api: Api, category: dict[str, Any]
) -> None:
    job_id = _queued_generation(tenant_api, category["id"])
    path = JOB.format(job_id=job_id)

    time.sleep(2)  # two poll cycles: a running poller would have taken the job by now
    held = tenant_api.get(path).data
    stats = operator_api.get(f"{ADMIN}/{ROOMS_QUEUE}/stats").data

    assert (held["state"], held["attemptsMade"]) == ("waiting", 0)
    assert stats["paused"] is True
    assert operator_api.post(f"{ADMIN}/{ROOMS_QUEUE}/resume").status == 200
    assert wait_for_job(tenant_api, path)["state"] == "completed"


def test_failed_job_lands_in_the_dlq_and_a_retry_by_hand_completes_it(
    tenant_api: Api, operator_api: Api, category: dict[str, Any], sql: sa.Engine, paused_rooms: None
) -> None:
    dlq_before = _dlq_depth(operator_api, ROOMS_QUEUE)
    job_id = _queued_generation(tenant_api, category["id"])
    path = JOB.format(job_id=job_id)
    # Gone before the worker looks: the job fails with UnrecoverableError, no retries.
    with sql.begin() as conn:
        table = RoomCategory.__table__
        deleted = conn.execute(sa.delete(table).where(table.c.id == category["id"]).returning(*table.c))
        saved = dict(deleted.mappings().one())
    assert operator_api.post(f"{ADMIN}/{ROOMS_QUEUE}/resume").status == 200

    failed = wait_for_job(tenant_api, path)
    assert failed["state"] == "failed"
    assert "not found" in failed["failedReason"]
    assert _dlq_depth(operator_api, ROOMS_QUEUE) == dlq_before + 1

    with sql.begin() as conn:
        conn.execute(sa.insert(RoomCategory.__table__).values(**saved))  # the same id, name and price
    retried = operator_api.post(f"{ADMIN}/{ROOMS_QUEUE}/{job_id}/retry")
    assert retried.status == 200, retried.text
    assert retried.data["state"] == "waiting"
    done = wait_for_job(tenant_api, path)
    assert done["state"] == "completed", done
    assert done["result"]["totalRoomsCreated"] == 400
    # The sped-up tick drops the DLQ copy of a job that was retried since.
    wait_for(lambda: _dlq_depth(operator_api, ROOMS_QUEUE) == dlq_before, timeout=15, what="the stale DLQ copy to go")


@pytest.fixture
def flaky() -> Iterator[dict[str, Any]]:
    """A throwaway job type on generic-task that fails while `fail` is set (the stack runs in this process)."""
    state: dict[str, Any] = {"fail": True, "runs": 0}
    name = f"e2e-flaky-{uuid.uuid4().hex[:6]}"

    def run(payload: dict[str, Any], ctx: Any) -> dict[str, Any]:
        state["runs"] += 1
        if state["fail"]:
            raise RuntimeError(f"planned failure {state['runs']}")
        return {"runs": state["runs"]}

    job_type(TASK_QUEUE, name)(run)
    state["name"] = name
    yield state
    unregister(TASK_QUEUE, name)


def test_failing_job_is_retried_with_backoff_then_failed_and_succeeds_when_retried(
    stack: LocalStack, tenant: str, flaky: dict[str, Any]
) -> None:
    admin = Api(stack.api_url, stack.token(tenant=tenant, roles=("admin",)))
    options = JobOptions(attempts=3, backoff=Backoff(type=BackoffKind.FIXED, delay=1))
    job = enqueue(get_runtime(), queue=TASK_QUEUE, name=flaky["name"], data={}, tenant_id=tenant, options=options).job
    path = f"{ADMIN}/{TASK_QUEUE}/{job.id}"

    failed = wait_for_job(admin, path, timeout=25)

    # Each failed attempt was reported in batchItemFailures and came back after its backoff.
    assert (failed["state"], failed["attemptsMade"], flaky["runs"]) == ("failed", 3, 3)
    assert "planned failure 3" in failed["failedReason"]
    flaky["fail"] = False
    assert admin.post(f"{path}/retry").status == 200
    done = wait_for_job(admin, path)
    assert (done["state"], done["result"]) == ("completed", {"runs": 4})
