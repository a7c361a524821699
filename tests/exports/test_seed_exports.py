"""The seeds' exports: seed 001's data-export (leads, bookings, users in csv, excel, pdf) and seed
002's export queue (bookings-csv, users-csv, revenue-pdf), on moto S3 and the real Postgres."""

from __future__ import annotations

import datetime as dt
import io
import socket
import zipfile
from collections.abc import Iterator

import pytest
import redis

from jobline.api import app as app_module
from jobline.core.states import JobState
from jobline.domains.waitlist.tables import EntryStatus
from jobline.store.redis import RedisJobStore
from jobline_dev.support import make_runtime
from tests.api.helpers import Client
from tests.bulk.helpers import mechanic, upload
from tests.exports.helpers import (
    EXPORT,
    EXPORT_QUEUE_JOBS,
    add_export_job,
    book,
    export,
    pdf_page_count,
    pdf_text,
    read_csv,
    read_object,
    rooms_for,
    waitlist,
    xlsx_rows,
)

START = dt.date.today() + dt.timedelta(days=30)


@pytest.fixture
def people(api, rt, token, tenant, other_tenant) -> None:
    """Two mechanics and a service provider (uploaded), and waitlist contacts in two slots."""
    upload(api, rt, token, "mechanics", [mechanic(1), mechanic(2)])
    upload(api, rt, token, "service-providers", [{"name": "Fix It Ltd", "email": "desk@fixit.example"}])
    waitlist(
        rt,
        tenant,
        "Saturday class",
        ("Ann Lee", "ann@example.com", EntryStatus.WAITING),
        ("Bo Chan", "+14155550100", EntryStatus.OFFERED),
        ("Cy Dorn", "cy@example.com", EntryStatus.DECLINED),
    )
    # Ann again, in another slot: one customer still.
    waitlist(rt, tenant, "Sunday class", ("Ann Lee", "ann@example.com", EntryStatus.ACCEPTED))
    waitlist(rt, other_tenant, "Elsewhere", ("Eve", "eve@example.com", EntryStatus.WAITING))


def test_seed_001_leads_export_as_written_keeps_the_active_waitlist_entries(api, rt, token, tenant, people) -> None:
    job = export(api, rt, token, subAccountId=tenant, exportType="leads", format="csv", filters={"status": "active"})
    assert job.state is JobState.COMPLETED, job.error
    rows = read_csv(rt, job.result["key"])
    assert rows[0] == ["id", "name", "channel", "contact", "priority", "status", "slotId", "slotName", "createdAt"]
    assert [(r[1], r[2], r[3], r[5], r[7]) for r in rows[1:]] == [
        ("Ann Lee", "email", "ann@example.com", "waiting", "Saturday class"),
        ("Bo Chan", "sms", "+14155550100", "offered", "Saturday class"),
    ]
    assert job.result["rowCount"] == 2
    assert job.result["filters"] == {"status": "active"}
    assert job.result["key"].endswith(".csv")


def test_users_export_lists_the_tenants_people_with_their_roles(api, rt, token, people) -> None:
    result = export(api, rt, token, exportType="users", columns=["role", "name", "email", "phone"]).result
    rows = read_csv(rt, result["key"])
    assert sorted(rows[1:]) == [
        ["customer", "Ann Lee", "ann@example.com", ""],
        ["customer", "Bo Chan", "", "+14155550100"],
        ["customer", "Cy Dorn", "cy@example.com", ""],
        ["mechanic", "First1 Last1", "m1@garage.example", "+44 20 7946 0958"],
        ["mechanic", "First2 Last2", "m2@garage.example", "+44 20 7946 0958"],
        ["service-provider", "Fix It Ltd", "desk@fixit.example", ""],
    ]


