"""Bad input never gets a 500: malformed JSON, wrong types, missing fields, oversized or undecodable bodies."""

from __future__ import annotations

import base64
import json

import pytest

from jobline.api.errors import validation_items
from jobline.api.resolver import MAX_BODY_BYTES, strict_json_loads

V1 = "/api/v1"
CLEAN = f"{V1}/admin/jobs/generic-task/clean"


@pytest.mark.parametrize(
    "body",
    ["{not json", '{"grace": 1', "", "[1, 2", '{"grace": NaN}', '{"grace": Infinity}', "[" * 5000 + "]" * 5000],
    ids=["unquoted", "truncated", "empty", "open-array", "nan", "infinity", "deeply-nested"],
)
def test_malformed_json_body_answers_422_on_body(memory_api, admin_a, body: str) -> None:
    answer = memory_api.post(CLEAN, token=admin_a, body=body, headers={"Content-Type": "application/json"})
    assert answer.status == 422, answer.text
    assert answer.json["success"] is False
    assert answer.fields() == ["body"]


@pytest.mark.parametrize("body", ["[]", '"text"', "42", "null"])
def test_json_body_that_is_not_an_object_answers_422(memory_api, admin_a, body: str) -> None:
    answer = memory_api.post(CLEAN, token=admin_a, body=body, headers={"Content-Type": "application/json"})
    assert answer.status == 422
    assert answer.fields() == ["body"]


def test_wrong_field_type_answers_422_naming_field(memory_api, admin_a) -> None:
    answer = memory_api.post(CLEAN, token=admin_a, json_body={"grace": "a while"})
    assert answer.status == 422
    assert answer.json["message"] == "invalid request"
    assert answer.json["errors"][0]["field"] == "body.grace"
    assert answer.json["errors"][0]["message"]


def test_body_over_256_kib_answers_413(memory_api, job_types, user_a) -> None:
    body = json.dumps({"to": "a", "subject": "x" * MAX_BODY_BYTES})
    answer = memory_api.post(f"{V1}/jobs/email", token=user_a, body=body, headers={"Content-Type": "application/json"})
    assert answer.status == 413
    assert answer.json["success"] is False


def test_body_over_256_kib_is_refused_before_parsing(memory_api, user_a) -> None:
    answer = memory_api.post(f"{V1}/jobs/email", token=user_a, body="{" * (MAX_BODY_BYTES + 1))
    assert answer.status == 413


def test_body_just_under_the_limit_is_accepted(memory_api, job_types, user_a) -> None:
    filler = "x" * (MAX_BODY_BYTES - 100)
    answer = memory_api.post(f"{V1}/jobs/generic-task", token=user_a, json_body={"blob": filler})
    assert answer.status == 201


def test_base64_body_is_decoded_and_accepted(memory_api, admin_a) -> None:
    body = base64.b64encode(json.dumps({"grace": 0}).encode()).decode()
    answer = memory_api.post(
        CLEAN, token=admin_a, body=body, is_base64=True, headers={"Content-Type": "application/json"}
    )
    assert answer.status == 200


@pytest.mark.parametrize("body", ["***not base64***", base64.b64encode(b"\xff\xfe{").decode()])
def test_undecodable_base64_body_answers_422(memory_api, admin_a, body: str) -> None:
    answer = memory_api.post(CLEAN, token=admin_a, body=body, is_base64=True)
    assert answer.status == 422
    assert answer.fields() == ["body"]


def test_non_json_content_type_answers_415(memory_api, admin_a) -> None:
    answer = memory_api.post(CLEAN, token=admin_a, body="grace=0", headers={"Content-Type": "text/csv"})
    assert answer.status == 415
    assert answer.json["success"] is False


def test_missing_required_body_answers_422(memory_api, admin_a) -> None:
    answer = memory_api.post(CLEAN, token=admin_a)
    assert answer.status == 422
    assert answer.fields() == ["body"]


def test_strict_json_loads_reads_plain_json() -> None:
    assert strict_json_loads('{"a": [1, 2.5, null, true]}') == {"a": [1, 2.5, None, True]}


@pytest.mark.parametrize(
    ("error", "prefix", "field"),
    [
        ({"loc": ("rows", 3, "email"), "msg": "bad", "type": "value_error"}, "body.", "body.rows.3.email"),
        ({"loc": (), "msg": "give one of cron and every", "type": "value_error"}, "body.", "body"),
        ({"loc": ("body", 17), "msg": "JSON decode error", "type": "json_invalid"}, "", "body"),
        ({"loc": ("query", "end"), "msg": "too big", "type": "less_than_equal"}, "", "query.end"),
    ],
)
def test_validation_items_name_the_field_at_fault(error, prefix: str, field: str) -> None:
    [item] = validation_items([error], prefix=prefix)
    assert item.field == field


def test_multipart_body_on_public_route_answers_415(memory_api) -> None:
    headers = {"Content-Type": "multipart/form-data"}
    answer = memory_api.post(f"{V1}/waitlist/offers/accept", body='{"token": "t"}', headers=headers)
    assert answer.status == 415
    assert answer.fields() == ["header.content-type"]
