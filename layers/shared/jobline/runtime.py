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
    from aws_lambda_powertools.utilities.parameters import SSMProvider
    from sqlalchemy import URL, Engine
    from sqlalchemy.orm import Session, sessionmaker

# A wide pool: the local stack runs many pollers on one client (one connection each on Lambda).
_BOTO_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5}, connect_timeout=3, read_timeout=10, max_pool_connections=50
)
# How long a database URL read from SSM is used before it is read again.
DATABASE_URL_MAX_AGE_SECONDS = 300
POSTGRES_PORT = 5432


class DatabaseConfigurationError(RuntimeError):
    """The database settings cannot give a connection (an unreadable SSM parameter, a URL without a user).

    When SSM could not be read its error is the cause: a missing parameter, or an outage (throttling).
    """


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
        """Postgres sessions for `database_url()`; the engine is made on first use, once per process."""
        # Imported here: a function whose jobs never touch Postgres does not pay for SQLAlchemy at start.
        from sqlalchemy.orm import sessionmaker

        from jobline.postgres.orm import make_engine

        # A URL kept in SSM is asked for again at each new connection (cached), so a rotated one is used.
        url = self.database_url if self.settings.jobline_database_url_parameter else self.settings.database_url
        auth_token = self._rds_auth_token if self.settings.jobline_database_iam_auth else None
        return sessionmaker(make_engine(url, auth_token=auth_token), expire_on_commit=False)

    def database_url(self) -> str:
        """The database URL: the SSM parameter's when one is named (cached 5 minutes), else DATABASE_URL."""
        name = self.settings.jobline_database_url_parameter
        if not name:
            return self.settings.database_url
        from aws_lambda_powertools.utilities.parameters import GetParameterError
        from sqlalchemy import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            value = self._parameters.get(name, max_age=DATABASE_URL_MAX_AGE_SECONDS, decrypt=True)
        except GetParameterError as exc:
            # Powertools wraps SSM's error without chaining it: chain it here, so a throttled or
            # unreachable SSM still reads as an outage (engine/outages follows __cause__).
            raise DatabaseConfigurationError(
                f"the database URL cannot be read from SSM parameter {name!r} (JOBLINE_DATABASE_URL_PARAMETER): {exc}"
            ) from exc.__context__ or exc
        try:
            make_url(str(value))
        except ArgumentError:
            # The value is a secret: name the parameter, never show what it holds.
            raise DatabaseConfigurationError(
                f"SSM parameter {name!r} (JOBLINE_DATABASE_URL_PARAMETER) does not hold a database URL"
            ) from None
        return str(value)

    @functools.cached_property
    def _parameters(self) -> SSMProvider:
        # Powertools' provider keeps fetched values for their max_age: one SSM call per value per
        # 5 minutes per process, however many connections the engine opens.
        from aws_lambda_powertools.utilities.parameters import SSMProvider

        return SSMProvider(boto3_client=self.client("ssm"))

    def _rds_auth_token(self, url: URL) -> str:
        """An RDS IAM authentication token for the URL's user, host and port (signed locally, no call)."""
        if not url.username or not url.host:
            raise DatabaseConfigurationError("IAM database authentication needs a user and a host in the database URL")
        rds = self.client("rds")
        return str(
            rds.generate_db_auth_token(
                DBHostname=url.host,
                Port=url.port or POSTGRES_PORT,
                DBUsername=url.username,
                Region=rds.meta.region_name,
            )
        )

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
