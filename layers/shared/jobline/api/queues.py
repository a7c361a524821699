"""Queue stats for any signed-in user (the bulk-upload pages poll these), and the helpers
the other routers share: queue-name checks and tenant-scoped stats of several queues."""

from __future__ import annotations

from collections.abc import Iterable

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from jobline import operations
from jobline.api import deps
from jobline.api.envelope import Envelope, responses
from jobline.api.models import QueueNamePath, QueueStatsView
from jobline.queues import QUEUES, get_queue
from jobline.runtime import Runtime

router = APIGatewayHttpRouter()
TAGS = ["queues"]


def known_queue(name: str) -> str:
    """`name`, if the registry has that queue; UnknownQueue (404) otherwise."""
    return get_queue(name).name


def stats_views(runtime: Runtime, names: Iterable[str], *, tenant_id: str | None) -> list[QueueStatsView]:
    """Stats of each queue in `names`, for one tenant (every tenant when None)."""
    return [QueueStatsView.of(operations.queue_stats(runtime, name, tenant_id=tenant_id)) for name in names]


@router.get("/queues/stats", summary="Job counts of every queue", tags=TAGS, responses=responses())
def all_queue_stats(runtime: deps.RuntimeDep, caller: deps.CallerDep) -> Envelope[list[QueueStatsView]]:
    """The caller's jobs per state in each queue (every tenant's for operators)."""
    return Envelope(message="queue stats", data=stats_views(runtime, QUEUES, tenant_id=caller.scope))


@router.get("/queues/<queueName>/stats", summary="Job counts of one queue", tags=TAGS, responses=responses(404))
def one_queue_stats(
    queue_name: QueueNamePath, runtime: deps.RuntimeDep, caller: deps.CallerDep
) -> Envelope[QueueStatsView]:
    """The caller's jobs per state in `queueName`."""
    stats = operations.queue_stats(runtime, queue_name, tenant_id=caller.scope)
    return Envelope(message="queue stats", data=QueueStatsView.of(stats))
