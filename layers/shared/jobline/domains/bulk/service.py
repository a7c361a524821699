"""Bulk uploads as the API asks for them: enqueue rows, hand out an upload URL, start from an uploaded object."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from botocore.exceptions import ClientError

from jobline.core.errors import NotFound
from jobline.domains.bulk import jobs as _jobs  # noqa: F401 - the job types must be registered to enqueue them
from jobline.domains.bulk.kinds import JOB_NAME, get_kind
from jobline.domains.bulk.schemas import DEFAULT_CHUNK_SIZE, BulkKindName, UploadFormat
from jobline.domains.exports import objects
from jobline.engine.enqueue import Enqueued, JobOptions, enqueue
from jobline.runtime import Runtime

CONTENT_TYPES = {UploadFormat.CSV: "text/csv", UploadFormat.JSONL: "application/x-ndjson"}


class UploadNotFound(NotFound):
    def __init__(self, key: str) -> None:
        super().__init__(f"no uploaded object at {key!r}; PUT the file to the upload URL first")


@dataclasses.dataclass(frozen=True)
class UploadTarget:
    """Where and how to POST a large upload (the form `fields`, then the file), and until when the URL works."""

    key: str
    url: str
    content_type: str
    expires_at: dt.datetime
    max_bytes: int
    fields: dict[str, str]


def enqueue_rows(
    runtime: Runtime,
    kind: BulkKindName,
    rows: list[dict[str, Any]],
    *,
    tenant_id: str,
    user_id: str | None = None,
    options: JobOptions | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Enqueued:
    """A bulk-upload job for rows given in the request."""
    return enqueue(
        runtime,
        queue=get_kind(kind).queue,
        name=JOB_NAME,
        data={"rows": rows, "chunkSize": chunk_size},
        tenant_id=tenant_id,
        user_id=user_id,
        options=options,
    )


def upload_target(runtime: Runtime, kind: BulkKindName, format: UploadFormat, *, tenant_id: str) -> UploadTarget:
    """A fresh key under the tenant's uploads and a presigned POST for it, bounded by JOBLINE_MAX_UPLOAD_BYTES.

    A POST, not a PUT: a presigned PUT cannot bound the size of what is sent, and S3 would store
    a file of any size under the tenant's prefix; the POST's signed policy makes S3 refuse it.
    """
    key = objects.new_upload_key(tenant_id, kind=kind.value, extension=format.value)
    content_type = CONTENT_TYPES[format]
    max_bytes = runtime.settings.jobline_max_upload_bytes
    url, fields, expires = objects.presigned_post(
        runtime.settings, key=key, content_type=content_type, max_bytes=max_bytes, now=runtime.clock()
    )
    return UploadTarget(
        key=key, url=url, content_type=content_type, expires_at=expires, max_bytes=max_bytes, fields=fields
    )


def enqueue_from_s3(
    runtime: Runtime,
    kind: BulkKindName,
    key: str,
    format: UploadFormat,
    *,
    tenant_id: str,
    user_id: str | None = None,
    options: JobOptions | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Enqueued:
    """A bulk-upload job that streams the uploaded object; the key must be the tenant's and must exist."""
    objects.check_tenant_key(key, tenant_id)
    try:
        runtime.client("s3").head_object(Bucket=runtime.settings.jobline_bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
            raise UploadNotFound(key) from exc
        raise
    return enqueue(
        runtime,
        queue=get_kind(kind).queue,
        name=JOB_NAME,
        data={"source": {"key": key, "format": format.value}, "chunkSize": chunk_size},
        tenant_id=tenant_id,
        user_id=user_id,
        options=options,
    )