def test_bookings_export_in_excel_holds_the_booked_rooms_as_confirmed(api, rt, token, tenant, other_tenant) -> None:
    deluxe = rooms_for(rt, tenant, "Deluxe", START, 5)
    book(rt, deluxe, START, START + dt.timedelta(days=3))
    book(rt, rooms_for(rt, other_tenant, "Deluxe", START, 5), START)
    job = export(
        api, rt, token, subAccountId=tenant, exportType="bookings", format="excel", filters={"status": "confirmed"}
    )
    assert job.state is JobState.COMPLETED, job.error
    result = job.result
    assert result["key"] == f"exports/{tenant}/{job.id}.xlsx"
    assert result["format"] == "excel"
    assert result["rowCount"] == 2
    rows = xlsx_rows(read_object(rt, result["key"]))
    assert rows[0] == ["id", "roomCategoryId", "categoryName", "date", "price", "status", "createdAt"]
    assert [(r[2], r[3], r[4], r[5]) for r in rows[1:]] == [
        ("Deluxe", START.isoformat(), "120.50", "confirmed"),
        ("Deluxe", (START + dt.timedelta(days=3)).isoformat(), "120.50", "confirmed"),
    ]
    head = rt.client("s3").head_object(Bucket=rt.settings.jobline_bucket, Key=result["key"])
    assert head["ContentType"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "filename%3D%22bookings-" in result["downloadUrl"] and ".xlsx" in result["downloadUrl"]


def test_excel_cells_are_strings_never_formulas(api, rt, token) -> None:
    upload(api, rt, token, "mechanics", [mechanic(1, firstName="=HYPERLINK(evil)")])
    result = export(api, rt, token, exportType="mechanics", format="excel", columns=["firstName"]).result
    with zipfile.ZipFile(io.BytesIO(read_object(rt, result["key"]))) as book_file:
        sheet = book_file.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet
    assert xlsx_rows(read_object(rt, result["key"]))[1] == ["=HYPERLINK(evil)"]


def test_users_export_in_pdf_holds_a_row_per_person(api, rt, token, people) -> None:
    job = export(api, rt, token, exportType="users", format="pdf", filters={"role": "customer"})
    assert job.state is JobState.COMPLETED, job.error
    data = read_object(rt, job.result["key"])
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    assert "users" in text  # the title
    assert "users - page 1" in text  # the footer
    assert any(line.startswith("id role name email phone createdAt") for line in text)
    named = [line for line in text if " customer " in line]
    assert len(named) == 3
    assert any("Bo Chan" in line and "+14155550100" in line for line in named)
    assert not any("mechanic" in line for line in text)
    assert job.result["rowCount"] == 3


def test_a_pdf_export_runs_onto_many_pages_repeating_the_header(api, rt, token, tenant) -> None:
    waitlist(rt, tenant, "Big class", *[(f"Person {n}", f"p{n}@example.com", EntryStatus.WAITING) for n in range(300)])
    result = export(api, rt, token, exportType="leads", format="pdf", columns=["name", "contact"]).result
    data = read_object(rt, result["key"])
    pages = pdf_page_count(data)
    assert pages >= 5
    text = pdf_text(data)
    assert sum(1 for line in text if line == "name contact") == pages
    assert {f"Person {n} p{n}@example.com" for n in range(300)} <= set(text)


def test_seed_002_bookings_csv_added_by_name_on_the_export_queue(api, rt, token, tenant) -> None:
    suite = rooms_for(rt, tenant, "Suite", START, 3, price="200.00")
    book(rt, suite, START + dt.timedelta(days=1))
    job = add_export_job(api, rt, token, "bookings-csv", {"filters": {"status": "confirmed"}})
    assert (job.queue, job.name, job.state) == ("export", "bookings-csv", JobState.COMPLETED), job.error
    rows = read_csv(rt, job.result["key"])
    assert [(r[2], r[3], r[4], r[5]) for r in rows[1:]] == [
        ("Suite", (START + dt.timedelta(days=1)).isoformat(), "200.00", "confirmed")
    ]
    assert job.result["exportType"] == "bookings"
    assert job.result["downloadUrl"]


def test_seed_002_bookings_csv_with_options_and_empty_filters(api, rt, token) -> None:
    job = add_export_job(
        api,
        rt,
        token,
        "bookings-csv",
        {"filters": {}},
        {"priority": 1, "attempts": 5, "backoff": {"type": "exponential", "delay": 5000}},
    )
    assert job.state is JobState.COMPLETED, job.error
    assert (job.priority, job.max_attempts) == (1, 5)
    assert read_csv(rt, job.result["key"]) == [
        ["id", "roomCategoryId", "categoryName", "date", "price", "status", "createdAt"]
    ]


def test_seed_002_users_csv_keeps_the_customers(api, rt, token, people) -> None:
    job = add_export_job(api, rt, token, "users-csv", {"filters": {"role": "customer"}})
    assert job.state is JobState.COMPLETED, job.error
    rows = read_csv(rt, job.result["key"])
    assert sorted(r[2] for r in rows[1:]) == ["Ann Lee", "Bo Chan", "Cy Dorn"]
    assert {r[1] for r in rows[1:]} == {"customer"}


def test_seed_002_revenue_pdf_adds_up_the_booked_rooms_of_the_period(api, rt, token, tenant, other_tenant) -> None:
    year = START.year + 1
    first = dt.date(year, 1, 30)
    deluxe = rooms_for(rt, tenant, "Deluxe", first, 5, price="100.00")  # Jan 30 - Feb 3
    suite = rooms_for(rt, tenant, "Suite", first, 5, price="250.25")
    book(rt, deluxe, first, first + dt.timedelta(days=1), first + dt.timedelta(days=3))  # 2 in Jan, 1 in Feb
    book(rt, suite, first + dt.timedelta(days=4))  # Feb 3: outside the period below
    book(rt, rooms_for(rt, other_tenant, "Deluxe", first, 5, price="999.00"), first)
    job = add_export_job(
        api,
        rt,
        token,
        "revenue-pdf",
        {"startDate": f"{year}-01-01T00:00:00.000Z", "endDate": f"{year}-02-02T00:00:00.000Z"},
    )
    assert job.state is JobState.COMPLETED, job.error
    result = job.result
    assert (result["startDate"], result["endDate"]) == (f"{year}-01-01", f"{year}-02-02")
    assert (result["bookings"], result["revenue"]) == (3, "300.00")
    data = read_object(rt, result["key"])
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    assert "Revenue report" in text
    assert "Booked rooms: 3    Revenue: 300.00" in text
    assert f"{year}-01 2 200.00" in text
    assert f"{year}-02 1 100.00" in text
    assert "Deluxe 3 300.00" in text
    assert not any(line.startswith("Suite") for line in text)


def test_revenue_pdf_of_a_period_without_bookings_lists_its_months_at_zero(api, rt, token) -> None:
    year = START.year + 2
    job = add_export_job(api, rt, token, "revenue-pdf", {"startDate": f"{year}-03-15", "endDate": f"{year}-05-01"})
    assert (job.result["bookings"], job.result["revenue"]) == (0, "0.00")
    text = pdf_text(read_object(rt, job.result["key"]))
    assert [line for line in text if line.startswith(f"{year}-")] == [
        f"{year}-03 0 0.00",
        f"{year}-04 0 0.00",
        f"{year}-05 0 0.00",
    ]
    assert "No booked rooms in this period." in text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "bookings-csv", "data": {"filters": {"role": "customer"}}}, "data.filters.role"),
        ({"name": "bookings-csv", "data": {"filters": {"status": "pending"}}}, "data.filters.status"),
        ({"name": "users-csv", "data": {"filters": {"role": "admin"}}}, "data.filters.role"),
        ({"name": "users-csv", "data": {"exportType": "rooms"}}, "data.exportType"),
        ({"name": "revenue-pdf", "data": {"startDate": "2027-02-01T00:00:00.000Z"}}, "data.endDate"),
        (
            {"name": "revenue-pdf", "data": {"startDate": "2027-02-01T00:00:00Z", "endDate": "2027-01-01T00:00:00Z"}},
            "data.endDate",
        ),
        ({"name": "revenue-pdf", "data": {"startDate": "soon", "endDate": "2027-01-01"}}, "data.startDate"),
        ({"name": "orders-csv", "data": {}}, "body.name"),
    ],
)
def test_bad_export_queue_jobs_are_422_naming_the_field(api, token, body, field) -> None:
    answer = api.post(EXPORT_QUEUE_JOBS, token=token, json_body=body)
    assert answer.status == 422, answer.text
    assert any(field in (named or "") for named in answer.fields()), answer.json


