"""What a job's views show, and to whom: a job is its creator's (and its tenant admins'), and stack
traces, hosts and connection strings in a failure are for admins only.

Every route that shows one job of a caller without a role is probed: the jobs' status (versioned and
seed paths), the waitlist job-management view, room generation and bulk upload.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from jobline.api.schemas import REDACTED, shown_reason
from jobline.core.job import Job
from jobline.core.states import JobState
from jobline.domains.bulk.kinds import get_kind
from jobline.domains.bulk.schemas import BulkKindName
from jobline.domains.rooms.queues import ROOM_GENERATION
from tests.api.helpers import make_token

TENANT = "tenant-a"
DB_URL = "postgresql+pg8000://jobline:s3cret@db.internal.example:5432/jobline"
FAILURE = (
    "OperationalError: (pg8000.exceptions.InterfaceError) Can't create a connection to host 10.0.3.7 and"
    f" port 5432 using {DB_URL}\n[SQL: SELECT 1]\n(Background on this error at: https://sqlalche.me/e/20/e3q8)"
)
TRACE = 'Traceback (most recent call last):\n  File "/opt/python/jobline/postgres/db.py", line 9, in connect\n'
SECRETS = ("db.internal.example", "10.0.3.7", "5432", "s3cret", "pg8000://", "SELECT 1", "/opt/python", "Traceback")
BULK_QUEUE = get_kind(BulkKindName("mechanics")).queue

# (path of one job's view, with {id}; the queue its jobs are in)
VIEWS = [
    ("/api/v1/jobs/data-export/{id}/status", "data-export"),
    ("/api/jobs/data-export/{id}/status", "data-export"),
    ("/api/v1/jobs/data-export/{id}", "data-export"),
    ("/api/jobs/generic-task/{id}", "generic-task"),
    ("/api/v1/room-generation/job/{id}", ROOM_GENERATION),
    ("/api/v1/bulk-upload/mechanics/{id}", BULK_QUEUE),
]


def stored_job(runtime: Any, queue: str, *, user: str | None, failed: bool = False) -> Job:
    """A finished job of TENANT's, added by `user` (None: by the platform), put straight into the store."""
    now = dt.datetime.now(dt.UTC)
    job = Job(
        id=str(uuid.uuid4()),
        queue=queue,
        name="any",
        tenant_id=TENANT,
        user_id=user,
        data={"rows": [{"email": "row@example.com"}]},
        state=JobState.FAILED if failed else JobState.COMPLETED,
        attempts=1,
        created_at=now,
        finished_at=now,
        result=None if failed else {"downloadUrl": "https://bucket.s3.amazonaws.com/exports/x.csv?X-Amz-Signature=1"},
        error=FAILURE if failed else None,
        stacktrace=TRACE + FAILURE if failed else None,
        logs=[f"attempt 1 failed: {FAILURE}"] if failed else [],
    )
    return runtime.store.create(job)


@pytest.fixture
def alice() -> str:
    return make_token(tenant=TENANT, user="alice")


@pytest.fixture
def carol() -> str:
    """Alice's colleague: the same tenant, no role."""
    return make_token(tenant=TENANT, user="carol")


@pytest.fixture
def ann() -> str:
    """Alice's tenant's admin."""
    return make_token(tenant=TENANT, user="ann", roles=["admin"])


@pytest.mark.parametrize(("path", "queue"), VIEWS)
def test_a_users_job_is_404_to_a_colleague_and_shown_to_its_creator_and_the_tenants_admin(
    memory_api, memory_runtime, alice, carol, ann, operator, path, queue
) -> None:
    job = stored_job(memory_runtime, queue, user="alice")
    url = path.format(id=job.id)
    refused = memory_api.get(url, token=carol)
    assert refused.status == 404, refused.text
    # The same answer as for a job that does not exist: the colleague learns nothing of it.
    assert "downloadUrl" not in refused.text and "row@example.com" not in refused.text
    assert memory_api.get(path.format(id=uuid.uuid4()), token=carol).status == 404
    for reader in (alice, ann, operator):
        shown = memory_api.get(url, token=reader)
        assert shown.status == 200, shown.text
        assert shown.json["data"]["id"] == job.id


