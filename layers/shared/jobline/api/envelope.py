"""The answer envelope every JSON route uses, and the OpenAPI entries for error answers."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, Field


class Envelope[DataT](BaseModel):
    """A successful answer: `{"success": true, "message": ..., "data": ...}`."""

    success: bool = True
    message: str
    data: DataT


class ErrorItem(BaseModel):
    """One problem with the request: the field at fault (`body.startDate`, `query.end`) and why."""

    field: str | None = None
    message: str


class ErrorEnvelope(BaseModel):
    """A failed answer: `{"success": false, "message": ..., "errors": [...]}`."""

    success: bool = False
    message: str
    errors: list[ErrorItem] = Field(default_factory=list)


def ok(view: BaseModel, message: str, *, status: int = HTTPStatus.OK) -> Response[Envelope[Any]]:
    """A success answer with a status other than the route's default; `view` is written by its aliases,
    as the route's return type would have it."""
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=Envelope[Any](message=message, data=view.model_dump(mode="json", by_alias=True)),
    )


def fail(
    status: int, message: str, errors: list[ErrorItem] | None = None, *, headers: dict[str, str] | None = None
) -> Response[dict[str, Any]]:
    """An error answer in the envelope."""
    body = ErrorEnvelope(message=message, errors=errors or [])
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=body.model_dump(mode="json"),
        headers=headers,
    )


def responses(
    *errors: int, success: tuple[int, ...] = (HTTPStatus.OK,), public: bool = False
) -> dict[int, OpenAPIResponse]:
    """OpenAPI responses of a route: its success codes (schema from the return type) and error codes."""
    documented: dict[int, OpenAPIResponse] = {int(code): {"description": HTTPStatus(code).phrase} for code in success}
    # Every route may get a request it cannot parse; every protected one may lack a token.
    always = {HTTPStatus.UNPROCESSABLE_ENTITY} if public else {HTTPStatus.UNAUTHORIZED, HTTPStatus.UNPROCESSABLE_ENTITY}
    for code in sorted({*always, *errors}):
        documented[int(code)] = {
            "description": HTTPStatus(code).phrase,
            "content": {content_types.APPLICATION_JSON: {"model": ErrorEnvelope}},
        }
    return documented
