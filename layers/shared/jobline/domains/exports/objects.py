"""Tenant-confined S3 keys and presigned URLs for uploads, exports and reports.

Every object a tenant may name lives under `<area>/<tenant>/`. The tenant id is
percent-encoded into one path segment, so no tenant's prefix can be another's
(`a` vs `a/b`), and a key is accepted only if every segment after the prefix is a
plain name: no `.`/`..` segments, no empty segments, no backslashes or control characters.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import uuid
from typing import Any
from urllib.parse import quote

import boto3
from botocore.config import Config

from jobline.config import Settings
from jobline.core.errors import InvalidPayload

UPLOADS = "uploads"
EXPORTS = "exports"
REPORTS = "reports"
DOWNLOAD_SECONDS = 3_600
UPLOAD_SECONDS = 900
MAX_KEY_CHARS = 512
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")  # used with fullmatch: `$` would allow a trailing newline


class KeyOutsideTenant(InvalidPayload):
    """A key that is not a plain object name under the caller's own prefix: answered with 422."""

    def __init__(self, key: str, prefix: str, *, field: str = "key") -> None:
        super().__init__([{"loc": (field,), "msg": f"must be an object key under {prefix}", "type": "value_error"}])
        self.key = key


def tenant_segment(tenant_id: str) -> str:
    """The tenant id as one safe key segment (percent-encoded; `.` and `..` encoded too)."""
    segment = quote(tenant_id, safe="")
    return segment.replace(".", "%2E") if set(segment) <= {"."} else segment


def tenant_prefix(area: str, tenant_id: str) -> str:
    """`<area>/<tenant>/`: the only place a tenant's objects of that area live."""
    return f"{area}/{tenant_segment(tenant_id)}/"


def new_upload_key(tenant_id: str, *, kind: str, extension: str) -> str:
    """A fresh key for one upload: `uploads/<tenant>/<kind>/<uuid>.<ext>`."""
    return f"{tenant_prefix(UPLOADS, tenant_id)}{kind}/{uuid.uuid4()}.{extension}"


def check_tenant_key(key: str, tenant_id: str, *, area: str = UPLOADS, field: str = "key") -> str:
    """`key`, if it names an object under the tenant's prefix of `area`; KeyOutsideTenant otherwise."""
    prefix = tenant_prefix(area, tenant_id)
    rest = key[len(prefix) :] if key.startswith(prefix) else ""
    if not rest or len(key) > MAX_KEY_CHARS or not all(_NAME.fullmatch(part) for part in rest.split("/")):
        raise KeyOutsideTenant(key, prefix, field=field)
    return key


@functools.lru_cache(maxsize=4)
def _signer(endpoint_url: str | None) -> Any:
    # SigV4 always: botocore would sign us-east-1 URLs with SigV2, which buckets made
    # since 2020 refuse. Path style for a local endpoint, which has no bucket subdomains.
    config = Config(signature_version="s3v4", s3={"addressing_style": "path" if endpoint_url else "virtual"})
    return boto3.client("s3", endpoint_url=endpoint_url, config=config)


def signer(settings: Settings) -> Any:
    """An S3 client that only signs URLs (no request is made with it)."""
    return _signer(settings.aws_endpoint_url)


def presigned_get(
    settings: Settings, *, key: str, filename: str, now: dt.datetime, seconds: int = DOWNLOAD_SECONDS
) -> tuple[str, dt.datetime]:
    """A download URL for the bucket's object, as an attachment named `filename`, and when it expires."""
    url = signer(settings).generate_presigned_url(
        "get_object",
        Params={
            "Bucket": settings.jobline_bucket,
            "Key": key,
            "ResponseContentDisposition": f'attachment; filename="{filename}"',
        },
        ExpiresIn=seconds,
    )
    return url, now + dt.timedelta(seconds=seconds)


def presigned_post(
    settings: Settings,
    *,
    key: str,
    content_type: str,
    max_bytes: int,
    now: dt.datetime,
    seconds: int = UPLOAD_SECONDS,
) -> tuple[str, dict[str, str], dt.datetime]:
    """A browser-style upload (POST of a form) of the bucket's object: its URL, the form fields to
    send with the file, and when it expires.

    Unlike a presigned PUT, the signed policy carries a `content-length-range`, so S3 itself
    refuses a file over `max_bytes` (or an empty one) before a byte is stored.
    """
    post = signer(settings).generate_presigned_post(
        Bucket=settings.jobline_bucket,
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
        ExpiresIn=seconds,
    )
    return str(post["url"]), {str(k): str(v) for k, v in post["fields"].items()}, now + dt.timedelta(seconds=seconds)