def test_another_tenants_sub_account_is_refused(api, token, other_tenant) -> None:
    answer = api.post(EXPORT, token=token, json_body={"subAccountId": other_tenant, "exportType": "leads"})
    assert answer.status == 403, answer.text


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the block ends: nothing listens there


@pytest.fixture
def store_down_api(aws, database_url, rt) -> Iterator[Client]:
    """The API on moto and Postgres whose Redis job store nothing answers (the bucket is `rt`'s)."""
    client = redis.Redis.from_url(f"redis://127.0.0.1:{_closed_port()}/0", socket_connect_timeout=0.2)
    runtime = make_runtime(RedisJobStore(client, prefix="down:"), database_url=database_url)
    runtime.settings = runtime.settings.model_copy(update={"jobline_bucket": rt.settings.jobline_bucket})
    yield Client(app_module.create_app(lambda: runtime).resolve)
    runtime.engine.dispose()


def test_seed_002_bookings_csv_runs_in_the_request_when_the_job_store_is_down(
    store_down_api, rt, token, tenant
) -> None:
    """The seed's exportBookingsCSVAsync falls back to a synchronous export: so does the queue's route."""
    book(rt, rooms_for(rt, tenant, "Loft", START, 2, price="80.00"), START)
    answer = store_down_api.post(
        EXPORT_QUEUE_JOBS, token=token, json_body={"name": "bookings-csv", "data": {"filters": {"status": "confirmed"}}}
    )
    assert answer.status == 200, answer.text
    assert answer.json["sync"] is True
    result = answer.data["result"]
    assert result["rowCount"] == 1
    assert [(r[2], r[4], r[5]) for r in read_csv(rt, result["key"])[1:]] == [("Loft", "80.00", "confirmed")]
