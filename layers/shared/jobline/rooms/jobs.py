"""The room-generation job type: one room per day of a range, a statement per batch, with progress."""

from __future__ import annotations

from typing import Any

from jobline.context import JobContext
from jobline.errors import UnrecoverableError
from jobline.handlers import job_type
from jobline.rooms.generation import JOB_NAME, QUEUE, date_batches, days_in, find_category, insert_rooms
from jobline.rooms.schemas import GenerateRoomsPayload


@job_type(QUEUE, JOB_NAME, payload=GenerateRoomsPayload)
def generate_rooms(payload: GenerateRoomsPayload, ctx: JobContext) -> dict[str, Any]:
    """Create one room per day of the range, one statement per batch, with progress after each."""
    # One session and one transaction per job: a commit per batch would cost a WAL flush
    # each, and a retry redoes only what is missing anyway (ON CONFLICT DO NOTHING).
    with ctx.runtime.sessions.begin() as session:
        category = find_category(session, tenant_id=ctx.tenant_id, category_id=payload.room_category_id)
        if category is None:
            raise UnrecoverableError(f"room category {payload.room_category_id} not found")
        price = payload.price_override if payload.price_override is not None else category.base_price
        batches = list(date_batches(payload.start_date, payload.end_date, payload.batch_size))
        created = 0
        for number, (first, last) in enumerate(batches, start=1):
            ctx.check_deadline()
            new = insert_rooms(
                session, tenant_id=ctx.tenant_id, category_id=category.id, first=first, last=last, price=price
            )
            created += new
            ctx.progress(
                number * 100 / len(batches), log=f"batch {number}/{len(batches)} {first}..{last}: {new} created"
            )
    total = days_in(payload.start_date, payload.end_date)
    return {
        "success": True,
        "totalRoomsCreated": created,
        "totalDatesProcessed": total,
        "errors": [],
        "message": f"{created} rooms created, {total - created} already existed",
    }
