"""The runtime: the job store, the SQS transport, the payload store and the clock, built once."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import boto3
from botocore.config import Config

from jobline.aws.consumers import ConsumerSwitch, EventSourceMappingSwitch, StoreFlagOnly
from jobline.aws.payloads import PayloadStore
from jobline.aws.sqs import QueueTransport
from jobline.config import Settings, StoreKind, get_settings
from jobline.core.clock import utcnow
from jobline.store.ports import JobStore

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

# A wide pool: the local stack runs many pollers on one client (one connection each on Lambda).
_BOTO_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5}, connect_timeout=3, read_timeout=10, max_pool_connections=50
)


@dataclasses.dataclass
class Runtime:
    """Everything the job core talks to; handlers get one from `get_runtime()`, tests build their own."""

    store: JobStore
    transport: QueueTransport
    payloads: PayloadStore
    switch: ConsumerSwitch
    settings: Settings
    clock: Callable[[], dt.datetime] = utcnow

    _clients: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False)

    def client(self, service: str) -> Any:
        """A boto3 client for `service` (SES, SNS, S3, …), made once per runtime."""
        if service not in self._clients:
            self._clients[service] = aws_client(service, self.settings)
        return self._clients[service]

    @functools.cached_property
    def sessions(self) -> sessionmaker[Session]:
        """Postgres sessions for DATABASE_URL; the engine is made on first use, once per process."""
        # Imported here: a function whose jobs never touch Postgres does not pay for SQLAlchemy at start.
        from sqlalchemy.orm import sessionmaker

        from jobline.postgres.orm import make_engine

        return sessionmaker(make_engine(self.settings.database_url), expire_on_commit=False)

    @property
    def engine(self) -> Engine:
        """The Postgres engine behind `sessions` (for raw SQL, COPY, and disposing of its pool)."""
        return cast("Engine", self.sessions.kw["bind"])  # `sessions` is always bound to one engine


def aws_client(service: str, settings: Settings | None = None) -> Any:
    """A boto3 client, pointed at the local AWS emulation when one is configured."""
    settings = settings or get_settings()
    # S3 presigned URLs must be SigV4: buckets made since 2020 refuse botocore's SigV2 default.
    config = _BOTO_CONFIG.merge(Config(signature_version="s3v4")) if service == "s3" else _BOTO_CONFIG
    return boto3.client(service, endpoint_url=settings.aws_endpoint_url, config=config)


def build_store(settings: Settings) -> JobStore:
    """The job store the settings name."""
    if settings.jobline_store is StoreKind.REDIS:
        import redis

        from jobline.store.redis import RedisJobStore

        client = redis.Redis.from_url(settings.jobline_redis_url, socket_timeout=5, health_check_interval=30)
        return RedisJobStore(client, prefix=settings.jobline_redis_prefix)
    if settings.jobline_store is StoreKind.MEMORY:
        from jobline.store.memory import MemoryJobStore

        return MemoryJobStore()
    from jobline.store.dynamodb import DynamoJobStore

    return DynamoJobStore(settings.jobline_table, client=aws_client("dynamodb", settings))


def build_runtime(settings: Settings, *, store: JobStore | None = None, local: bool = False) -> Runtime:
    """A runtime for `settings`; `local` skips the event source mappings that only AWS has."""
    transport = QueueTransport(aws_client("sqs", settings), prefix=settings.jobline_queue_prefix)
    switch: ConsumerSwitch = (
        StoreFlagOnly() if local else EventSourceMappingSwitch(aws_client("lambda", settings), transport)
    )
    return Runtime(
        store=store or build_store(settings),
        transport=transport,
        payloads=PayloadStore(aws_client("s3", settings), bucket=settings.jobline_bucket),
        switch=switch,
        settings=settings,
    )


@functools.lru_cache(maxsize=1)
def get_runtime() -> Runtime:
    """The process-wide runtime, built on first use (once per Lambda cold start)."""
    settings = get_settings()
    return build_runtime(settings, local=settings.aws_endpoint_url is not None)
