"""Helpers of the export tests: tenant data to export, enqueue through the API, run the job, and read
the file back from S3 as CSV rows, Excel rows (from the xlsx's XML) or PDF text."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import re
import zipfile
import zlib
from typing import Any
from xml.etree import ElementTree

import sqlalchemy as sa

from jobline.core.job import Job
from jobline.domains.rooms import service
from jobline.domains.rooms.schemas import RoomCategoryCreate, RoomGenerationRequest
from jobline.domains.rooms.tables import Room, RoomCategory, RoomStatus
from jobline.domains.waitlist.tables import Channel, Entry, EntryStatus, Slot, SlotStatus
from jobline.runtime import Runtime
from tests.bulk.helpers import run_job

EXPORT = "/api/v1/jobs/data-export"
EXPORT_QUEUE_JOBS = "/api/v1/queues/export/jobs"


def export(api: Any, rt: Runtime, token: str, **payload: Any) -> Job:
    """POST an export, run it; the job as recorded."""
    answer = api.post(EXPORT, token=token, json_body=payload)
    assert answer.status == 201, answer.text
    return run_job(rt, "data-export", answer.data["jobId"])


def add_export_job(api: Any, rt: Runtime, token: str, name: str, data: dict[str, Any], opts: Any = None) -> Job:
    """Seed 002's `addExportJob(name, data, opts)` over HTTP, then run it; the job as recorded."""
    body: dict[str, Any] = {"name": name, "data": data}
    if opts is not None:
        body["opts"] = opts
    answer = api.post(EXPORT_QUEUE_JOBS, token=token, json_body=body)
    assert answer.status == 201, answer.text
    return run_job(rt, "export", answer.data["jobId"])


def read_object(rt: Runtime, key: str) -> bytes:
    return rt.client("s3").get_object(Bucket=rt.settings.jobline_bucket, Key=key)["Body"].read()


def read_csv(rt: Runtime, key: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(read_object(rt, key).decode())))


_SHEET = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def xlsx_rows(data: bytes) -> list[list[str]]:
    """The first sheet's rows as text (no xlsx reader is installed: the sheet's XML is read
    directly; constant_memory mode writes every string inline)."""
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        assert book.testzip() is None
        names = set(book.namelist())
        assert {"[Content_Types].xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml"} <= names
        sheet = ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml"))
    rows = []
    for row in sheet.iter(f"{_SHEET}row"):
        cells: list[str] = []
        for cell in row.iter(f"{_SHEET}c"):
            column = re.match(r"[A-Z]+", cell.get("r", "")).group(0)  # type: ignore[union-attr]
            index = sum((ord(c) - 64) * 26**i for i, c in enumerate(reversed(column))) - 1
            cells.extend([""] * (index - len(cells)))
            cells.append("".join(t.text or "" for t in cell.iter(f"{_SHEET}t")))
        rows.append(cells)
    return rows


def pdf_objects(data: bytes) -> dict[int, int]:
    """Object number → byte offset, from the cross-reference table (which must point at each object)."""
    assert data.startswith(b"%PDF-1.") and data.rstrip().endswith(b"%%EOF")
    xref_at = int(re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", data).group(1))  # type: ignore[union-attr]
    assert data[xref_at:].startswith(b"xref")
    head = re.match(rb"xref\s+0 (\d+)\s+", data[xref_at:])
    assert head is not None
    entries = re.findall(rb"(\d{10}) (\d{5}) ([nf]) ", data[xref_at + head.end() :])[: int(head.group(1))]
    offsets = {n: int(offset) for n, (offset, _, kind) in enumerate(entries) if kind == b"n"}
    for number, offset in offsets.items():
        assert data[offset:].startswith(b"%d 0 obj" % number), number
    return offsets


def pdf_text(data: bytes) -> list[str]:
    """The text of every page, one string per line of text drawn (cells at one height joined by a
    space), pages in order, content streams inflated."""
    pdf_objects(data)
    shown: list[str] = []
    for stream in re.findall(rb"/FlateDecode >>\nstream\n(.*?)\nendstream", data, re.S):
        lines: dict[bytes, list[str]] = {}
        for y, text in re.findall(rb"BT [0-9.]+ ([0-9.]+) Td \(((?:\\.|[^\\)])*)\) Tj ET", zlib.decompress(stream)):
            lines.setdefault(y, []).append(re.sub(rb"\\(.)", rb"\1", text).decode("latin-1"))
        shown.extend(" ".join(cells) for cells in lines.values())
    return shown


def pdf_page_count(data: bytes) -> int:
    return int(re.search(rb"/Type /Pages /Kids \[[^\]]*\] /Count (\d+)", data).group(1))  # type: ignore[union-attr]


def rooms_for(rt: Runtime, tenant: str, name: str, start: dt.date, days: int, price: str = "120.50") -> RoomCategory:
    """A room category with one room per day from `start`, generated as the room jobs do."""
    category = service.create_category(
        rt, RoomCategoryCreate(name=name, basePrice=decimal.Decimal(price)), tenant_id=tenant
    )
    request = RoomGenerationRequest(
        roomCategoryId=category.id, startDate=start, endDate=start + dt.timedelta(days=days - 1)
    )
    assert service.request_generation(rt, request, tenant_id=tenant).kind == "completed"
    return category


def book(rt: Runtime, category: Any, *days: dt.date, price: str | None = None) -> None:
    """Book the category's rooms of these days (at `price`, if given)."""
    values: dict[str, Any] = {"status": RoomStatus.BOOKED}
    if price is not None:
        values["price"] = decimal.Decimal(price)
    with rt.sessions.begin() as session:
        session.execute(sa.update(Room).where(Room.category_id == category.id, Room.date.in_(days)).values(**values))


def waitlist(rt: Runtime, tenant: str, slot_name: str, *people: tuple[str, str, EntryStatus]) -> Slot:
    """A slot and its entries: (name, e-mail address or phone number, status) each, in joining order."""
    with rt.sessions.begin() as session:
        slot = Slot(tenant_id=tenant, name=slot_name, hold_minutes=30, status=SlotStatus.BOOKED)
        session.add(slot)
        session.flush()
        for priority, (name, contact, status) in enumerate(people):
            channel = Channel.EMAIL if "@" in contact else Channel.SMS
            session.add(
                Entry(
                    tenant_id=tenant,
                    slot_id=slot.id,
                    name=name,
                    channel=channel,
                    recipient=contact,
                    priority=priority,
                    status=status,
                )
            )
            session.flush()
        session.expunge(slot)
    return slot
