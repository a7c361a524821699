"""Large uploads through S3: a size-bounded presigned POST, a job that streams CSV or JSON lines, keys
confined to the tenant."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
import requests

from jobline.core.states import JobState
from jobline.domains.exports import objects
from jobline.engine.enqueue import enqueue
from tests.bulk.helpers import BASE, mechanic, run_job, table_rows

MAX_BODY = 256 * 1024


def upload_url(api, token, kind="mechanics", format="csv") -> dict:
    answer = api.post(f"{BASE}/{kind}/upload-url", token=token, json_body={"format": format})
    assert answer.status == 200, answer.text
    return answer.data


def post(target: dict, body: bytes) -> requests.Response:
    """POST the form fields, then the file, as a browser or client would, to the presigned URL (moto answers it)."""
    files = {"file": ("upload", body)}
    return requests.post(target["uploadUrl"], data=target["fields"], files=files, headers=target["headers"], timeout=10)


def put(target: dict, body: bytes) -> None:
    """Upload the file as a client would; S3 answers a presigned POST with 204."""
    response = post(target, body)
    assert response.status_code in (200, 201, 204), response.text


def policy_of(target: dict) -> dict:
    return json.loads(base64.b64decode(target["fields"]["policy"]))


def mechanics_csv(count: int, *, bad: set[int] = frozenset()) -> bytes:
    lines = ["firstName,lastName,email,mobileNumber"]
    for n in range(1, count + 1):
        email = "broken" if n in bad else f"m{n}@garage.example"
        lines.append(f'First{n},"Last, {n}",{email},+44 20 7946 {n % 10000:04d}')
    return ("\r\n".join(lines) + "\r\n").encode()


def test_csv_larger_than_the_body_limit_goes_through_s3(api, rt, token, tenant) -> None:
    body = mechanics_csv(6_000, bad={17, 5_999})
    assert len(body) > MAX_BODY
    as_json = {"rows": [mechanic(n) for n in range(1, 6_001)]}
    assert api.post(f"{BASE}/mechanics", token=token, json_body=as_json).status == 413

    target = upload_url(api, token)
    assert target["key"].startswith(f"uploads/{tenant}/mechanics/")
    assert target["method"] == "POST"
    put(target, body)
    request = {"key": target["key"], "format": "csv", "chunkSize": 500}
    answer = api.post(f"{BASE}/mechanics/from-s3", token=token, json_body=request)
    assert answer.status == 202, answer.text
    job = run_job(rt, "bulk-upload-mechanics", answer.data["jobId"])

    assert job.state is JobState.COMPLETED, job.error
    result = job.result
    assert (result["totalRows"], result["uploaded"], result["failed"]) == (6_000, 5_998, 2)
    # Rows count data records: the header is not one.
    assert [(e["row"], e["field"]) for e in result["errors"]] == [(17, "email"), (5_999, "email")]
    stored = {r["email"]: r for r in table_rows(rt, "mechanics", tenant)}
    assert len(stored) == 5_998
    assert stored["m1@garage.example"]["last_name"] == "Last, 1"  # a quoted comma is data
    assert len(job.logs) == 12  # one per chunk of 500
    assert job.progress == 100


def test_jsonl_upload_reports_malformed_lines_as_row_errors(api, rt, token, tenant) -> None:
    lines = [json.dumps(mechanic(1)), "{not json", "", json.dumps(["a", "list"]), json.dumps(mechanic(2))]
    target = upload_url(api, token, format="jsonl")
    assert target["key"].endswith(".jsonl")
    put(target, "\n".join(lines).encode())
    answer = api.post(f"{BASE}/mechanics/from-s3", token=token, json_body={"key": target["key"], "format": "jsonl"})
    result = run_job(rt, "bulk-upload-mechanics", answer.data["jobId"]).result
    assert (result["uploaded"], result["failed"]) == (2, 2)
    assert [(e["row"], e["field"]) for e in result["errors"]] == [(2, None), (3, None)]
    assert result["errors"][0]["message"].startswith("malformed JSON")
    assert result["errors"][1]["message"] == "a row must be an object"


def test_csv_with_a_byte_order_mark_and_extra_columns_is_read(api, rt, token, tenant) -> None:
    body = "\ufeffpolicyNumber, type ,notes\r\nP-1,fire,x\r\n\r\nP-2,flood\r\n".encode()
    target = upload_url(api, token, kind="policies")
    put(target, body)
    answer = api.post(f"{BASE}/policies/from-s3", token=token, json_body={"key": target["key"]})
    result = run_job(rt, "bulk-upload-policies", answer.data["jobId"]).result
    assert (result["uploaded"], result["failed"]) == (2, 0)
    assert [(r["policy_number"], r["type"]) for r in table_rows(rt, "policies", tenant)] == [
        ("P-1", "fire"),
        ("P-2", "flood"),
    ]


def test_unreadable_csv_fails_the_job_without_retries(api, rt, token, tenant) -> None:
    target = upload_url(api, token)
    put(target, b'firstName,lastName,email\r\nA,"unclosed,a@b.example\r\n')
    answer = api.post(f"{BASE}/mechanics/from-s3", token=token, json_body={"key": target["key"]})
    job = run_job(rt, "bulk-upload-mechanics", answer.data["jobId"])
    assert job.state is JobState.FAILED
    assert "CSV record 1 cannot be read" in job.error
    assert job.attempts == 1
    assert table_rows(rt, "mechanics", tenant) == []


@pytest.mark.parametrize(
    "key",
    [
        "uploads/{tenant}/../{other}/mechanics/x.csv",
        "uploads/{tenant}/./x.csv",
        "uploads/{tenant}//x.csv",
        "uploads/{tenant}/",
        "/uploads/{tenant}/x.csv",
        "uploads/{tenant}/a\\..\\b.csv",
        "uploads/{tenant}/%2e%2e/x.csv",
        "uploads/{tenant}/x.csv\n",
        "uploads/{other}/mechanics/x.csv",
        "exports/{tenant}/x.csv",
        "payloads/{tenant}/x.json",
        "uploads/{tenant}",
        "uploads/{tenant}-x/y.csv",
    ],
)
def test_keys_outside_the_callers_upload_prefix_are_refused(api, token, tenant, other_tenant, key) -> None:
    key = key.format(tenant=tenant, other=other_tenant)
    answer = api.post(f"{BASE}/mechanics/from-s3", token=token, json_body={"key": key})
    assert answer.status == 422, answer.text
    assert answer.fields() == ["body.key"]


def test_another_tenants_real_upload_is_refused(api, rt, token, other_token) -> None:
    theirs = upload_url(api, other_token)
    put(theirs, mechanics_csv(2))
    answer = api.post(f"{BASE}/mechanics/from-s3", token=token, json_body={"key": theirs["key"]})
    assert answer.status == 422
    # The owner may.
    assert api.post(f"{BASE}/mechanics/from-s3", token=other_token, json_body={"key": theirs["key"]}).status == 202


def test_a_key_never_uploaded_is_404(api, token, tenant) -> None:
    key = f"uploads/{tenant}/mechanics/never-put.csv"
    answer = api.post(f"{BASE}/mechanics/from-s3", token=token, json_body={"key": key})
    assert answer.status == 404


def test_the_job_refuses_a_foreign_key_even_if_enqueued_directly(rt, tenant, other_tenant) -> None:
    data = {"source": {"key": f"uploads/{other_tenant}/mechanics/x.csv", "format": "csv"}}
    job = enqueue(rt, queue="bulk-upload-mechanics", name="bulk-upload", data=data, tenant_id=tenant).job
    done = run_job(rt, "bulk-upload-mechanics", job.id)
    assert done.state is JobState.FAILED
    assert "is not an upload of this organisation" in done.error


@pytest.mark.parametrize(
    ("tenant_id", "segment"),
    [("acme", "acme"), ("a/b", "a%2Fb"), ("..", "%2E%2E"), (".", "%2E"), ("a b", "a%20b"), ("x%2Fy", "x%252Fy")],
)
def test_tenant_ids_become_one_safe_key_segment(tenant_id, segment) -> None:
    assert objects.tenant_prefix("uploads", tenant_id) == f"uploads/{segment}/"
    key = objects.new_upload_key(tenant_id, kind="mechanics", extension="csv")
    assert objects.check_tenant_key(key, tenant_id) == key


def test_a_tenant_named_like_a_prefix_of_another_cannot_reach_its_keys() -> None:
    key = objects.new_upload_key("a/b", kind="mechanics", extension="csv")
    with pytest.raises(objects.KeyOutsideTenant):
        objects.check_tenant_key(key, "a")


def test_process_file_counts_hashes_and_validates_an_upload(api, rt, token) -> None:
    body = mechanics_csv(30, bad={4, 9})
    target = upload_url(api, token)
    put(target, body)
    payload = {"key": target["key"], "format": "csv", "validateAs": "mechanics"}
    answer = api.post("/api/v1/jobs/file-processing", token=token, json_body=payload)
    assert answer.status == 201, answer.text
    job = run_job(rt, "file-processing", answer.data["jobId"])
    assert job.state is JobState.COMPLETED, job.error
    result = job.result
    assert result["rowCount"] == 30
    assert result["bytes"] == len(body)
    assert result["sha256"] == hashlib.sha256(body).hexdigest()
    assert result["columns"] == ["firstName", "lastName", "email", "mobileNumber"]
    assert (result["valid"], result["invalid"]) == (28, 2)
    assert [e["row"] for e in result["errors"]] == [4, 9]
    assert result["message"] == "30 records read against mechanics: 28 valid, 2 invalid"


def test_process_file_without_a_kind_only_counts_and_refuses_foreign_keys(api, rt, token, other_tenant) -> None:
    target = upload_url(api, token, format="jsonl")
    put(target, b'{"a": 1}\n\n{"b": 2}\n')
    answer = api.post("/api/v1/jobs/file-processing", token=token, json_body={"key": target["key"], "format": "jsonl"})
    result = run_job(rt, "file-processing", answer.data["jobId"]).result
    assert (result["rowCount"], result["valid"], result["validatedAs"]) == (2, 2, None)

    # Another organisation's object is refused at the door, before any job exists.
    foreign = {"key": f"uploads/{other_tenant}/mechanics/x.csv"}
    answer = api.post("/api/v1/jobs/file-processing", token=token, json_body=foreign)
    assert answer.status == 422, answer.text
    assert answer.fields() == ["body.key"]


def test_upload_url_without_a_body_is_for_csv_and_needs_a_token(api, token, tenant) -> None:
    answer = api.post(f"{BASE}/service-providers/upload-url", token=token)
    assert answer.status == 200, answer.text
    assert answer.data["key"].startswith(f"uploads/{tenant}/service-providers/")
    assert answer.data["key"].endswith(".csv")
    assert answer.data["fields"]["Content-Type"] == "text/csv"
    assert answer.data["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256"  # SigV4, which every bucket accepts
    assert api.post(f"{BASE}/service-providers/upload-url").status == 401


def test_upload_url_is_a_presigned_post_whose_signed_policy_bounds_the_size(api, rt, token, tenant) -> None:
    target = upload_url(api, token)
    assert target["method"] == "POST"
    assert target["maxBytes"] == rt.settings.jobline_max_upload_bytes == 50 * 1024 * 1024
    policy = policy_of(target)
    # S3 checks the signed policy: a file outside the range, another key or content type is refused.
    assert ["content-length-range", 1, target["maxBytes"]] in policy["conditions"]
    assert {"key": target["key"]} in policy["conditions"]
    assert {"Content-Type": "text/csv"} in policy["conditions"]
    assert target["fields"]["key"] == target["key"]
    assert {"x-amz-signature", "x-amz-credential", "x-amz-algorithm", "policy"} <= set(target["fields"])


def test_upload_size_bound_follows_the_setting(api, rt, token) -> None:
    rt.settings = rt.settings.model_copy(update={"jobline_max_upload_bytes": 1024})
    target = upload_url(api, token, format="jsonl")
    assert target["maxBytes"] == 1024
    assert ["content-length-range", 1, 1024] in policy_of(target)["conditions"]
    assert {"Content-Type": "application/x-ndjson"} in policy_of(target)["conditions"]
