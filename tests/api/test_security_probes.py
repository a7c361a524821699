"""Every route, found in the resolver (new routes are probed without a line here), against a
missing, forged, unsigned or expired token, the wrong role and the wrong tenant.

test_auth.py checks the verifier claim by claim on one route; test_tenancy.py one tenant's
generic jobs. These walk all routes and all kinds of resource: jobs of every route family,
room categories, waitlist slots and schedules, and uploaded objects named in a body.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import typing
import uuid
from typing import Any

import pytest

from jobline.api import app as api_app
from jobline.api import deps
from jobline.api.app import create_app
from jobline.api.resolver import JoblineResolver
from jobline.core.states import JobState
from jobline.domains.bulk.kinds import get_kind
from jobline.domains.bulk.schemas import BulkKindName
from jobline.domains.exports import objects
from jobline.runtime import Runtime
from tests.api.helpers import Answer, Client, add_job, make_token, move_to, snapshot, unsigned_token

V1 = "/api/v1"

# The routes anyone may call, and why each may. Adding a public route means adding it here.
PUBLIC: dict[tuple[str, str], str] = {
    ("GET", f"{V1}/health"): "load balancers and uptime checks call it without credentials; it shows no data",
    ("GET", f"{V1}/openapi.json"): "the API's own description: routes and shapes, no data",
    ("GET", f"{V1}/swagger"): "the viewer of that description; it asks for a token to try routes",
    ("GET", "/admin"): "a static page that holds no data: it asks for a token and calls the API with it",
    ("GET", "/admin/jobs"): "the same static page, at seed 002's address",
    ("POST", f"{V1}/waitlist/offers/accept"): "the person offered a place has no login; the offer's token is the proof",
    ("POST", f"{V1}/waitlist/offers/decline"): "as accept: the single-use token from the offer's link",
}


class _NoRuntime:
    """The runtime of an app whose every answer must come before any route body runs."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the route ran (it read runtime.{name})")


GATED_APP: JoblineResolver = create_app(_NoRuntime)


def served_routes(app: JoblineResolver) -> list[Any]:
    return [*app._static_routes, *app._dynamic_routes]  # Powertools has no public listing


ROUTES = sorted(served_routes(GATED_APP), key=lambda route: (route.path, route.method))
PROTECTED = [route for route in ROUTES if (route.method, route.path) not in PUBLIC]
# A value of the right shape for each path parameter; a new parameter must be added here.
SAMPLE_PARAMS = {
    "jobId": "0b8e1c9a-5a4e-4a51-9d36-3c8d3cf0c0de",
    "scheduleId": "6d1f0a4e-8e6e-4a3e-a7c6-1f2b3c4d5e6f",
    "slotId": "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
    "roomCategoryId": "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
    "queue": "generic-task",
    "queueName": "generic-task",
    "type": "generic-task",
    "kind": "mechanics",
}


def concrete(path: str, **params: str) -> str:
    """The route's path with its `<parameters>` filled in (from `params`, else SAMPLE_PARAMS)."""
    return re.sub(r"<(\w+)>", lambda m: params.get(m[1]) or SAMPLE_PARAMS[m[1]], path)


def role_of(route: Any) -> str | None:
    """Which caller the route asks for: "operator", "admin", "caller", or None (public)."""
    hints = typing.get_type_hints(route.func, include_extras=True).values()
    for role, dependency in (("operator", deps.OperatorDep), ("admin", deps.AdminDep), ("caller", deps.CallerDep)):
        if any(hint == dependency for hint in hints):
            return role
    return None


def route_id(route: Any) -> str:
    return f"{route.method} {route.path}"


# ---------------------------------------------------------------- which routes are open


def test_public_routes_are_exactly_the_reasoned_allow_list() -> None:
    assert set(api_app.PUBLIC_ROUTES) == set(PUBLIC)
    assert set(PUBLIC) <= {(route.method, route.path) for route in ROUTES}


def test_every_protected_route_takes_the_caller_and_no_public_one_does() -> None:
    """The gate checks the token; the caller dependency is what scopes the route to the caller's tenant."""
    assert all(role_of(route) is not None for route in PROTECTED), [route_id(r) for r in PROTECTED if not role_of(r)]
    assert all(role_of(route) is None for route in ROUTES if (route.method, route.path) in PUBLIC)


