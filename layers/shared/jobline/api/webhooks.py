"""Webhook signing for tenant admins: the key that verifies their tenant's job callbacks.

Each tenant's key is derived from the master secret in SSM (engine/callbacks.py), so an admin
reads only their own tenant's key: the route takes no tenant, it is the caller's token's.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import Field

from jobline.api import deps
from jobline.api.envelope import Envelope, responses
from jobline.api.schemas import ApiModel
from jobline.engine import callbacks
from jobline.telemetry.observability import logger

router = APIGatewayHttpRouter()
TAGS = ["webhooks"]
SIGNING_KEY_PATH = "/webhooks/signing-key"


class SigningKeyView(ApiModel):
    tenant_id: str
    signing_key: str = Field(description="the HMAC-SHA256 key, used as the bytes of this hex string")
    algorithm: str = "HMAC-SHA256"
    webhook_id_header: str = callbacks.WEBHOOK_ID_HEADER
    signature_header: str = callbacks.SIGNATURE_HEADER
    signed_content: str = Field(default="<webhook id>.<t>.<raw body>", description="what v1 is the HMAC of")


@router.get(
    SIGNING_KEY_PATH,
    summary="Your tenant's webhook signing key",
    tags=TAGS,
    responses=responses(HTTPStatus.FORBIDDEN, HTTPStatus.SERVICE_UNAVAILABLE),
)
def signing_key(runtime: deps.RuntimeDep, admin: deps.AdminDep) -> Response[Envelope[Any]]:
    """The key that verifies the `X-Jobline-Signature` of your tenant's callbacks (admins only).
    Callbacks of other tenants are signed with keys of their own, which this never answers."""
    try:
        key = callbacks.tenant_signing_key(runtime.settings, admin.tenant_id)
    except callbacks.SigningUnavailable as exc:
        logger.warning("webhook signing key unavailable", extra={"reason": str(exc)})
        raise ServiceError(HTTPStatus.SERVICE_UNAVAILABLE, "webhook signing is not configured") from exc
    view = SigningKeyView(tenant_id=admin.tenant_id, signing_key=key)
    return Response(
        status_code=HTTPStatus.OK,
        content_type=content_types.APPLICATION_JSON,
        body=Envelope[Any](message="webhook signing key", data=view.model_dump(mode="json", by_alias=True)),
        # A secret: no shared cache or browser history may keep it.
        headers={"Cache-Control": "no-store"},
    )
