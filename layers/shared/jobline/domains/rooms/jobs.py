"""The room-generation job type: one room per day of a range, a statement per batch, with progress."""

from __future__ import annotations

from typing import Any

from jobline.core.context import JobContext
from jobline.core.errors import UnrecoverableError
from jobline.core.registry import job_type
from jobline.domains.rooms.generation import JOB_NAME, create_rooms, find_category, generation_result
from jobline.domains.rooms.queues import ROOM_GENERATION
from jobline.domains.rooms.schemas import GenerateRoomsPayload


@job_type(ROOM_GENERATION, JOB_NAME, payload=GenerateRoomsPayload)
def generate_rooms(payload: GenerateRoomsPayload, ctx: JobContext) -> dict[str, Any]:
    """Create one room per day of the range, one statement per batch, with progress after each."""
    # One session and one transaction per job: a commit per batch would cost a WAL flush
    # each, and a retry redoes only what is missing anyway (ON CONFLICT DO NOTHING).
    with ctx.runtime.sessions.begin() as session:
        category = find_category(session, tenant_id=ctx.tenant_id, category_id=payload.room_category_id)
        if category is None:
            raise UnrecoverableError(f"room category {payload.room_category_id} not found")
        created = 0
        batches = create_rooms(
            session, tenant_id=ctx.tenant_id, category=category, payload=payload, before_batch=ctx.check_deadline
        )
        for batch in batches:
            created += batch.created
            ctx.progress(batch.number * 100 / batch.of, log=batch.log_line)
    return generation_result(payload, created=created, job_id=ctx.job_id)