def test_every_admin_api_route_needs_the_admin_or_operator_role() -> None:
    admin_routes = [route for route in ROUTES if route.path.startswith(f"{V1}/admin/")]
    assert len(admin_routes) > 10
    assert all(role_of(route) in {"admin", "operator"} for route in admin_routes)


def test_openapi_document_marks_only_the_public_operations_as_open() -> None:
    document = json.loads(GATED_APP.get_openapi_json_schema())
    assert document["security"] == [{"bearerAuth": []}]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            is_public = (method.upper(), path) in PUBLIC
            assert (operation.get("security") == [{}]) == is_public, (method, path)
            assert ("401" in operation["responses"]) != is_public, (method, path)


# ---------------------------------------------------------------- no valid token

ALL_ROLES = ["admin", "operator"]  # claims a bad token carries: they must count for nothing
BAD_TOKENS: dict[str, str | None] = {
    "no-token": None,
    "forged-signature": make_token(secret="not-the-api-secret-but-long-enough-0123456789", roles=ALL_ROLES),
    "alg-none": unsigned_token(roles=ALL_ROLES),
    "expired": make_token(lifetime=dt.timedelta(hours=-1), roles=ALL_ROLES),
    "not-bearer": "Basic YWRtaW46YWRtaW4=",
}


@pytest.mark.parametrize("token_kind", BAD_TOKENS)
@pytest.mark.parametrize("route", PROTECTED, ids=route_id)
def test_protected_route_without_a_valid_token_answers_401_before_anything_runs(route: Any, token_kind: str) -> None:
    token = BAD_TOKENS[token_kind]
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = token if token.startswith("Basic ") else f"Bearer {token}"
    body = '{"name": "x"}' if route.method in {"POST", "PUT", "PATCH"} else None
    answer = Client(GATED_APP.resolve).request(route.method, concrete(route.path), body=body, headers=headers)
    assert answer.status == 401, answer.text
    assert answer.headers["WWW-Authenticate"].startswith('Bearer realm="jobline"')
    assert answer.json["success"] is False
    assert "data" not in answer.json


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", f"{V1}/health", None, 200),
        ("GET", f"{V1}/openapi.json", None, 200),
        ("GET", f"{V1}/swagger", None, 200),
        ("GET", "/admin", None, 200),
        # A well-formed token that no offer has: the route ran, and found nothing.
        ("POST", f"{V1}/waitlist/offers/accept", {"token": "A" * 43}, 404),
        ("POST", f"{V1}/waitlist/offers/decline", {"token": "B" * 43}, 404),
    ],
)
def test_public_route_answers_without_a_token(module_runtime: Runtime, method, path, body, status) -> None:
    assert (method, path) in PUBLIC
    api = Client(create_app(lambda: module_runtime).resolve)
    kwargs = {} if body is None else {"json_body": body}
    assert api.request(method, path, **kwargs).status == status


# ---------------------------------------------------------------- the wrong role

# Bodies that pass validation, which Powertools runs before the role check.
VALID_BODIES: dict[str, Any] = {
    f"{V1}/admin/jobs/<queue>/clean": {"grace": 0},
    f"{V1}/admin/jobs/<queue>/repeatable": {"name": "run-task", "every": 60_000},
}
ADMIN_ONLY = [route for route in PROTECTED if role_of(route) == "admin"]
OPERATOR_ONLY = [route for route in PROTECTED if role_of(route) == "operator"]


def send_as(route: Any, token: str) -> Answer:
    body = VALID_BODIES.get(route.path)
    kwargs = {} if body is None else {"json_body": body}
    return Client(GATED_APP.resolve).request(route.method, concrete(route.path), token=token, **kwargs)


def test_role_lists_hold_the_known_admin_and_operator_routes() -> None:
    admin_routes = {f"GET {V1}/admin/jobs/stats", f"POST {V1}/jobs/failed/clear", f"POST {V1}/admin/jobs/<queue>/pause"}
    assert admin_routes <= {route_id(r) for r in ADMIN_ONLY}
    assert {f"GET {V1}/metrics", "GET /metrics"} <= {route_id(r) for r in OPERATOR_ONLY}


def test_admin_and_operator_operations_document_their_403() -> None:
    operations = json.loads(GATED_APP.get_openapi_json_schema())["paths"]
    for route in ADMIN_ONLY + OPERATOR_ONLY:
        path = re.sub(r"<(\w+)>", r"{\1}", route.path)
        assert "403" in operations[path][route.method.lower()]["responses"], route_id(route)


