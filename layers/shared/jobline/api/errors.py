"""Errors to HTTP answers, by exception type, all in the error envelope."""

from __future__ import annotations

import math
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

import redis
import sqlalchemy.exc
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError, ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from botocore.exceptions import BotoCoreError, ClientError

from jobline.api.envelope import ErrorItem, fail
from jobline.auth import AuthenticationError, MissingToken, PermissionDenied
from jobline.core import errors
from jobline.core.registry import NeedsRole, QuotaExceeded
from jobline.telemetry.observability import logger


class PayloadTooLarge(Exception):
    """The request body is over the API's limit."""


class UnsupportedMediaType(Exception):
    """The request body is not JSON; every route takes application/json."""


class ForeignSubAccount(PermissionDenied):
    """A body names a sub-account (the bee-queue system's tenant) that is not the caller's: 403 naming where."""

    def __init__(self, message: str, *, field: str = "body.subAccountId") -> None:
        super().__init__(message)
        self.field = field


class InvalidRequest(Exception):
    """A request that passed the schema but breaks a rule across fields; answered with 422."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _field(error: dict[str, Any], prefix: str) -> str:
    # A JSON decode error's location is a character offset, and a model-level error has
    # no location at all: either way the field is the body.
    if error.get("type") == "json_invalid":
        return "body"
    path = ".".join(str(part) for part in error.get("loc", ()))
    return f"{prefix}{path}" if path else "body"


def validation_items(raw: Iterable[dict[str, Any]], *, prefix: str = "") -> list[ErrorItem]:
    """Pydantic-style errors (`loc`, `msg`) as envelope items."""
    items = []
    for error in raw:
        field = _field(error, prefix)
        message = str(error.get("msg") or error.get("type") or "invalid value")
        if error.get("type") == "json_invalid":
            detail = (error.get("ctx") or {}).get("error")
            message = f"malformed JSON: {detail}" if detail else "malformed JSON"
        items.append(ErrorItem(field=field, message=message))
    return items


def _unauthorized(exc: AuthenticationError) -> Response:
    challenge = 'Bearer realm="jobline"'
    if not isinstance(exc, MissingToken):
        challenge += ', error="invalid_token"'
    return fail(HTTPStatus.UNAUTHORIZED, str(exc), headers={"WWW-Authenticate": challenge})


def _request_invalid(exc: RequestValidationError) -> Response:
    return fail(HTTPStatus.UNPROCESSABLE_ENTITY, "invalid request", validation_items(exc.errors()))


def _payload_invalid(exc: errors.InvalidPayload) -> Response:
    return fail(HTTPStatus.UNPROCESSABLE_ENTITY, "invalid job data", validation_items(exc.errors, prefix="body."))


def _backing_service_down(exc: Exception) -> Response:
    logger.exception("a backing service failed")
    return fail(HTTPStatus.SERVICE_UNAVAILABLE, "a backing service is unavailable, try again")


# SQS allows one purge per queue a minute: a second "clear failed" within it is retried later.
_RETRY_LATER_CODES = frozenset({"PurgeQueueInProgress", "AWS.SimpleQueueService.PurgeQueueInProgress"})


def _aws_error(exc: ClientError) -> Response:
    error = exc.response.get("Error", {})
    if {error.get("Code"), error.get("QueryErrorCode")} & _RETRY_LATER_CODES:
        message = "a queue was purged less than a minute ago, try again later"
        return fail(HTTPStatus.TOO_MANY_REQUESTS, message, headers={"Retry-After": "60"})
    return _backing_service_down(exc)


def _quota_exceeded(exc: QuotaExceeded) -> Response:
    headers = {"Retry-After": str(math.ceil(exc.retry_after))}
    return fail(HTTPStatus.TOO_MANY_REQUESTS, str(exc), [ErrorItem(field=exc.field, message=str(exc))], headers=headers)


def _unexpected(exc: Exception) -> Response:
    logger.exception("unhandled error")
    return fail(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error")


def register(app: APIGatewayHttpResolver) -> None:
    """Install the handlers on `app`; lookup is by type, most specific class first."""
    handlers: dict[type[Exception], Any] = {
        AuthenticationError: _unauthorized,
        PermissionDenied: lambda exc: fail(HTTPStatus.FORBIDDEN, str(exc)),
        ForeignSubAccount: lambda exc: fail(
            HTTPStatus.FORBIDDEN, str(exc), [ErrorItem(field=exc.field, message=str(exc))]
        ),
        NeedsRole: lambda exc: fail(HTTPStatus.FORBIDDEN, str(exc), [ErrorItem(field=exc.field, message=str(exc))]),
        QuotaExceeded: _quota_exceeded,
        PayloadTooLarge: lambda exc: fail(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE, str(exc), [ErrorItem(field="body", message=str(exc))]
        ),
        InvalidRequest: lambda exc: fail(
            HTTPStatus.UNPROCESSABLE_ENTITY, "invalid request", [ErrorItem(field=exc.field, message=str(exc))]
        ),
        RequestValidationError: _request_invalid,
        UnsupportedMediaType: lambda exc: fail(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE, str(exc), [ErrorItem(field="header.content-type", message=str(exc))]
        ),
        RequestUnsupportedContentType: lambda exc: fail(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send the body as application/json", validation_items(exc.errors())
        ),
        NotFoundError: lambda exc: fail(
            HTTPStatus.NOT_FOUND,
            "no such route",
            [ErrorItem(field="path", message="no route has this method and path")],
        ),
        ServiceError: lambda exc: fail(exc.status_code, exc.msg),
        errors.NotFound: lambda exc: fail(HTTPStatus.NOT_FOUND, str(exc)),
        errors.UnknownQueue: lambda exc: fail(
            HTTPStatus.NOT_FOUND, str(exc), [ErrorItem(field="queue", message=str(exc))]
        ),
        errors.UnknownJobType: lambda exc: fail(
            HTTPStatus.UNPROCESSABLE_ENTITY, str(exc), [ErrorItem(field="name", message=str(exc))]
        ),
        errors.InvalidPayload: _payload_invalid,
        errors.Conflict: lambda exc: fail(HTTPStatus.CONFLICT, str(exc)),
        # Someone else changed the job between our read and our write: the caller may retry.
        errors.StaleJob: lambda exc: fail(HTTPStatus.CONFLICT, str(exc)),
        errors.EnqueueFailed: _backing_service_down,
        ClientError: _aws_error,
        BotoCoreError: _backing_service_down,
        redis.RedisError: _backing_service_down,
        sqlalchemy.exc.OperationalError: _backing_service_down,
        sqlalchemy.exc.InterfaceError: _backing_service_down,
        Exception: _unexpected,
    }
    for exc_type, handler in handlers.items():
        app.exception_handler(exc_type)(handler)