@pytest.mark.parametrize(("path", "queue"), VIEWS)
def test_a_platform_job_without_a_user_is_shown_to_the_tenants_admins_only(
    memory_api, memory_runtime, alice, ann, path, queue
) -> None:
    job = stored_job(memory_runtime, queue, user=None)
    url = path.format(id=job.id)
    assert memory_api.get(url, token=alice).status == 404
    assert memory_api.get(url, token=ann).status == 200


@pytest.mark.parametrize(("path", "queue"), VIEWS)
def test_a_failed_jobs_trace_and_database_host_are_shown_to_admins_only(
    memory_api, memory_runtime, alice, ann, path, queue
) -> None:
    job = stored_job(memory_runtime, queue, user="alice", failed=True)
    url = path.format(id=job.id)

    mine = memory_api.get(url, token=alice)
    assert mine.status == 200, mine.text
    view = mine.json["data"]
    assert view["stacktrace"] is None
    # The exception's type and what is left of its message once the host, port and URL are gone.
    assert view["failedReason"].startswith("OperationalError: (pg8000.exceptions.InterfaceError) Can't create")
    assert REDACTED in view["failedReason"]
    assert view["logs"] and all(REDACTED in line for line in view["logs"])
    leaked = [secret for secret in SECRETS if secret in mine.text]
    assert not leaked, mine.text

    admins = memory_api.get(url, token=ann).json["data"]
    assert (admins["failedReason"], admins["stacktrace"]) == (FAILURE, TRACE + FAILURE)
    assert admins["logs"] == [f"attempt 1 failed: {FAILURE}"]


def test_a_job_added_through_the_api_is_its_callers_only(memory_api, job_types, alice, carol, ann) -> None:
    added = memory_api.post("/api/v1/jobs/email", token=alice, json_body={"to": "x@example.com", "subject": "hi"})
    assert added.status == 201, added.text
    status_url = added.json["checkStatusAt"]
    assert memory_api.get(status_url, token=alice).status == 200
    assert memory_api.get(status_url, token=carol).status == 404
    assert memory_api.get(status_url, token=ann).status == 200


def test_another_tenants_admin_still_gets_404(memory_api, memory_runtime, admin_b) -> None:
    job = stored_job(memory_runtime, "data-export", user="alice")
    assert memory_api.get(f"/api/v1/jobs/data-export/{job.id}/status", token=admin_b).status == 404


@pytest.mark.parametrize(
    ("reason", "shown"),
    [
        (None, None),
        ("ValueError: row 3 has no email", "ValueError: row 3 has no email"),
        ("ValueError: started at 10:30:00", "ValueError: started at 10:30:00"),
        (f"OperationalError: cannot reach {DB_URL}", f"OperationalError: cannot reach {REDACTED}"),
        (
            "OperationalError: host=db.internal port=5432 dbname=jobline",
            f"OperationalError: {REDACTED} {REDACTED} {REDACTED}",
        ),
        (
            'OperationalError: connection to server at "db.internal" (10.0.0.5), port 5432 failed',
            f"OperationalError: connection to {REDACTED} ({REDACTED}), {REDACTED} failed",
        ),
        ("ConnectionError: Error 111 connecting to redis.internal:6379.", f"ConnectionError: Error 111 {REDACTED}"),
        ("RuntimeError: boom\nTraceback (most recent call last):\n  File x", "RuntimeError: boom"),
        ("IntegrityError: duplicate key\n[SQL: INSERT INTO t VALUES (1)]", "IntegrityError: duplicate key"),
    ],
)
def test_shown_reason_keeps_the_type_and_drops_hosts_urls_and_traces(reason, shown) -> None:
    assert shown_reason(reason) == shown


def test_shown_reason_is_short() -> None:
    shown = shown_reason("ValueError: " + "x" * 5000)
    assert shown is not None and len(shown) <= 300


def test_the_runs_of_a_users_repeating_job_are_that_users(memory_api, memory_runtime, job_types, alice, carol) -> None:
    body = {"to": "x@example.com", "subject": "hi", "options": {"repeat": {"every": 60_000}}}
    added = memory_api.post("/api/v1/jobs/email", token=alice, json_body=body)
    assert added.status in (201, 202), added.text
    status_url = added.json["checkStatusAt"]
    assert memory_api.get(status_url, token=alice).status == 200
    assert memory_api.get(status_url, token=carol).status == 404
    assert memory_runtime.store.get(added.json["jobId"]).user_id == "alice"