@pytest.mark.parametrize("route", ADMIN_ONLY + OPERATOR_ONLY, ids=route_id)
def test_user_without_roles_on_admin_or_operator_route_answers_403(route: Any) -> None:
    answer = send_as(route, make_token(tenant="tenant-a", user="alice", roles=["viewer"]))
    assert answer.status == 403, answer.text
    assert answer.json["message"] == f"this action needs the {role_of(route)} role"


@pytest.mark.parametrize("route", OPERATOR_ONLY, ids=route_id)
def test_tenant_admin_on_operator_route_answers_403(route: Any) -> None:
    answer = send_as(route, make_token(tenant="tenant-a", user="ann", roles=["admin"]))
    assert answer.status == 403, answer.text
    assert answer.json["message"] == "this action needs the operator role"


# ---------------------------------------------------------------- another tenant's resources

RUN_TASK = {"task": "delay", "params": {"ms": 1}}
NEXT_YEAR_DAYS = {"startDate": f"{dt.date.today().year + 1}-01-01", "endDate": f"{dt.date.today().year + 1}-01-02"}


@dataclasses.dataclass
class TenantA:
    """Resources of tenant A, made for one test; `secrets` are strings no other tenant may ever see."""

    tenant: str
    admin: str
    ids: dict[str, str]
    secrets: set[str]


def make_tenant_a(runtime: Runtime, api: Client) -> TenantA:
    tenant = f"tenant-a-{uuid.uuid4().hex[:8]}"
    admin = make_token(tenant=tenant, user="ann", roles=["admin"])

    def job(queue: str = "generic-task", name: str = "run-task", data: Any = RUN_TASK, **options: Any) -> str:
        return add_job(runtime, queue=queue, name=name, tenant=tenant, data=data, **options).id

    def created(path: str, body: Any) -> dict[str, Any]:
        answer = api.post(f"{V1}{path}", token=admin, json_body=body)
        assert answer.status == 201, answer.text
        return answer.data

    failed = job()
    move_to(runtime, runtime.store.get(failed), JobState.FAILED)
    category = created("/room-categories", {"name": f"Secret suite {tenant}", "basePrice": 99})
    slot = created("/waitlist/slots", {"name": f"Secret court {tenant}"})
    created(f"/waitlist/slots/{slot['id']}/entries", {"name": "Ann", "email": f"ann@{tenant}.example"})
    schedule = created("/admin/jobs/generic-task/repeatable", {"name": "run-task", "data": RUN_TASK, "every": 60_000})
    room_data = {"roomCategoryId": category["id"], **NEXT_YEAR_DAYS}
    bulk_queue = get_kind(BulkKindName.MECHANICS).queue
    ids = {
        "job": job(),
        "failed": failed,
        "delayed": job(delay=3_600_000),
        "room-job": job(queue="room-generation", name="generate-rooms", data=room_data),
        "bulk-job": job(queue=bulk_queue, name="bulk-upload", data={"rows": [{"firstName": "A"}]}),
        "category": category["id"],
        "slot": slot["id"],
        "schedule": schedule["scheduleId"],
        "upload-key": objects.new_upload_key(tenant, kind="mechanics", extension="csv"),
    }
    secrets = {tenant, category["name"], slot["name"], f"ann@{tenant}.example", *ids.values()}
    return TenantA(tenant=tenant, admin=admin, ids=ids, secrets=secrets)


