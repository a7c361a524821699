"""The HTTP API's Lambda REQUEST authorizer: API Gateway asks it about every route that needs a token.

Flood control, not a new authority: API Gateway answers 401 itself (no Lambda call) when a
request has no `Authorization` header, caches each answer per header value for a few minutes
(template.yaml, JoblineAuthorizer), and answers 403 when this says no, so a flood of missing or
repeated bad tokens never reaches the API function. The token is checked with the API's own
code (`jobline.auth`: same secret, JWKS, audience, issuer, lifetime and tenant rules), and the
API function still checks it again on every request (defence in depth).

Cold start matters (every first request of a burst waits for it): this imports the auth module
and Powertools' logger only, never the database, the runtime or the domains.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.logging import Logger

from jobline import auth

logger = Logger(service="jobline")
AUTHORIZATION = "authorization"


def _authorization_header(event: Mapping[str, Any]) -> str | None:
    """The request's Authorization header (payload 2.0 lower-cases header names; be lenient anyway)."""
    headers = event.get("headers")
    if not isinstance(headers, Mapping):
        return None
    for name, value in headers.items():
        if isinstance(name, str) and name.lower() == AUTHORIZATION and isinstance(value, str):
            return value
    return None


def _deny(event: Mapping[str, Any], reason: str) -> dict[str, Any]:
    # The reason, the route and the caller's address; never the token itself.
    context = event.get("requestContext")
    context = context if isinstance(context, Mapping) else {}
    http = context.get("http")
    http = http if isinstance(http, Mapping) else {}
    logger.info(
        "request refused at the gateway",
        extra={"reason": reason, "route_key": event.get("routeKey"), "source_ip": http.get("sourceIp")},
    )
    return {"isAuthorized": False}


def authorize(event: Mapping[str, Any]) -> dict[str, Any]:
    """A simple response (payload 2.0) for one request: allowed with its caller, or refused.

    Never raises: an exception would be a 500 at the gateway for the caller, where a refusal is
    a 403. Anything that is not a valid token (a missing or malformed header, a bad signature,
    an expired token, the wrong audience or issuer, no tenant) is a refusal; so is a failure to
    read the secret (SSM) or the JWKS, logged as an error, as the API would refuse the token too.
    """
    try:
        principal = auth.authenticate(_authorization_header(event))
    except auth.AuthenticationError as exc:
        return _deny(event, str(exc))
    except Exception:
        logger.exception("the authorizer could not check the token")
        return _deny(event, "the token could not be checked")
    # Strings only: what API Gateway passes on to the API at requestContext.authorizer.lambda.
    return {
        "isAuthorized": True,
        "context": {
            "tenantId": principal.tenant_id,
            "userId": principal.user_id,
            "roles": ",".join(sorted(principal.roles)),
        },
    }


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """API Gateway's Lambda authorizer entry point (functions/authorizer/app.py re-exports it)."""
    return authorize(event)
