"""The resolver's gate overrides Powertools' private `_call_route` (api/resolver.py says why no public hook
fits). These tests fail loudly when a Powertools upgrade moves what the override stands on."""

from __future__ import annotations

import inspect
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import ResponseBuilder, Route
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import BaseModel

from jobline.api.resolver import JoblineResolver
from tests.api.helpers import Client

UPGRADE_NOTE = "Powertools changed the private hook api/resolver.py overrides: read its docstring before upgrading"


def test_the_overridden_hook_keeps_its_signature() -> None:
    # `JoblineResolver._call_route` takes and returns what Powertools' own does; a renamed, moved or
    # re-typed hook would leave the gate (token, size, media type) silently unused.
    powertools = inspect.signature(APIGatewayHttpResolver._call_route)
    assert list(powertools.parameters) == ["self", "route", "route_arguments"], UPGRADE_NOTE
    hints = inspect.get_annotations(APIGatewayHttpResolver._call_route)
    assert hints == {"route": "Route", "route_arguments": "dict[str, str]", "return": "ResponseBuilder"}, UPGRADE_NOTE
    assert list(inspect.signature(JoblineResolver._call_route).parameters) == list(powertools.parameters)


def test_the_hook_runs_for_matched_and_unmatched_routes() -> None:
    # The gate answers 401 on any route, known or not, only while Powertools routes both through `_call_route`.
    seen: list[str] = []
    app = JoblineResolver(public_routes=())
    app.get("/known")(lambda: {"ok": True})

    def gate(route: Route, route_arguments: dict[str, str]) -> ResponseBuilder:
        seen.append(route.path)
        return APIGatewayHttpResolver._call_route(app, route, route_arguments)

    app._call_route = gate  # type: ignore[method-assign]
    client = Client(app.resolve)
    for path in ("/known", "/unknown"):
        client.get(path)
    assert seen == ["/known", "/unknown"], UPGRADE_NOTE


class Item(BaseModel):
    count: int


def test_request_validation_still_runs_before_any_middleware() -> None:
    # The reason for the override: were a middleware to run before validation, `app.use` could hold the
    # gate instead, and this test says it is time to move it there.
    reached: list[str] = []

    def middleware(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
        reached.append("middleware")
        return next_middleware(app)

    app = APIGatewayHttpResolver(enable_validation=True)
    app.use(middlewares=[middleware])

    @app.post("/items")
    def add_item(item: Annotated[Item, Body()]) -> dict[str, int]:
        return {"count": item.count}

    client = Client(app.resolve)
    assert client.post("/items", json_body={"count": "many"}).status == 422
    assert reached == [], "a middleware now runs before validation: the gate may move to app.use (api/resolver.py)"
    assert client.post("/items", json_body={"count": 1}).status == 200
    assert reached == ["middleware"]