# Every route with a resource id: which of A's resources fills the id, and a body if the route needs one.
ID_PROBES: dict[str, tuple[str, Any]] = {
    "GET /api/v1/jobs/<type>/<jobId>/status": ("job", None),
    "GET /api/v1/jobs/<queueName>/<jobId>": ("job", None),
    "POST /api/v1/jobs/<queueName>/<jobId>/retry": ("failed", None),
    "GET /api/v1/admin/jobs/<queue>/<jobId>": ("job", None),
    "DELETE /api/v1/admin/jobs/<queue>/<jobId>": ("job", None),
    "POST /api/v1/admin/jobs/<queue>/<jobId>/retry": ("failed", None),
    "POST /api/v1/admin/jobs/<queue>/<jobId>/promote": ("delayed", None),
    "DELETE /api/v1/admin/jobs/<queue>/repeatable/<scheduleId>": ("schedule", None),
    "GET /api/v1/room-generation/job/<jobId>": ("room-job", None),
    "GET /api/v1/room-generation/stats/<roomCategoryId>": ("category", None),
    "GET /api/v1/bulk-upload/<kind>/<jobId>": ("bulk-job", None),
    "GET /api/v1/waitlist/slots/<slotId>": ("slot", None),
    "GET /api/v1/waitlist/slots/<slotId>/entries": ("slot", None),
    "POST /api/v1/waitlist/slots/<slotId>/entries": ("slot", {"name": "Bob", "email": "bob@b.example"}),
    "POST /api/v1/waitlist/slots/<slotId>/release": ("slot", None),
    # The seeds' unversioned paths: the same routes under /api.
    "GET /api/jobs/<type>/<jobId>/status": ("job", None),
    "GET /api/jobs/<queueName>/<jobId>": ("job", None),
    "POST /api/jobs/<queueName>/<jobId>/retry": ("failed", None),
}
ID_PARAMETERS = {"jobId", "scheduleId", "slotId", "roomCategoryId"}


def id_parameters(path: str) -> set[str]:
    return set(re.findall(r"<(\w+)>", path)) & ID_PARAMETERS


def test_every_route_with_a_resource_id_is_probed_across_tenants() -> None:
    with_ids = {route_id(route) for route in PROTECTED if id_parameters(route.path)}
    assert with_ids == set(ID_PROBES)


def b_admin() -> str:
    return make_token(tenant=f"tenant-b-{uuid.uuid4().hex[:8]}", user="bea", roles=["admin"])


def assert_nothing_of_a_in(answer: Answer, a: TenantA, *, sent: str) -> None:
    """No secret of A's in the answer, but those B put in the request itself (an id echoed back is no leak)."""
    leaked = {secret for secret in a.secrets if secret in answer.text and secret not in sent}
    assert not leaked, answer.text


@pytest.mark.parametrize("probe", ID_PROBES)
def test_tenant_b_gets_404_for_tenant_a_resource_and_a_still_reaches_it(module_runtime: Runtime, probe: str) -> None:
    api = Client(create_app(lambda: module_runtime).resolve)
    a = make_tenant_a(module_runtime, api)
    method, path = probe.split(" ", 1)
    resource, body = ID_PROBES[probe]
    [parameter] = id_parameters(path)
    url = concrete(path, **{parameter: a.ids[resource]})
    kwargs = {} if body is None else {"json_body": body}

    before = snapshot(module_runtime)
    answer = api.request(method, url, token=b_admin(), **kwargs)
    assert answer.status == 404, answer.text
    assert_nothing_of_a_in(answer, a, sent=url + json.dumps(body))
    assert snapshot(module_runtime) == before

    # The id was real: its owner reaches the same resource through the same route.
    assert api.request(method, url, token=a.admin, **kwargs).status in {200, 201, 202}


def test_tenant_b_cannot_name_tenant_a_resources_in_a_body(module_runtime: Runtime) -> None:
    api = Client(create_app(lambda: module_runtime).resolve)
    a = make_tenant_a(module_runtime, api)
    b = b_admin()
    before = snapshot(module_runtime)
    probes = [
        (
            f"{V1}/room-generation",
            {"roomCategoryId": a.ids["category"], **NEXT_YEAR_DAYS},
            404,
        ),
        (f"{V1}/bulk-upload/mechanics/from-s3", {"key": a.ids["upload-key"]}, 422),
        (f"{V1}/jobs/file-processing", {"key": a.ids["upload-key"]}, 422),
        # Refused: the slot is looked up in B's tenant only, so A's is "no such slot".
        (f"{V1}/jobs/cascade/trigger", {"slotId": a.ids["slot"]}, 422),
    ]
    for path, body, status in probes:
        answer = api.post(path, token=b, json_body=body)
        assert answer.status == status, (path, answer.text)
        assert_nothing_of_a_in(answer, a, sent=json.dumps(body))
    after = snapshot(module_runtime)
    new_jobs = [
        json.loads(after["store"]["jobs"][i]) for i in set(after["store"]["jobs"]) - set(before["store"]["jobs"])
    ]
    assert all(job["tenant_id"] != a.tenant for job in new_jobs)
    assert after["tables"] == before["tables"]


