"""Bulk uploads through the API and the worker: per-row errors, set-based upserts, organisations kept apart."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from jobline.core.states import JobState
from tests.api.helpers import make_token
from tests.bulk.helpers import BASE, mechanic, run_job, table_rows, upload


def test_upload_rows_reports_each_bad_row_with_row_number_and_field(api, rt, token, tenant) -> None:
    rows = [
        mechanic(1),
        mechanic(2, email="not-an-email"),
        {"firstName": "Ann", "lastName": "", "email": "ann@garage.example"},
        mechanic(4, mobileNumber="call me"),
        {"firstName": "Bo", "lastName": "Vale", "email": "bo@garage.example"},
    ]
    job = upload(api, rt, token, "mechanics", rows)
    assert job.state is JobState.COMPLETED
    result = job.result
    assert (result["uploaded"], result["failed"], result["created"], result["totalRows"]) == (2, 3, 2, 5)
    assert result["success"] is False
    assert result["errors"] == [
        {"row": 2, "field": "email", "message": "is not a valid e-mail address"},
        {"row": 3, "field": "lastName", "message": "Field required"},
        {"row": 4, "field": "mobileNumber", "message": "String should match pattern '^\\+?[0-9][0-9 ()\\-]{5,30}$'"},
    ]
    assert result["message"] == (
        "Mechanics bulk upload completed with errors: 2 of 5 rows uploaded (2 created, 0 updated); "
        "3 rows failed validation"
    )
    stored = table_rows(rt, "mechanics", tenant)
    assert [r["email"] for r in stored] == ["bo@garage.example", "m1@garage.example"]
    assert stored[0]["mobile_number"] is None  # optional


def test_upload_one_row_with_several_faults_lists_each_field(api, rt, token) -> None:
    job = upload(api, rt, token, "mechanics", [{"email": "x@y.example", "mobileNumber": "12"}])
    assert {(e["row"], e["field"]) for e in job.result["errors"]} == {
        (1, "firstName"),
        (1, "lastName"),
        (1, "mobileNumber"),
    }
    assert job.result["failed"] == 1


def test_second_upload_of_same_rows_updates_instead_of_duplicating(api, rt, token, tenant) -> None:
    first = upload(api, rt, token, "mechanics", [mechanic(n) for n in range(1, 4)])
    ids = {r["email"]: r["id"] for r in table_rows(rt, "mechanics", tenant)}
    # The natural key is case-insensitive: upper case is the same mechanic.
    again = [mechanic(n, firstName=f"Renamed{n}", email=f"M{n}@GARAGE.example") for n in range(1, 4)]
    second = upload(api, rt, token, "mechanics", [*again, mechanic(4)])
    assert first.result["created"] == 3
    assert (second.result["created"], second.result["updated"], second.result["uploaded"]) == (1, 3, 4)
    assert second.result["message"] == (
        "Mechanics bulk upload completed successfully: 4 of 4 rows uploaded (1 created, 3 updated)"
    )
    assert second.result["success"] is True
    stored = table_rows(rt, "mechanics", tenant)
    assert len(stored) == 4
    assert {r["email"]: r["first_name"] for r in stored if r["email"] in ids} == {
        f"m{n}@garage.example": f"Renamed{n}" for n in range(1, 4)
    }
    assert {r["email"]: r["id"] for r in stored if r["email"] in ids} == ids  # updated in place


def test_other_organisation_rows_are_untouched_and_its_jobs_invisible(
    api, rt, token, tenant, other_token, other_tenant
) -> None:
    mine = upload(api, rt, token, "mechanics", [mechanic(1), mechanic(2)])
    theirs = upload(api, rt, other_token, "mechanics", [mechanic(1, firstName="Other"), mechanic(3)])
    # The same e-mail in another organisation is another mechanic: created, not updated.
    assert theirs.result["created"] == 2
    assert theirs.result["updated"] == 0
    assert [r["first_name"] for r in table_rows(rt, "mechanics", tenant)] == ["First1", "First2"]
    assert [r["first_name"] for r in table_rows(rt, "mechanics", other_tenant)] == ["Other", "First3"]
    assert api.get(f"{BASE}/mechanics/{mine.id}", token=other_token).status == 404
    seen = api.get(f"{BASE}/mechanics/{mine.id}", token=token)
    assert seen.status == 200
    assert seen.data["result"]["uploaded"] == 2
    # A job of one kind is not found under another kind's route either.
    assert api.get(f"{BASE}/policies/{mine.id}", token=token).status == 404


def test_duplicate_keys_in_one_upload_keep_the_last_row_and_say_so(api, rt, token, tenant) -> None:
    rows = [
        mechanic(1, firstName="One-a"),
        mechanic(2),
        mechanic(1, firstName="One-b"),  # same chunk as the first: deduplicated before the statement
        mechanic(3),
        mechanic(1, firstName="One-c"),  # a later chunk: the database sees the key again
    ]
    job = upload(api, rt, token, "mechanics", rows, chunkSize=2)
    result = job.result
    assert (result["uploaded"], result["duplicates"], result["created"], result["updated"]) == (3, 2, 3, 0)
    assert "2 rows replaced by a later row with the same email (the last one wins)" in result["message"]
    stored = {r["email"]: r["first_name"] for r in table_rows(rt, "mechanics", tenant)}
    assert stored["m1@garage.example"] == "One-c"
    assert len(stored) == 3


def test_progress_is_recorded_after_each_chunk(api, rt, token) -> None:
    job = upload(api, rt, token, "mechanics", [mechanic(n) for n in range(1, 6)], chunkSize=2)
    assert job.logs == [
        "chunk 1: 2 rows read, 2 uploaded, 0 failed",
        "chunk 2: 4 rows read, 4 uploaded, 0 failed",
        "chunk 3: 5 rows read, 5 uploaded, 0 failed",
    ]
    assert job.progress == 100


def test_each_chunk_is_one_statement_not_one_per_row(api, rt, token) -> None:
    statements: list[str] = []
    engine = rt.engine

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        job = upload(api, rt, token, "mechanics", [mechanic(n) for n in range(1, 1201)], chunkSize=500)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert job.result["created"] == 1200
    writes = [s for s in statements if "INSERT INTO mechanics" in s]
    assert len(writes) == 3
    assert all("ON CONFLICT (organisation_id, email) DO UPDATE" in s for s in writes)


@pytest.mark.parametrize(
    ("kind", "rows", "bad_field", "table_key"),
    [
        (
            "service-providers",
            [{"name": "Tow Co", "email": "tow@co.example"}, {"name": "", "email": "x@co.example"}],
            "name",
            "email",
        ),
        (
            "policies",
            [{"policyNumber": 10001, "type": "comprehensive"}, {"policyNumber": "../etc", "type": "third-party"}],
            "policyNumber",
            "policy_number",
        ),
    ],
)
def test_other_kinds_upsert_on_their_natural_key(api, rt, token, tenant, kind, rows, bad_field, table_key) -> None:
    first = upload(api, rt, token, kind, rows)
    assert (first.result["uploaded"], first.result["failed"]) == (1, 1)
    assert first.result["errors"][0]["row"] == 2
    assert first.result["errors"][0]["field"] == bad_field
    second = upload(api, rt, token, kind, rows[:1])
    assert (second.result["created"], second.result["updated"]) == (0, 1)
    stored = table_rows(rt, kind, tenant)
    assert [str(r[table_key]) for r in stored] == [str(rows[0]["policyNumber" if kind == "policies" else "email"])]


def test_many_bad_rows_keep_the_first_errors_and_store_the_full_report(api, rt, token, tenant) -> None:
    rows = [mechanic(n, email=f"bad{n}") for n in range(1, 251)]
    result = upload(api, rt, token, "mechanics", rows).result
    assert result["failed"] == 250
    assert len(result["errors"]) == 200
    assert result["errorCount"] == 250
    assert result["errorsTruncated"] is True
    report = result["errorReport"]
    assert report["key"].startswith(f"reports/{tenant}/")
    body = rt.client("s3").get_object(Bucket=rt.settings.jobline_bucket, Key=report["key"])["Body"].read().decode()
    lines = body.splitlines()
    assert lines[0] == "row,field,message"
    assert len(lines) == 251
    assert lines[250] == "250,email,is not a valid e-mail address"


# Seed 004's requests, as written: a bare JSON array of rows for each kind.
SEED_UPLOADS = {
    "mechanics": [{"firstName": "John", "lastName": "Doe", "email": "john@example.com", "mobileNumber": "1234567890"}],
    "service-providers": [{"name": "Provider Name", "email": "provider@example.com"}],
    "policies": [{"policyNumber": "POL123", "type": "auto"}],
}
SEED_LABELS = {"mechanics": "Mechanics", "service-providers": "Service providers", "policies": "Policies"}


@pytest.mark.parametrize("kind", list(SEED_UPLOADS))
def test_seed_bare_array_upload_completes_with_success_uploaded_and_message(api, rt, token, tenant, kind) -> None:
    answer = api.post(f"{BASE}/{kind}", token=token, json_body=SEED_UPLOADS[kind])
    assert answer.status == 202, answer.text
    assert answer.data["queue"] == f"bulk-upload-{kind}"
    job = run_job(rt, answer.data["queue"], answer.data["jobId"])
    assert job.state is JobState.COMPLETED, job.error
    assert (job.result["success"], job.result["uploaded"], job.progress) == (True, 1, 100)
    assert job.result["message"].startswith(f"{SEED_LABELS[kind]} bulk upload completed successfully: 1 of 1 row")
    assert len(table_rows(rt, kind, tenant)) == 1


def test_bare_array_and_rows_object_make_the_same_job_payload(api, rt, token) -> None:
    rows = [mechanic(1), mechanic(2)]
    bare = api.post(f"{BASE}/mechanics", token=token, json_body=rows)
    wrapped = api.post(f"{BASE}/mechanics", token=token, json_body={"rows": rows})
    assert (bare.status, wrapped.status) == (202, 202)
    assert rt.store.get(bare.data["jobId"]).data == rt.store.get(wrapped.data["jobId"]).data


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rows": []}, "body.rows"),
        ({"rows": ["not an object"]}, "body.rows.0"),
        ({"rows": [{}], "chunkSize": 0}, "body.chunkSize"),
        ({}, "body.rows"),
        ([], "body.rows"),
        ([{"firstName": "Ann"}, "not an object"], "body.rows.1"),
        ([[{"firstName": "Ann"}]], "body.rows.0"),
        ("mechanics", "body"),
        (7, "body"),
    ],
)
def test_malformed_upload_request_is_422(api, token, body, field) -> None:
    answer = api.post(f"{BASE}/mechanics", token=token, json_body=body)
    assert answer.status == 422, answer.text
    assert field in answer.fields(), answer.fields()


def test_unknown_kind_is_422_and_no_token_is_401(api, token) -> None:
    answer = api.post(f"{BASE}/plumbers", token=token, json_body={"rows": [{}]})
    assert answer.status == 422
    assert "path.kind" in answer.fields()
    assert api.post(f"{BASE}/mechanics", json_body={"rows": [{}]}).status == 401


def test_idempotency_key_returns_the_same_job(api, token) -> None:
    body = {"rows": [mechanic(1)], "options": {"jobId": "upload-2026-11-25"}}
    first = api.post(f"{BASE}/mechanics", token=token, json_body=body)
    again = api.post(f"{BASE}/mechanics", token=token, json_body=body)
    assert (first.status, again.status) == (202, 200)
    assert first.data["jobId"] == again.data["jobId"]
    assert again.data["created"] is False
    other = api.post(f"{BASE}/mechanics", token=make_token(tenant="someone-else"), json_body=body)
    assert other.data["jobId"] != first.data["jobId"]


@pytest.fixture
def dynamo_api(aws, dynamodb_store, database_url):
    """The API on the DynamoDB job store, whose 400 KB item limit the job record must fit."""
    from jobline.api import app as app_module
    from jobline.api import bulk
    from jobline_dev.support import make_runtime
    from tests.api.helpers import Client

    runtime = make_runtime(dynamodb_store, database_url=database_url)
    app = app_module.create_app(lambda: runtime)
    if bulk.router not in app_module.ROUTERS:
        app.include_router(bulk.router, prefix=app_module.API_PREFIX)
    yield Client(app.resolve), runtime
    runtime.engine.dispose()


def test_upload_at_the_body_limit_with_many_errors_fits_the_dynamodb_record(dynamo_api, token, tenant) -> None:
    api, rt = dynamo_api
    rows = [mechanic(n, email=f"bad-{n}" if n % 2 else f"m{n}@garage.example") for n in range(1, 2_301)]
    job = upload(api, rt, token, "mechanics", rows)
    assert job.state is JobState.COMPLETED, job.error
    assert job.data_ref is not None  # the payload went to S3; the record keeps a pointer
    assert (job.result["uploaded"], job.result["failed"], job.result["errorCount"]) == (1_150, 1_150, 1_150)
    assert len(job.result["errors"]) == 200
    assert len(table_rows(rt, "mechanics", tenant)) == 1_150
