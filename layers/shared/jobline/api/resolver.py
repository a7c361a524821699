"""The API's resolver: Powertools' HTTP API resolver with a gate in front of validation.

    event ─▶ route match ─▶ gate: body size (413), bearer token (401), JSON only (415),
                                  body types checked strictly (422)
          ─▶ Powertools validation (422) ─▶ route ─▶ exception handlers (errors.py)

The gate must come before validation: a caller without a token learns nothing of a route's
schema from a 422, an oversized or multipart body is never parsed, and a JSON media type
written in capitals must be normalised before Powertools picks its parser by it. None of
Powertools' public hooks (3.37, pinned) runs there, so the gate overrides the private
`_call_route`, the one method every matched and unmatched route passes through:

- `app.use(middlewares=[...])` and route `middlewares=`: `Route._build_middleware_stack`
  puts `OpenAPIRequestValidationMiddleware` first, before router and route middlewares.
- `Depends()` (as `deps.CallerDep`): solved by `_registered_api_adapter`, the stack's last
  frame, after validation.
- `@app.exception_handler(RequestValidationError)`: called only once validation has failed;
  a valid request without a token would pass, and the body was already parsed.
- `enable_validation=False` with the validation middlewares added after the gate by
  `app.use`: the resolver's flag also writes the 422 answers into the OpenAPI document, and
  turning it off route by route leaves any route that forgets validating before the gate.
- overriding the public `resolve()`: runs before the route is matched, and the gate needs
  the matched `Route` (is it public, what body model does it take).

tests/api/test_resolver_hook.py fails when an upgrade changes the hook's signature, stops
routing unmatched requests through it, or starts running middlewares before validation
(when the gate could move to `app.use`).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
from collections.abc import Collection
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.api_gateway import ResponseBuilder, Route
from aws_lambda_powertools.event_handler.openapi.compat import ModelField
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError

from jobline import auth
from jobline.api.deps import PRINCIPAL_KEY
from jobline.api.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from jobline.telemetry.observability import logger

# API Gateway takes up to 10 MB; a job payload is meant to fit an SQS message.
MAX_BODY_BYTES = 256 * 1024
JSON_MEDIA_TYPE = "application/json"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _reject_constant(name: str) -> Any:
    # json.loads accepts NaN and Infinity, which no other JSON reader (or the stores) does.
    raise json.JSONDecodeError(f"{name} is not valid JSON", name, 0)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        # `1e999` parses to inf, which the answer could only write back as `Infinity` (not JSON).
        raise json.JSONDecodeError(f"number {text[:20]} is out of range", text, 0)
    return value


def strict_json_loads(text: str | bytes) -> Any:
    """json.loads without NaN/Infinity (literal or by overflow) or lone surrogates, deep nesting and
    over-long integers reported as bad JSON."""
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
        # `"\ud800"` parses to a string no UTF-8 writer (DynamoDB, S3, uuid5) can encode.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except RecursionError:
        raise json.JSONDecodeError("JSON nested too deeply", str(text)[:20], 0) from None
    except UnicodeEncodeError:
        raise json.JSONDecodeError("JSON string holds a lone surrogate", str(text)[:20], 0) from None
    except json.JSONDecodeError:
        raise
    except ValueError as exc:
        # Python refuses to read an integer of more than 4300 digits (CVE-2020-10735).
        raise json.JSONDecodeError(f"number too long: {exc}", str(text)[:20], 0) from None
    return value


@functools.lru_cache(maxsize=256)
def _strict_adapter(field: ModelField) -> TypeAdapter[Any]:
    # The type Powertools validates the body against, built the same way (ModelField hashes by identity).
    annotated: Any = Annotated[field.field_info.annotation, field.field_info]
    return TypeAdapter(annotated)


def strict_body_errors(field: ModelField, text: str) -> list[dict[str, Any]]:
    """What is wrong with a JSON body in strict mode (no `false` for 0, `"5"` for 5, 0 for a date), as
    pydantic errors located under `body`. Its JSON reader also refuses nesting deeper than 200 levels."""
    try:
        _strict_adapter(field).validate_json(text, strict=True)
    except ValidationError as exc:
        return [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
    return []


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
            principal = auth.authenticate(headers.get("authorization"))
            self.append_context(**{PRINCIPAL_KEY: principal})
            # Every later line of this request names its tenant (the handler clears it after).
            # Thread-local: the local stack serves requests and runs workers in one process.
            logger.thread_safe_append_keys(tenant_id=principal.tenant_id)
        # Powertools would parse forms and multipart bodies (and crash on a multipart type
        # without a boundary); this API takes JSON only.
        content_type = headers.get("content-type") or ""
        media_type = content_type.split(";")[0].strip().lower()
        if media_type and media_type != JSON_MEDIA_TYPE and (self.current_event.body or route.method in BODY_METHODS):
            raise UnsupportedMediaType(f"send the body as {JSON_MEDIA_TYPE}, not {media_type}")
        if media_type == JSON_MEDIA_TYPE and not content_type.startswith(JSON_MEDIA_TYPE):
            self._normalise_content_type(content_type)
        self._check_body_types(route)

    def _normalise_content_type(self, content_type: str) -> None:
        # Media types are case-insensitive (RFC 9110, 8.3.1), but Powertools compares the
        # header as written and would answer `APPLICATION/JSON` with 415.
        _, separator, parameters = content_type.partition(";")
        raw_headers = self.current_event.raw_event.get("headers") or {}
        for name in raw_headers:
            if name.lower() == "content-type":
                raw_headers[name] = f"{JSON_MEDIA_TYPE}{separator}{parameters}"

    def _check_body_types(self, route: Route) -> None:
        # Powertools validates in pydantic's lax Python mode, where `false` is 0, `"yes"` is
        # true, 0 is 1970-01-01 and a JSON array stands for its first item: `[{"delayed": true}]`
        # would drain a queue. JSON has types of its own, so the body is checked against them.
        fields = route.dependant.body_params
        text = self.current_event.decoded_body
        if len(fields) != 1 or getattr(fields[0].field_info, "embed", None) or not text:
            return  # every body of this API is one model; an empty one is Powertools' to report
        try:
            self.current_event.json_body  # noqa: B018 - parsed once here, cached for validation
        except json.JSONDecodeError:
            return  # Powertools' validation reports malformed JSON on `body`
        errors = strict_body_errors(fields[0], text)
        if errors:
            raise RequestValidationError(errors)

    def _call_route(self, route: Route, route_arguments: dict[str, str]) -> ResponseBuilder:
        # Overrides a private hook of Powertools 3.37 (pinned): the one place that runs for
        # every matched and unmatched route before validation (the module docstring says why
        # no public hook does; tests/api/test_resolver_hook.py guards the signature).
        try:
            self._admit(route)
        except Exception as exc:
            handled = self._call_exception_handler(exc, route)
            if handled is None:
                raise
            return handled
        return super()._call_route(route, route_arguments)
