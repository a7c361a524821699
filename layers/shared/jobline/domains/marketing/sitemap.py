"""A tenant's sitemap.xml (sitemaps.org 0.9): its public pages, written to S3 under `sitemaps/<tenant>/`.

The public pages are the site's home, one page per room category, and one per waitlist
slot still open to join (available, and not yet started). A sitemap file holds at most
50,000 URLs; a bigger site gets `sitemap-<n>.xml` files and `sitemap.xml` becomes their index.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any
from xml.sax.saxutils import escape

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jobline.domains.exports import objects
from jobline.domains.rooms.tables import RoomCategory
from jobline.domains.waitlist.tables import Slot, SlotStatus

SITEMAPS = "sitemaps"
INDEX_NAME = "sitemap.xml"
# The protocol's limit per file (and 50 MB, which 50,000 of these URLs stay far below).
MAX_URLS_PER_FILE = 50_000
NAMESPACE = "http://www.sitemaps.org/schemas/sitemap/0.9"
CONTENT_TYPE = "application/xml; charset=utf-8"
FETCH_ROWS = 5_000


@dataclasses.dataclass(frozen=True)
class Page:
    """A public page: its path under the site's base URL, and when it last changed."""

    path: str
    lastmod: dt.date | None = None


def public_pages(session: Session, *, tenant_id: str, now: dt.datetime) -> list[Page]:
    """The tenant's public pages: home, room categories, open waitlist slots (one query, streamed)."""
    categories = sa.select(sa.literal("rooms"), RoomCategory.id, RoomCategory.created_at).where(
        RoomCategory.tenant_id == tenant_id
    )
    open_slots = sa.select(sa.literal("waitlist"), Slot.id, Slot.created_at).where(
        Slot.tenant_id == tenant_id,
        Slot.status == SlotStatus.AVAILABLE,
        sa.or_(Slot.starts_at.is_(None), Slot.starts_at > now),
    )
    query = sa.union_all(categories, open_slots).order_by(sa.literal_column("1"), sa.literal_column("3"))
    pages = [Page("/")]
    for batch in session.execute(query.execution_options(yield_per=FETCH_ROWS)).partitions():
        pages.extend(Page(f"/{area}/{row_id}", created.date()) for area, row_id, created in batch)
    return pages


def urlset(base_url: str, pages: Iterable[Page]) -> bytes:
    """One sitemap file listing `pages` under `base_url`."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<urlset xmlns="{NAMESPACE}">']
    for page in pages:
        lastmod = f"<lastmod>{page.lastmod.isoformat()}</lastmod>" if page.lastmod else ""
        lines.append(f"  <url><loc>{escape(base_url + page.path)}</loc>{lastmod}</url>")
    lines.append("</urlset>\n")
    return "\n".join(lines).encode()


def sitemap_index(base_url: str, names: Sequence[str], *, lastmod: dt.date) -> bytes:
    """The index file pointing at each sitemap file, published beside it at `base_url`."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<sitemapindex xmlns="{NAMESPACE}">']
    for name in names:
        lines.append(f"  <sitemap><loc>{escape(f'{base_url}/{name}')}</loc><lastmod>{lastmod}</lastmod></sitemap>")
    lines.append("</sitemapindex>\n")
    return "\n".join(lines).encode()


def files(base_url: str, pages: Sequence[Page], *, today: dt.date) -> dict[str, bytes]:
    """File name → content: `sitemap.xml` alone, or it as the index of `sitemap-<n>.xml` files."""
    if len(pages) <= MAX_URLS_PER_FILE:
        return {INDEX_NAME: urlset(base_url, pages)}
    chunks = [pages[i : i + MAX_URLS_PER_FILE] for i in range(0, len(pages), MAX_URLS_PER_FILE)]
    parts = {f"sitemap-{n}.xml": urlset(base_url, chunk) for n, chunk in enumerate(chunks, start=1)}
    return {**parts, INDEX_NAME: sitemap_index(base_url, list(parts), lastmod=today)}


def publish(s3: Any, *, bucket: str, tenant_id: str, written: dict[str, bytes]) -> list[str]:
    """Write the files under the tenant's prefix (the index last) and remove parts a bigger site left."""
    prefix = objects.tenant_prefix(SITEMAPS, tenant_id)
    keys = []
    for name, body in written.items():
        s3.put_object(Bucket=bucket, Key=f"{prefix}{name}", Body=body, ContentType=CONTENT_TYPE)
        keys.append(f"{prefix}{name}")
    listed = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}sitemap-")
    stale = [o["Key"] for page in listed for o in page.get("Contents", []) if o["Key"] not in keys]
    for start in range(0, len(stale), 1_000):  # DeleteObjects takes a thousand keys at a time
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in stale[start : start + 1_000]]})
    return keys
