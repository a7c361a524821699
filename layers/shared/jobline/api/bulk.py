"""Bulk-upload routes: rows in the request, or a presigned upload to S3 for files over the body limit.

small:  POST /bulk-upload/<kind> [...] or {"rows": [...]}              ─▶ 202 job
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
from pydantic import Field, RootModel, ValidationError, ValidatorFunctionWrapHandler, WrapValidator
from pydantic_core import InitErrorDetails, PydanticCustomError

from jobline.api import deps
from jobline.api.envelope import Envelope, ok, responses
from jobline.api.schemas import ApiModel, JobCreated, JobIdPath, JobView
from jobline.domains.bulk import service
from jobline.domains.bulk.kinds import get_kind
from jobline.domains.bulk.schemas import DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, BulkKindName, UploadFormat
from jobline.engine.enqueue import Enqueued, JobOptions

router = APIGatewayHttpRouter()
TAGS = ["bulk-upload"]

KindPath = Annotated[
    BulkKindName,
    Path(description="What the rows are: mechanics, service-providers or policies.", examples=["mechanics"]),
]
ChunkSize = Field(default=DEFAULT_CHUNK_SIZE, ge=1, le=MAX_CHUNK_SIZE, description="rows per upsert statement")


MAX_ROWS = 20_000
RowList = Annotated[list[dict[str, Any]], Field(min_length=1, max_length=MAX_ROWS)]


class BulkRowsRequest(ApiModel):
    """Rows as objects with the kind's fields (mechanics: firstName, lastName, email, mobileNumber; service
    providers: name, email; policies: policyNumber, type). Each row is validated on its own in the job."""

    rows: RowList
    chunk_size: int = ChunkSize
    options: JobOptions | None = None


class RowArray(RootModel[RowList]):
    """Seed 004's body: the bare JSON array of rows."""


def _rows_located_in_either_form(body: Any, validate: ValidatorFunctionWrapHandler) -> Any:
    # The union reports each arm's errors under the arm's name (`RowArray.0`, `BulkRowsRequest.rows`):
    # keep the errors of the form the body is in, and locate a bad row as `rows.<n>` in both forms.
    try:
        return validate(body)
    except ValidationError as exc:
        arm = RowArray.__name__ if isinstance(body, list) else BulkRowsRequest.__name__
        kept = [error for error in exc.errors(include_url=False) if error["loc"][:1] == (arm,)]
        if not isinstance(body, list | dict) or not kept:
            raise PydanticCustomError("rows_body", "Input should be an array of rows or an object with rows") from None
        prefix: tuple[str, ...] = ("rows",) if arm == RowArray.__name__ else ()
        details = [
            InitErrorDetails(
                type=PydanticCustomError(error["type"], error["msg"], error.get("ctx")),
                loc=(*prefix, *error["loc"][1:]),
                input=error["input"],
            )
            for error in kept
        ]
        raise ValidationError.from_exception_data(exc.title, details) from None


# A union holding a list, too, keeps Powertools from reading an array body as its first item, as it
# does for a body typed as one model.
class BulkRowsBody(RootModel[Annotated[RowArray | BulkRowsRequest, WrapValidator(_rows_located_in_either_form)]]):
    """The rows as a bare JSON array (seed 004), or as `{"rows": [...]}` with `chunkSize` and `options`."""

    def request(self) -> BulkRowsRequest:
        """The object form, whichever form was sent."""
        return self.root if isinstance(self.root, BulkRowsRequest) else BulkRowsRequest(rows=self.root.root)


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
    # A multipart/form-data POST: `fields` first, then the file as the `file` field (S3's browser upload).
    method: str = "POST"
    fields: dict[str, str]
    headers: dict[str, str]
    expires_at: dt.datetime
    max_bytes: int


def _queued(result: Enqueued, message: str) -> Response[Envelope[JobCreated]]:
    view = JobCreated.of(result)
    status = HTTPStatus.ACCEPTED if result.created else HTTPStatus.OK
    return ok(view, message, status=status)


@router.post(
    "/bulk-upload/<kind>",
    summary="Upload rows in bulk (up to the 256 KiB body limit)",
    tags=TAGS,
    responses=responses(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, success=(HTTPStatus.ACCEPTED, HTTPStatus.OK)),
)
def upload_rows(
    kind: KindPath, rows: Annotated[BulkRowsBody, Body()], runtime: deps.RuntimeDep, caller: deps.CallerDep
) -> Response[Envelope[JobCreated]]:
    """The rows as a bare JSON array, or `{"rows": [...]}` with `chunkSize` and `options`; answers 202 with the
    job, whose result gives success, uploaded, failed, per-row errors and a message."""
    body = rows.request()
    owner = deps.job_owner(caller)
    result = service.enqueue_rows(runtime, kind, body.rows, options=body.options, chunk_size=body.chunk_size, **owner)
    return _queued(result, f"bulk upload of {len(body.rows)} {kind.value} rows queued")


@router.post(
    "/bulk-upload/<kind>/upload-url",
    summary="A presigned POST to upload a large CSV or JSON-lines file with (size bounded by S3)",
    tags=TAGS,
    responses=responses(),
)
def upload_url(
    kind: KindPath,
    runtime: deps.RuntimeDep,
    caller: deps.CallerDep,
    body: Annotated[UploadUrlRequest | None, Body()] = None,
) -> Envelope[UploadUrl]:
    """POST the form `fields` and then the file (at most `maxBytes`; S3 refuses more) to the URL before it
    expires, then call from-s3 with the key."""
    target = service.upload_target(runtime, kind, (body or UploadUrlRequest()).format, tenant_id=caller.tenant_id)
    view = UploadUrl(
        key=target.key,
        upload_url=target.url,
        fields=target.fields,
        headers={},
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
    owner = deps.job_owner(caller)
    result = service.enqueue_from_s3(
        runtime, kind, body.key, body.format, options=body.options, chunk_size=body.chunk_size, **owner
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
    """The job, if it is the caller's upload of this kind, or the caller is an admin of its tenant (404
    otherwise, so ids do not leak): its result holds the rows' errors and the error report's link."""
    job = deps.visible_job(runtime, job_id, queue=get_kind(kind).queue, caller=caller)
    return Envelope(message="job found", data=JobView.shown_to(job, caller))