def test_tenant_b_listings_and_stats_show_nothing_of_tenant_a(module_runtime: Runtime) -> None:
    api = Client(create_app(lambda: module_runtime).resolve)
    a = make_tenant_a(module_runtime, api)
    b = b_admin()
    listings = [
        route
        for route in PROTECTED
        if route.method == "GET" and role_of(route) in {"caller", "admin"} and not id_parameters(route.path)
    ]
    assert len(listings) >= 10
    for route in listings:
        queries = [{}] if not route.path.endswith("/jobs") else [{"state": state.value} for state in JobState]
        for query in queries:
            answer = api.get(concrete(route.path), token=b, query=query)
            assert answer.status == 200, (route_id(route), answer.text)
            assert_nothing_of_a_in(answer, a, sent="")
    # A sees its own: the listings are not simply empty.
    assert a.ids["category"] in api.get(f"{V1}/room-categories", token=a.admin).text
    assert a.ids["schedule"] in api.get(f"{V1}/admin/jobs/generic-task/repeatable", token=a.admin).text


# ---------------------------------------------------------------- generic tasks reach only what is registered

ADMIN_TASK = {"task": "cleanupOldData", "params": {"queue": "email", "olderThanDays": 0}}


@pytest.mark.parametrize("path", ["/tasks", "/jobs/generic-task"])
def test_admin_only_task_needs_the_admin_role_whichever_route_starts_it(module_runtime: Runtime, path: str) -> None:
    api = Client(create_app(lambda: module_runtime).resolve)
    tenant = f"tenant-{uuid.uuid4().hex[:8]}"
    body = ADMIN_TASK if path == "/jobs/generic-task" else {"name": ADMIN_TASK["task"], "params": ADMIN_TASK["params"]}
    before = snapshot(module_runtime)
    answer = api.post(f"{V1}{path}", token=make_token(tenant=tenant, user="u"), json_body=body)
    assert answer.status == 403, answer.text
    assert snapshot(module_runtime) == before
    assert api.post(f"{V1}{path}", token=make_token(tenant=tenant, roles=["admin"]), json_body=body).status == 201


UNREGISTERED_TASKS = [
    "os.system",
    "__import__",
    "subprocess.Popen",
    "builtins.exec",
    "jobline.engine.operations.drain_queue",
    "delay.__globals__",
    "__class__",
    "../delay",
    "delay ",
]
UNREGISTERED_METHODS = [
    "os.system",
    "__builtins__.eval",
    "diagnostics.__init__",
    "diagnostics.echo.__globals__",
    "Diagnostics.Echo",
]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        *(
            (pytest.param({"task": name, "params": {"command": "id"}}, "body.task", id=f"task-{name}"))
            for name in UNREGISTERED_TASKS
        ),
        *(
            pytest.param(
                {"task": "customAsyncTask", "params": {"method": method, "args": {}}},
                "body.params.method",
                id=f"method-{method}",
            )
            for method in UNREGISTERED_METHODS
        ),
    ],
)
def test_generic_job_route_refuses_unregistered_tasks_and_methods(
    module_runtime: Runtime, body: Any, field: str
) -> None:
    """tests/tasks covers POST /tasks; the generic job route takes the same payload by another door."""
    api = Client(create_app(lambda: module_runtime).resolve)
    admin = make_token(tenant=f"tenant-{uuid.uuid4().hex[:8]}", roles=["admin"])
    before = snapshot(module_runtime)
    answer = api.post(f"{V1}/jobs/generic-task", token=admin, json_body=body)
    assert answer.status == 422, answer.text
    assert field in answer.fields()
    assert snapshot(module_runtime) == before


@pytest.mark.parametrize("name", ["os.system", "__import__"])
def test_recurring_job_refuses_unregistered_tasks(module_runtime: Runtime, name: str) -> None:
    api = Client(create_app(lambda: module_runtime).resolve)
    admin = make_token(tenant=f"tenant-{uuid.uuid4().hex[:8]}", roles=["admin"])
    body = {"name": "run-task", "data": {"task": name, "params": {}}, "every": 60_000}
    before = snapshot(module_runtime)
    answer = api.post(f"{V1}/admin/jobs/generic-task/repeatable", token=admin, json_body=body)
    assert answer.status == 422, answer.text
    assert any(field.startswith("body.data") for field in answer.fields()), answer.text
    assert snapshot(module_runtime) == before
