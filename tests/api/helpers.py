"""Test helpers for the HTTP API: API Gateway HTTP API (v2) events, a client, tokens."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import jwt
import sqlalchemy as sa

from jobline.core.job import Job
from jobline.core.queues import QUEUES
from jobline.core.states import JobState
from jobline.engine.enqueue import JobOptions, enqueue
from jobline.runtime import Runtime
from jobline.store.ports import MAX_PAGE
from jobline_dev.events import LambdaContextStub, http_event

SECRET = "jobline-api-tests-secret-0123456789abcdef"  # 32+ bytes, as HS256 wants
AUDIENCE = "jobline"
_UNSET: Any = object()


@dataclasses.dataclass
class Answer:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)

    @property
    def data(self) -> Any:
        return self.json["data"]

    def fields(self) -> list[str | None]:
        """The fields the error envelope names."""
        return [e["field"] for e in self.json["errors"]]


class Client:
    """Sends v2 events to a handler `(event, context) -> response` and reads the answers."""

    def __init__(self, handler: Callable[[dict[str, Any], Any], dict[str, Any]]) -> None:
        self._handler = handler

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json_body: Any = _UNSET,
        body: str | None = None,
        query: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        is_base64: bool = False,
    ) -> Answer:
        headers = dict(headers or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if json_body is not _UNSET:
            body = json.dumps(json_body)
            headers.setdefault("Content-Type", "application/json")
        event = http_event(method, path, query=query, headers=headers, body=body, is_base64=is_base64)
        response = self._handler(event, LambdaContextStub())
        text = response.get("body") or ""
        if response.get("isBase64Encoded"):
            text = base64.b64decode(text).decode()
        return Answer(status=int(response["statusCode"]), headers=dict(response.get("headers") or {}), text=text)

    def get(self, path: str, **kwargs: Any) -> Answer:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Answer:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Answer:
        return self.request("DELETE", path, **kwargs)


AUTH_VARIABLES = (
    "JOBLINE_JWT_SECRET",
    "JOBLINE_JWT_SECRET_PARAMETER",
    "JOBLINE_JWKS_URL",
    "JOBLINE_JWT_AUDIENCE",
    "JOBLINE_JWT_ISSUER",
    "JOBLINE_STAGE",
)


@contextlib.contextmanager
def use_test_secret(monkeypatch: Any) -> Iterator[Any]:
    """HS256 with the tests' secret, the cached verifier rebuilt before and after."""
    from jobline import auth

    for name in AUTH_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JOBLINE_JWT_SECRET", SECRET)
    auth.reset()
    yield monkeypatch
    auth.reset()


def make_token(
    *,
    tenant: str | None = "tenant-a",
    user: str = "user-1",
    roles: Iterable[str] | str | None = (),
    secret: Any = SECRET,  # a str for HS256, a private key for RS256/ES256
    algorithm: str = "HS256",
    lifetime: dt.timedelta = dt.timedelta(hours=1),
    headers: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    """A signed token with the claims the API reads; `claims` adds or overrides (None drops one)."""
    now = dt.datetime.now(dt.UTC)
    payload: dict[str, Any] = {
        "sub": user,
        "tenant_id": tenant,
        "roles": roles if roles is None or isinstance(roles, str) else list(roles),
        "aud": AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        **claims,
    }
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, secret, algorithm=algorithm, headers=headers)


def unsigned_token(**claims: Any) -> str:
    """An `alg: none` token: header and payload, no signature."""
    now = int(dt.datetime.now(dt.UTC).timestamp())
    payload = {"sub": "user-1", "tenant_id": "tenant-a", "aud": AUDIENCE, "exp": now + 3600, **claims}

    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


def add_job(
    runtime: Runtime,
    *,
    queue: str = "generic-task",
    name: str = "run-task",
    tenant: str = "tenant-a",
    data: dict[str, Any] | None = None,
    user: str | None = None,
    **options: Any,
) -> Job:
    """Enqueue a job directly through the core (its job type must be registered); `user` is who added it
    (None: the platform, as schedules and cascades do)."""
    return enqueue(
        runtime,
        queue=queue,
        name=name,
        data=data or {},
        tenant_id=tenant,
        user_id=user,
        options=JobOptions(**options),
    ).job


def move_to(runtime: Runtime, job: Job, state: JobState) -> Job:
    """Walk a waiting job to `state` through the store, as a worker would."""
    now = runtime.clock()
    job = runtime.store.replace(
        job.moved_to(JobState.ACTIVE, attempts=job.attempts + 1, started_at=now), expected_version=job.version
    )
    if state is JobState.FAILED:
        job = runtime.store.replace(
            job.moved_to(JobState.FAILED, error="boom", stacktrace="Traceback: boom", finished_at=now),
            expected_version=job.version,
        )
    elif state is JobState.COMPLETED:
        job = runtime.store.replace(
            job.moved_to(JobState.COMPLETED, result={"ok": True}, progress=100, finished_at=now),
            expected_version=job.version,
        )
    return job


# ---------------------------------------------------------------- "changes nothing"

_TABLES = (
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    " AND table_type = 'BASE TABLE' AND table_name <> 'alembic_version' ORDER BY table_name"
)


def table_digests(runtime: Runtime) -> dict[str, tuple[int, str]]:
    """Row count and a digest of every row, per domain table of the runtime's database."""
    with runtime.sessions() as session:
        names = session.scalars(sa.text(_TABLES)).all()
        digests = {}
        for name in names:
            row = session.execute(
                sa.text(
                    f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM \"{name}\" t"
                )
            ).one()
            digests[name] = (row[0], row[1])
        return digests


def store_snapshot(runtime: Runtime) -> dict[str, Any]:
    """Every job (whole record), the counters, paused queues and schedules in the runtime's job store."""
    store = runtime.store
    jobs: dict[str, str] = {}
    for queue in QUEUES:
        for state in JobState:
            offset = 0
            while True:
                page = store.list_jobs(queue, state, offset=offset, limit=MAX_PAGE)
                jobs.update((job.id, job.model_dump_json()) for job in page)
                if len(page) < MAX_PAGE:
                    break
                offset += MAX_PAGE
    return {
        "jobs": jobs,
        "counts": {queue: store.counts(queue) for queue in QUEUES},
        "paused": store.paused_queues(),
        "schedules": sorted(schedule.model_dump_json() for schedule in store.list_schedules()),
    }


def snapshot(runtime: Runtime) -> dict[str, Any]:
    """What a refused request must leave as it was: the job store and every Postgres table."""
    return {"store": store_snapshot(runtime), "tables": table_digests(runtime)}
