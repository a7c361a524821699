"""Data exports: tenant rows streamed from Postgres to a CSV in S3, filters and columns honoured, bad input refused."""

from __future__ import annotations

import datetime as dt

import pytest
import requests
import sqlalchemy as sa

from jobline.core.states import JobState
from jobline.domains.rooms.tables import Room
from tests.bulk.helpers import mechanic, upload
from tests.exports.helpers import EXPORT, book, export, read_csv, rooms_for

START = dt.date.today() + dt.timedelta(days=30)


def test_rooms_export_writes_the_tenants_rows_with_filters_and_columns(api, rt, token, tenant, other_tenant) -> None:
    deluxe = rooms_for(rt, tenant, "Deluxe", START, 10)
    rooms_for(rt, other_tenant, "Deluxe", START, 10, price="999.00")
    book(rt, deluxe, START + dt.timedelta(days=2), START + dt.timedelta(days=3), START + dt.timedelta(days=8))
    filters = {"dateFrom": START.isoformat(), "dateTo": (START + dt.timedelta(days=5)).isoformat(), "status": "booked"}
    job = export(
        api,
        rt,
        token,
        exportType="rooms",
        format="csv",
        filters=filters,
        columns=["date", "categoryName", "price", "status"],
    )
    assert job.state is JobState.COMPLETED, job.error
    result = job.result
    assert result["rowCount"] == 2
    assert result["key"] == f"exports/{tenant}/{job.id}.csv"
    assert read_csv(rt, result["key"]) == [
        ["date", "categoryName", "price", "status"],
        [(START + dt.timedelta(days=2)).isoformat(), "Deluxe", "120.50", "booked"],
        [(START + dt.timedelta(days=3)).isoformat(), "Deluxe", "120.50", "booked"],
    ]
    assert result["columns"] == ["date", "categoryName", "price", "status"]
    assert result["filters"] == filters
    assert result["parts"] == 0  # one small object: a single PutObject


def test_rooms_export_without_columns_writes_every_allowed_column_of_only_this_tenant(
    api, rt, token, tenant, other_tenant
) -> None:
    rooms_for(rt, tenant, "Suite", START, 3)
    rooms_for(rt, other_tenant, "Suite", START, 5)
    result = export(api, rt, token, exportType="rooms").result
    rows = read_csv(rt, result["key"])
    assert rows[0] == ["id", "roomCategoryId", "categoryName", "date", "price", "status", "createdAt"]
    assert len(rows) == 4
    assert result["rowCount"] == 3
    with rt.sessions() as session:
        mine = {str(i) for i in session.scalars(sa.select(Room.id).where(Room.tenant_id == tenant))}
    assert {r[0] for r in rows[1:]} == mine


def test_mechanics_export_links_to_the_csv_for_an_hour(api, rt, token, tenant, other_token) -> None:
    upload(api, rt, token, "mechanics", [mechanic(2), mechanic(1, firstName="=HYPERLINK(evil)"), mechanic(3)])
    upload(api, rt, other_token, "mechanics", [mechanic(9)])
    before = dt.datetime.now(dt.UTC)
    job = export(api, rt, token, exportType="mechanics", columns=["email", "firstName", "mobileNumber"])
    result = job.result
    assert result["rowCount"] == 3
    rows = read_csv(rt, result["key"])
    assert rows[0] == ["email", "firstName", "mobileNumber"]
    assert sorted(rows[1:]) == [
        ["m1@garage.example", "'=HYPERLINK(evil)", "+44 20 7946 0958"],  # a formula defused; a phone number not
        ["m2@garage.example", "First2", "+44 20 7946 0958"],
        ["m3@garage.example", "First3", "+44 20 7946 0958"],
    ]
    expires = dt.datetime.fromisoformat(result["expiresAt"])
    assert dt.timedelta(minutes=59) < expires - before < dt.timedelta(minutes=61)
    assert "X-Amz-Expires=3600" in result["downloadUrl"]
    download = requests.get(result["downloadUrl"], timeout=10)
    assert download.status_code == 200
    assert download.content.decode().splitlines()[0] == "email,firstName,mobileNumber"
    # The job and its file are the caller's only.
    assert api.get(f"/api/v1/jobs/data-export/{job.id}/status", token=other_token).status == 404


def test_created_range_and_policy_type_filters_apply(api, rt, token, tenant) -> None:
    upload(
        api,
        rt,
        token,
        "policies",
        [
            {"policyNumber": "P-1", "type": "fire"},
            {"policyNumber": "P-2", "type": "flood"},
            {"policyNumber": "P-3", "type": "fire"},
        ],
    )
    fire = export(api, rt, token, exportType="policies", filters={"type": "fire"}, columns=["policyNumber"]).result
    assert sorted(read_csv(rt, fire["key"])[1:]) == [["P-1"], ["P-3"]]
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    none = export(api, rt, token, exportType="policies", filters={"createdFrom": future}).result
    assert none["rowCount"] == 0
    assert read_csv(rt, none["key"]) == [["id", "policyNumber", "type", "createdAt", "updatedAt"]]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"exportType": "customers"}, "body.exportType"),
        ({}, "body.exportType"),
        ({"exportType": "mechanics", "columns": ["email", "password"]}, "body.columns"),
        ({"exportType": "mechanics", "columns": ["email", "email"]}, "body.columns"),
        ({"exportType": "mechanics", "columns": []}, "body.columns"),
        ({"exportType": "rooms", "columns": ["organisationId"]}, "body.columns"),
        ({"exportType": "mechanics", "filters": {"status": "booked"}}, "body.filters.status"),
        ({"exportType": "rooms", "filters": {"status": "sold"}}, "body.filters.status"),
        ({"exportType": "rooms", "filters": {"tenantId": "other"}}, "body.filters.tenantId"),
        ({"exportType": "rooms", "filters": {"dateFrom": "2027-02-01", "dateTo": "2027-01-01"}}, "body.filters"),
        ({"exportType": "rooms", "format": "xlsx"}, "body.format"),
        ({"exportType": "users", "filters": {"status": "active"}}, "body.filters.status"),
        ({"exportType": "users", "filters": {"role": "admin"}}, "body.filters.role"),
        ({"exportType": "leads", "filters": {"status": "confirmed"}}, "body.filters.status"),
        ({"exportType": "bookings", "filters": {"status": "cancelled"}}, "body.filters.status"),
        ({"exportType": "bookings", "filters": {"role": "customer"}}, "body.filters.role"),
        ({"exportType": "leads", "filters": {"color": "red"}}, "body.filters.color"),
        ({"exportType": "leads", "userId": "u\x00"}, "body.userId"),
    ],
)
def test_bad_export_requests_are_422_at_enqueue(api, rt, token, payload, field) -> None:
    answer = api.post(EXPORT, token=token, json_body=payload)
    assert answer.status == 422, answer.text
    assert field in answer.fields()
    assert rt.transport._sqs is not None


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("@cmd", "'@cmd"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("\tTAB", "'\tTAB"),
        ("+44 20 7946 0958", "+44 20 7946 0958"),
        ("-12.50", "-12.50"),
        ("plain", "plain"),
        ("", ""),
        (None, None),
    ],
)
def test_cells_a_spreadsheet_would_run_as_formulas_are_defused(cell, written) -> None:
    from jobline.domains.exports.formats import defuse

    assert defuse(cell) == written
