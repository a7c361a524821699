"""The API's resolver: Powertools' HTTP API resolver with a gate in front of validation.

Powertools runs request validation before any middleware, so a middleware could only
check the token after the body was parsed. The gate runs first instead:

    event ─▶ route match ─▶ gate: body size (413), bearer token (401), JSON only (415)
          ─▶ Powertools validation (422) ─▶ route ─▶ exception handlers (errors.py)
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Collection
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.api_gateway import ResponseBuilder, Route

from jobline import auth
from jobline.api.deps import PRINCIPAL_KEY
from jobline.api.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType

# API Gateway takes up to 10 MB; a job payload is meant to fit an SQS message.
MAX_BODY_BYTES = 256 * 1024
JSON_MEDIA_TYPE = "application/json"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _reject_constant(name: str) -> Any:
    # json.loads accepts NaN and Infinity, which no other JSON reader (or the stores) does.
    raise json.JSONDecodeError(f"{name} is not valid JSON", name, 0)


def strict_json_loads(text: str | bytes) -> Any:
    """json.loads without NaN/Infinity or lone surrogates, and with deep nesting reported as bad JSON."""
    try:
        value = json.loads(text, parse_constant=_reject_constant)
        # `"\ud800"` parses to a string no UTF-8 writer (DynamoDB, S3, uuid5) can encode.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except RecursionError:
        raise json.JSONDecodeError("JSON nested too deeply", str(text)[:20], 0) from None
    except UnicodeEncodeError:
        raise json.JSONDecodeError("JSON string holds a lone surrogate", str(text)[:20], 0) from None
    return value


class JoblineResolver(APIGatewayHttpResolver):
    """An HTTP API (payload v2) resolver that checks size, token and media type before validation."""

    def __init__(self, *, public_routes: Collection[tuple[str, str]]) -> None:
        super().__init__(enable_validation=True, json_body_deserializer=strict_json_loads)
        self._public_routes = frozenset(public_routes)

    def _body_size(self) -> int:
        body = self.current_event.body or ""
        if not self.current_event.is_base64_encoded:
            return len(body.encode("utf-8", "surrogatepass"))
        try:
            raw = base64.b64decode(body, validate=True)
            raw.decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise InvalidRequest("body", "the body is not valid base64-encoded UTF-8") from exc
        return len(raw)

    def _admit(self, route: Route) -> None:
        if self._body_size() > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"the body is larger than {MAX_BODY_BYTES // 1024} KiB")
        headers = self.current_event.headers  # a case-insensitive mapping
        if (route.method, route.path) not in self._public_routes:
            self.append_context(**{PRINCIPAL_KEY: auth.authenticate(headers.get("authorization"))})
        # Powertools would parse forms and multipart bodies (and crash on a multipart type
        # without a boundary); this API takes JSON only.
        media_type = (headers.get("content-type") or "").split(";")[0].strip().lower()
        if media_type and media_type != JSON_MEDIA_TYPE and (self.current_event.body or route.method in BODY_METHODS):
            raise UnsupportedMediaType(f"send the body as {JSON_MEDIA_TYPE}, not {media_type}")

    def _call_route(self, route: Route, route_arguments: dict[str, str]) -> ResponseBuilder:
        # Overrides a private hook of Powertools 3.37 (pinned): the one place that runs for
        # every matched and unmatched route before the middleware stack.
        try:
            self._admit(route)
        except Exception as exc:
            handled = self._call_exception_handler(exc, route)
            if handled is None:
                raise
            return handled
        return super()._call_route(route, route_arguments)
