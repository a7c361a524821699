"""Bulk-upload routes: rows in the request, or a presigned upload to S3 for files over the body limit.

small:  POST /bulk-upload/<kind> {"rows": [...]}                      ─▶ 202 job
large:  POST /bulk-upload/<kind>/upload-url ─▶ PUT the file to the URL ─▶ POST …/from-s3 {"key"} ─▶ 202 job
then:   GET  /bulk-upload/<kind>/<jobId>                                ─▶ state, progress, result
"""

from __future__ import annotations

import datetime as dt
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import Field

from jobline import operations
from jobline.api import deps
from jobline.api.envelope import Envelope, ok, responses
from jobline.api.models import ApiModel, JobCreated, JobIdPath, JobView
from jobline.bulk import service
from jobline.bulk.kinds import get_kind
from jobline.bulk.schemas import DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, BulkKindName, UploadFormat
from jobline.enqueue import Enqueued, JobOptions

router = APIGatewayHttpRouter()
TAGS = ["bulk-upload"]

KindPath = Annotated[
    BulkKindName,
    Path(description="What the rows are: mechanics, service-providers or policies.", examples=["mechanics"]),
]
ChunkSize = Field(default=DEFAULT_CHUNK_SIZE, ge=1, le=MAX_CHUNK_SIZE, description="rows per upsert statement")


class BulkRowsRequest(ApiModel):
    """Rows as objects with the kind's fields (mechanics: firstName, lastName, email, mobileNumber; service
    providers: name, email; policies: policyNumber, type). Each row is validated on its own in the job."""

    rows: list[dict[str, Any]] = Field(min_length=1, max_length=20_000)
    chunk_size: int = ChunkSize
    options: JobOptions | None = None


class UploadUrlRequest(ApiModel):
    format: UploadFormat = UploadFormat.CSV


class FromS3Request(ApiModel):
    key: str = Field(min_length=1, max_length=1024, description="the key the upload-url route gave")
    format: UploadFormat = UploadFormat.CSV
    chunk_size: int = ChunkSize
    options: JobOptions | None = None


class UploadUrl(ApiModel):
    key: str
    upload_url: str
    method: str = "PUT"
    headers: dict[str, str]
    expires_at: dt.datetime
    max_bytes: int


def _queued(result: Enqueued, message: str) -> Response[Envelope[JobCreated]]:
    view = JobCreated.of(result)
    status = HTTPStatus.ACCEPTED if result.created else HTTPStatus.OK
    return ok(view.model_dump(mode="json", by_alias=True), message, status=status)


@router.post(
    "/bulk-upload/<kind>",
    summary="Upload rows in bulk (up to the 256 KiB body limit)",
    tags=TAGS,
    responses=responses(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, success=(HTTPStatus.ACCEPTED, HTTPStatus.OK)),
)
def upload_rows(
    kind: KindPath, body: Annotated[BulkRowsRequest, Body()], runtime: deps.RuntimeDep, caller: deps.CallerDep
) -> Response[Envelope[JobCreated]]:
    """Answers 202 with the job; its result gives uploaded, failed and per-row errors."""
    result = service.enqueue_rows(
        runtime,
        kind,
        body.rows,
        tenant_id=caller.tenant_id,
        user_id=caller.user_id,
        options=body.options,
        chunk_size=body.chunk_size,
    )
    return _queued(result, f"bulk upload of {len(body.rows)} {kind.value} rows queued")


@router.post(
    "/bulk-upload/<kind>/upload-url",
    summary="A presigned URL to PUT a large CSV or JSON-lines file to",
    tags=TAGS,
    responses=responses(),
)
def upload_url(
    kind: KindPath,
    runtime: deps.RuntimeDep,
    caller: deps.CallerDep,
    body: Annotated[UploadUrlRequest | None, Body()] = None,
) -> Envelope[UploadUrl]:
    """PUT the file with the given headers before the URL expires, then call from-s3 with the key."""
    target = service.upload_target(runtime, kind, (body or UploadUrlRequest()).format, tenant_id=caller.tenant_id)
    view = UploadUrl(
        key=target.key,
        upload_url=target.url,
        headers={"Content-Type": target.content_type},
        expires_at=target.expires_at,
        max_bytes=target.max_bytes,
    )
    return Envelope(message="upload URL created", data=view)


@router.post(
    "/bulk-upload/<kind>/from-s3",
    summary="Upload rows in bulk from a file PUT to an upload URL",
    tags=TAGS,
    responses=responses(HTTPStatus.NOT_FOUND, success=(HTTPStatus.ACCEPTED, HTTPStatus.OK)),
)
def upload_from_s3(
    kind: KindPath, body: Annotated[FromS3Request, Body()], runtime: deps.RuntimeDep, caller: deps.CallerDep
) -> Response[Envelope[JobCreated]]:
    """The key must be one of the caller's uploads (422 otherwise) and must exist (404 otherwise)."""
    result = service.enqueue_from_s3(
        runtime,
        kind,
        body.key,
        body.format,
        tenant_id=caller.tenant_id,
        user_id=caller.user_id,
        options=body.options,
        chunk_size=body.chunk_size,
    )
    return _queued(result, f"bulk upload of {kind.value} from {body.format.value} file queued")


@router.get(
    "/bulk-upload/<kind>/<jobId>",
    summary="A bulk-upload job: state, progress and result",
    tags=TAGS,
    responses=responses(HTTPStatus.NOT_FOUND),
)
def upload_job(
    kind: KindPath, job_id: JobIdPath, runtime: deps.RuntimeDep, caller: deps.CallerDep
) -> Envelope[JobView]:
    """The job, if it is the caller's upload of this kind (404 otherwise, so ids do not leak)."""
    job = operations.get_job(runtime, job_id, queue=get_kind(kind).queue, tenant_id=caller.scope)
    return Envelope(message="job found", data=JobView.of(job))
