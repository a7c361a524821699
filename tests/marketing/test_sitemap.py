"""update-sitemap: the tenant's public pages in a sitemap.xml on S3, split with an index past 50,000 URLs."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
import xml.etree.ElementTree as ET

import sqlalchemy as sa

from jobline.core.job import Job
from jobline.core.states import JobState
from jobline.domains.marketing import sitemap
from jobline.domains.rooms.tables import RoomCategory
from jobline.domains.waitlist.tables import Slot, SlotStatus
from jobline.engine.enqueue import enqueue
from jobline.runtime import Runtime
from tests.bulk.helpers import run_job

NS = {"sm": sitemap.NAMESPACE}


def add_category(rt: Runtime, tenant: str, name: str) -> str:
    with rt.sessions() as session, session.begin():
        return str(
            session.execute(
                sa.insert(RoomCategory)
                .values(tenant_id=tenant, name=name, base_price=decimal.Decimal("99"))
                .returning(RoomCategory.id)
            ).scalar_one()
        )


def add_slot(rt: Runtime, tenant: str, status: SlotStatus, *, starts_in_hours: float | None) -> str:
    starts_at = None if starts_in_hours is None else rt.clock() + dt.timedelta(hours=starts_in_hours)
    with rt.sessions() as session, session.begin():
        return str(
            session.execute(
                sa.insert(Slot)
                .values(tenant_id=tenant, name="Table for two", hold_minutes=30, status=status, starts_at=starts_at)
                .returning(Slot.id)
            ).scalar_one()
        )


def update(rt: Runtime, tenant: str, data: dict | None = None) -> Job:
    queued = enqueue(rt, queue="scheduled", name="update-sitemap", data=data or {}, tenant_id=tenant)
    return run_job(rt, "scheduled", queued.job.id)


def locs(rt: Runtime, key: str) -> list[str]:
    body = rt.client("s3").get_object(Bucket=rt.settings.jobline_bucket, Key=key)["Body"].read()
    return [loc.text or "" for loc in ET.fromstring(body).iterfind(".//sm:loc", NS)]


def test_update_sitemap_lists_home_categories_and_open_slots_of_the_tenant_only(rt: Runtime, tenant: str) -> None:
    deluxe = add_category(rt, tenant, "Deluxe")
    open_slot = add_slot(rt, tenant, SlotStatus.AVAILABLE, starts_in_hours=48)
    undated = add_slot(rt, tenant, SlotStatus.AVAILABLE, starts_in_hours=None)
    add_slot(rt, tenant, SlotStatus.BOOKED, starts_in_hours=48)
    add_slot(rt, tenant, SlotStatus.AVAILABLE, starts_in_hours=-1)
    add_category(rt, f"{tenant}-other", "Theirs")

    job = update(rt, tenant)

    assert job.state is JobState.COMPLETED, job.error
    base = f"https://www.jobline.local/{tenant}"
    assert job.result["key"] == f"sitemaps/{tenant}/sitemap.xml"
    assert job.result["baseUrl"] == base
    assert job.result["urlCount"] == 4
    assert sorted(locs(rt, job.result["key"])) == sorted(
        [f"{base}/", f"{base}/rooms/{deluxe}", f"{base}/waitlist/{open_slot}", f"{base}/waitlist/{undated}"]
    )
    head = rt.client("s3").head_object(Bucket=rt.settings.jobline_bucket, Key=job.result["key"])
    assert head["ContentType"] == sitemap.CONTENT_TYPE
    assert job.result["downloadUrl"].startswith("http")


def test_update_sitemap_uses_the_base_url_the_job_gives(rt: Runtime, tenant: str) -> None:
    category = add_category(rt, tenant, "Suite")

    job = update(rt, tenant, {"baseUrl": "https://hotel.example/"})

    assert sorted(locs(rt, job.result["key"])) == ["https://hotel.example/", f"https://hotel.example/rooms/{category}"]


def test_more_than_fifty_thousand_pages_become_parts_under_an_index() -> None:
    pages = [sitemap.Page(f"/rooms/{uuid.uuid4()}") for _ in range(sitemap.MAX_URLS_PER_FILE + 1)]

    written = sitemap.files("https://s.example", pages, today=dt.date(2030, 1, 1))

    assert list(written) == ["sitemap-1.xml", "sitemap-2.xml", "sitemap.xml"]
    index = ET.fromstring(written["sitemap.xml"])
    assert index.tag == f"{{{sitemap.NAMESPACE}}}sitemapindex"
    assert [loc.text for loc in index.iterfind(".//sm:loc", NS)] == [
        "https://s.example/sitemap-1.xml",
        "https://s.example/sitemap-2.xml",
    ]
    assert len(ET.fromstring(written["sitemap-2.xml"]).findall("sm:url", NS)) == 1


def test_publishing_a_smaller_sitemap_removes_the_parts_a_bigger_one_left(rt: Runtime, tenant: str) -> None:
    s3 = rt.client("s3")
    bucket = rt.settings.jobline_bucket
    sitemap.publish(
        s3, bucket=bucket, tenant_id=tenant, written={"sitemap-1.xml": b"a", "sitemap-2.xml": b"b", "sitemap.xml": b"i"}
    )

    keys = sitemap.publish(s3, bucket=bucket, tenant_id=tenant, written={"sitemap.xml": b"<urlset/>"})

    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"sitemaps/{tenant}/")
    assert [o["Key"] for o in listed["Contents"]] == keys == [f"sitemaps/{tenant}/sitemap.xml"]


def test_urls_are_escaped_in_the_xml() -> None:
    body = sitemap.urlset("https://s.example/a&b", [sitemap.Page("/", dt.date(2030, 1, 2))])

    assert b"<loc>https://s.example/a&amp;b/</loc><lastmod>2030-01-02</lastmod>" in body
