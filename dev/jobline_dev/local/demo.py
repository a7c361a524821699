"""Demo data for the local stack (a tenant with a room category) and housekeeping of its Redis keys."""

from __future__ import annotations

import dataclasses
import decimal
import logging
import uuid
from collections.abc import Mapping

from jobline_dev.local.console import LOGGER

log = logging.getLogger(LOGGER)

# The tenant `python -m jobline_dev.devtoken` (and so `make token`) puts in its tokens by default.
DEMO_TENANT = "tenant-local"
DEMO_CATEGORY = "Demo room"
DEMO_PRICE = decimal.Decimal("100.00")


@dataclasses.dataclass(frozen=True)
class DemoData:
    tenant_id: str
    category_id: uuid.UUID
    category_name: str


def seed(tenant_id: str = DEMO_TENANT) -> DemoData:
    """Create the demo room category for `tenant_id`, or find it when an earlier run made it."""
    import sqlalchemy as sa

    from jobline.domains.rooms import service
    from jobline.domains.rooms.schemas import RoomCategoryCreate
    from jobline.domains.rooms.tables import RoomCategory
    from jobline.runtime import get_runtime

    runtime = get_runtime()
    try:
        body = RoomCategoryCreate.model_validate({"name": DEMO_CATEGORY, "basePrice": DEMO_PRICE})
        category_id = service.create_category(runtime, body, tenant_id=tenant_id).id
    except service.CategoryExists:
        with runtime.sessions() as session:
            category_id = session.scalars(
                sa.select(RoomCategory.id).where(
                    RoomCategory.tenant_id == tenant_id, RoomCategory.name == DEMO_CATEGORY
                )
            ).one()
    log.info("demo data: room category %r (%s) in tenant %s", DEMO_CATEGORY, category_id, tenant_id)
    return DemoData(tenant_id=tenant_id, category_id=category_id, category_name=DEMO_CATEGORY)


def clear_redis_prefix(environment: Mapping[str, str]) -> int:
    """Delete the stack's own Redis job-store keys, so Redis starts as empty as moto's table does."""
    import redis

    url = environment.get("JOBLINE_REDIS_URL") or "redis://127.0.0.1:6379/0"
    prefix = environment.get("JOBLINE_REDIS_PREFIX")
    if not prefix:
        return 0
    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        return len(keys)
    finally:
        client.close()
