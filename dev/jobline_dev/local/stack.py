"""The local stack: moto, Postgres, the template's resources, the HTTP API, the SQS pollers and the schedules.

Start order (stop runs it backwards):

    moto ─▶ Postgres + migrations ─▶ template resolved (parameters, names) ─▶ environment
         ─▶ queues, table, bucket, SSM SecureStrings ─▶ functions loaded ─▶ demo data
         ─▶ pollers, schedules ─▶ HTTP API (so a health answer means everything runs)
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import os
import pathlib
import secrets
from collections.abc import Mapping
from typing import Any

from jobline_dev.local import aws, demo
from jobline_dev.local.console import LOGGER
from jobline_dev.local.demo import DEMO_TENANT
from jobline_dev.local.functions import LocalFunction
from jobline_dev.local.gateway import Gateway
from jobline_dev.local.pollers import PausedFlags, SqsPoller
from jobline_dev.local.postgres import Database
from jobline_dev.local.schedules import Scheduler
from jobline_dev.local.spec import StackSpec, read_spec
from jobline_dev.local.template import Resolver, load

log = logging.getLogger(LOGGER)

REPO_ROOT = pathlib.Path(__file__).resolve().parents[3]
# Variables that would point boto3 at a real account; the stack runs without them.
_REAL_AWS_VARIABLES = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_DEFAULT_PROFILE")


@dataclasses.dataclass
class StackConfig:
    """Everything `python -m jobline_dev.local` can be told; the defaults are what `make local` runs."""

    template: pathlib.Path = REPO_ROOT / "template.yaml"
    host: str = "127.0.0.1"
    api_port: int = 3000
    aws_port: int = 0  # 0: any free port
    region: str = "us-east-1"
    stack_name: str = "jobline-local"
    stage: str = "local"  # the only stage whose functions accept the built-in dev secret
    store: str = "dynamodb"
    redis_url: str = "redis://127.0.0.1:6379/0"
    database_url: str | None = None  # None: an embedded Postgres
    pgdata: pathlib.Path | None = None  # keep the embedded cluster here (default: throwaway)
    jwt_secret: str | None = None  # None: JOBLINE_JWT_SECRET, else the dev secret
    parameters: dict[str, str] = dataclasses.field(default_factory=dict)
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    schedule_speedup: float = 1.0
    schedules: bool = True
    poll_wait_seconds: int = 2
    max_batching_window: float | None = None
    shutdown_grace_seconds: float = 10.0
    demo: bool = False
    token_tenant: str = DEMO_TENANT
    token_roles: tuple[str, ...] = ("admin", "operator")


class _Environment:
    """os.environ changes that are undone at stop, so an in-process stack leaves its host as it found it."""

    def __init__(self) -> None:
        self._saved: dict[str, str | None] = {}

    def set(self, name: str, value: str | None) -> None:
        self._saved.setdefault(name, os.environ.get(name))
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value

    def restore(self) -> None:
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved.clear()


def secure_strings(environment: Mapping[str, str], *, database_url: str) -> dict[str, str]:
    """The SSM SecureStrings the functions read, by name: the template's environment names them
    (deployed stages keep secrets out of it), the local stack makes up their values."""
    values = {
        "JOBLINE_DATABASE_URL_PARAMETER": database_url,
        # The master key of signed callbacks; any random one serves a throwaway stack.
        "JOBLINE_WEBHOOK_SECRET_PARAMETER": secrets.token_urlsafe(32),
    }
    return {environment[variable]: value for variable, value in values.items() if environment.get(variable)}


def _forget_cached_runtime() -> None:
    """Drop the settings, runtime and verifier built from the previous environment."""
    from jobline import auth, config, runtime

    if runtime.get_runtime.cache_info().currsize:
        built = runtime.get_runtime()
        if "sessions" in built.__dict__:
            built.engine.dispose()
    config.get_settings.cache_clear()
    runtime.get_runtime.cache_clear()
    auth.reset()


class LocalStack:
    """The whole system on one machine; `with LocalStack(config) as stack:` or start() and stop()."""

    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config or StackConfig()
        self.moto = aws.MotoServer(self.config.host, self.config.aws_port)
        self.database = Database(self.config.database_url, pgdata=self.config.pgdata)
        self.functions: dict[str, LocalFunction] = {}
        self.pollers: list[SqsPoller] = []
        self.paused_flags = PausedFlags(_paused_queues)
        self.gateway: Gateway | None = None
        self.scheduler: Scheduler | None = None
        self.spec: StackSpec | None = None
        self.environment: dict[str, str] = {}
        self.secret = ""
        self.secure_strings: dict[str, str] = {}  # SSM parameter name -> value, put at start
        self.demo: demo.DemoData | None = None
        self._env = _Environment()
        self._started = False

    @property
    def api_url(self) -> str:
        assert self.gateway is not None, "start the stack first"
        return self.gateway.url

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> LocalStack:
        """Bring everything up; on any failure, take down what was started and re-raise."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        config = self.config
        self._started = True
        self.moto.start()
        log.info("AWS (moto) on %s", self.moto.endpoint)
        database_url = self.database.start()
        template = load(config.template)
        declared = template.get("Parameters", {})
        defaults = {"Stage": config.stage, "JobStoreKind": config.store, "RedisUrl": config.redis_url}
        parameters = {k: v for k, v in {**defaults, "DatabaseUrl": database_url}.items() if k in declared}
        resolver = Resolver(
            template,
            stack_name=config.stack_name,
            region=config.region,
            parameters={**parameters, **config.parameters},
            sqs_endpoint=self.moto.endpoint,
        )
        self.spec = read_spec(resolver, config.template.parent)
        self._apply_environment()
        self.secure_strings = secure_strings(self.environment, database_url=database_url)
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            # moto's SSM loads AWS's public parameters on first use (about a second): overlap it.
            putting = pool.submit(
                aws.put_secure_strings, self.secure_strings, endpoint=self.moto.endpoint, region=config.region
            )
            aws.provision(self.spec, endpoint=self.moto.endpoint, region=config.region)
            putting.result()
        if self.secure_strings:
            log.info("SSM SecureStrings put: %s", ", ".join(sorted(self.secure_strings)))
        sender = self.environment.get("JOBLINE_EMAIL_SENDER")
        if sender:
            # SES sends only from a verified identity; in AWS that is verified once, outside the stack.
            aws.client("ses", endpoint=self.moto.endpoint, region=config.region).verify_email_identity(
                EmailAddress=sender
            )
        if config.store == "redis":
            demo.clear_redis_prefix(self.environment)
        for function_spec in self.spec.functions:
            self.functions[function_spec.logical_id] = LocalFunction(
                function_spec, stack_name=config.stack_name, region=config.region
            )
        if config.demo:
            self.demo = demo.seed()
        self._start_event_sources()

    def _apply_environment(self) -> None:
        """Globals + every function's variables, the local endpoint and fake credentials, in os.environ."""
        # The functions share this process, so they share one environment: the template gives
        # them the same Globals, and they differ only in names Jobline does not read.
        assert self.spec is not None
        config = self.config
        merged: dict[str, str] = {}
        for function_spec in self.spec.functions:
            for name, value in function_spec.environment.items():
                merged.setdefault(name, value)
        if config.store == "redis":
            # The stack's own keys, cleared at start and stop like moto's table.
            merged["JOBLINE_REDIS_PREFIX"] = f"jobline-local:{config.stack_name}:"
        merged.update(
            {
                **aws.FAKE_CREDENTIALS,
                "AWS_DEFAULT_REGION": config.region,
                "AWS_REGION": config.region,
                "AWS_ENDPOINT_URL": self.moto.endpoint,
                "POWERTOOLS_TRACE_DISABLED": "true",
                # Job callbacks locally go to receivers on 127.0.0.1, which deployed stages refuse.
                "JOBLINE_CALLBACKS_ALLOW_PRIVATE": "true",
            }
        )
        # The functions take the secret from the environment, which they read before SSM:
        # moto's SSM alone would add seconds to every start.
        self.secret = self._secret()
        merged["JOBLINE_JWT_SECRET"] = self.secret
        merged.update(config.env)
        for name in _REAL_AWS_VARIABLES:
            self._env.set(name, None)
        for name, value in merged.items():
            self._env.set(name, value)
        self.environment = merged
        _forget_cached_runtime()

    def _secret(self) -> str:
        """The HS256 secret: the configured one, JOBLINE_JWT_SECRET, or the dev secret of stage local."""
        from jobline import auth

        settings = auth.AuthSettings(jobline_stage=self.config.stage, jobline_jwt_secret_parameter=None)
        secret = self.config.jwt_secret or auth.resolve_secret(settings)
        if not secret:
            raise SystemExit("no JWT secret: set JOBLINE_JWT_SECRET (the dev secret is only for stage local)")
        return secret

    def _start_event_sources(self) -> None:
        config = self.config
        prefix = self.environment.get("JOBLINE_QUEUE_PREFIX", "")
        self.paused_flags.start()
        for function in self.functions.values():
            for source in function.spec.sqs_sources:
                if not source.enabled:
                    continue
                sqs = aws.client("sqs", endpoint=self.moto.endpoint, region=config.region)
                self.pollers.append(
                    SqsPoller(
                        source,
                        function,
                        sqs=sqs,
                        queue_url=sqs.get_queue_url(QueueName=source.queue_name)["QueueUrl"],
                        region=config.region,
                        paused=self.paused_flags,
                        queue=_registry_queue(source.queue_name.removeprefix(prefix)),
                        wait_seconds=config.poll_wait_seconds,
                        max_batching_window=config.max_batching_window,
                    )
                )
        for poller in self.pollers:
            poller.start()
        if config.schedules:
            schedules = [(s, fn) for fn in self.functions.values() for s in fn.spec.schedules]
            self.scheduler = Scheduler(schedules, region=config.region, speedup=config.schedule_speedup)
            self.scheduler.start()
        routes = [(route, fn) for fn in self.functions.values() for route in fn.spec.routes]
        self.gateway = Gateway(routes, host=config.host, port=config.api_port)
        self.gateway.start()

    def token(self, *, tenant: str | None = None, roles: tuple[str, ...] | None = None, user: str = "dev-user") -> str:
        """A bearer token the stack's API accepts (HS256 with the stack's secret)."""
        from jobline_dev.devtoken import make_token

        return make_token(
            secret=self.secret,
            tenant=tenant or self.config.token_tenant,
            user=user,
            roles=self.config.token_roles if roles is None else roles,
            hours=12,
            audience=self.environment.get("JOBLINE_JWT_AUDIENCE", "jobline"),
            issuer=os.environ.get("JOBLINE_JWT_ISSUER"),
        )

    def stop(self) -> None:
        """Stop everything this stack started, newest first; safe to call more than once."""
        if not self._started:
            return
        self._started = False
        if self.gateway is not None:
            self.gateway.stop()
        if self.scheduler is not None:
            self.scheduler.stop()
        # Every poller first, so their last long polls end together rather than one after another.
        self.paused_flags.stop()
        for poller in self.pollers:
            poller.signal_stop()
        for poller in self.pollers:
            poller.stop(grace_seconds=self.config.shutdown_grace_seconds)
        self.pollers.clear()
        if self.config.store == "redis" and self.environment:
            demo.clear_redis_prefix(self.environment)
        _forget_cached_runtime()
        self._env.restore()
        self.moto.stop()
        self.database.stop()
        log.info("local stack stopped")

    def summary(self) -> dict[str, Any]:
        """What runs where, for the start-up banner."""
        return {
            "api": self.api_url,
            "aws": self.moto.endpoint,
            "database": self.database.url,
            "store": self.environment.get("JOBLINE_STORE"),
            "functions": {
                fn.logical_id: {
                    "routes": [r.route_key for r in fn.spec.routes],
                    "queues": [s.queue_name for s in fn.spec.sqs_sources],
                    "schedules": [s.expression for s in fn.spec.schedules],
                }
                for fn in self.functions.values()
            },
        }


def _paused_queues() -> set[str]:
    """The paused queues in the job store the functions use."""
    from jobline.runtime import get_runtime

    return get_runtime().store.paused_queues()


def _registry_queue(sqs_suffix: str) -> str:
    """The registry queue an SQS queue serves: itself, or the queue whose priority lane it is."""
    from jobline.core.queues import QUEUES

    for queue in QUEUES.values():
        if sqs_suffix in queue.consumed_suffixes:
            return queue.name
    return sqs_suffix
