"""The bulk domain's job types: `bulk-upload` on each bulk-upload queue, and `process-file` on file-processing.

`process-file` reads an uploaded CSV or JSON-lines object and reports on it, writing
nothing: it counts the records, hashes the bytes and, given `validateAs`, checks every
row against that bulk-upload kind (a dry run of the upload, with the same per-row errors).
"""

from __future__ import annotations

from typing import Any

from jobline.core.context import JobContext
from jobline.core.errors import UnrecoverableError
from jobline.core.registry import job_type
from jobline.domains.bulk import report
from jobline.domains.bulk.kinds import JOB_NAME, KINDS, get_kind
from jobline.domains.bulk.queues import FILE_PROCESSING
from jobline.domains.bulk.schemas import BulkUploadPayload, FileProcessingPayload
from jobline.domains.bulk.sources import Malformed, S3Records
from jobline.domains.bulk.upload import run_bulk_upload
from jobline.domains.exports import objects

FILE_JOB = "process-file"
# Progress is written every this many records (when the percentage moved).
PROGRESS_EVERY = 5_000


@job_type(FILE_PROCESSING, FILE_JOB, payload=FileProcessingPayload)
def process_file(payload: FileProcessingPayload, ctx: JobContext) -> dict[str, Any]:
    """Count, hash and optionally validate the records of `uploads/<tenant>/…` object `key`."""
    try:
        key = objects.check_tenant_key(payload.key, ctx.tenant_id)
    except objects.KeyOutsideTenant as exc:
        raise UnrecoverableError(f"{payload.key!r} is not an upload of this organisation") from exc
    kind = get_kind(payload.validate_as) if payload.validate_as else None
    records = S3Records(
        ctx.runtime.client("s3"), bucket=ctx.runtime.settings.jobline_bucket, key=key, format=payload.format
    )
    kept: list[dict[str, Any]] = []
    error_count = rows = invalid = 0
    last_percent = -1
    try:
        for rows, value in records:
            problems: list[dict[str, Any]] = []
            if kind is not None:
                problems = report.row_errors(rows, value, kind.row_model)[1]
            elif isinstance(value, Malformed):
                problems = [{"row": rows, "field": None, "message": value.message}]
            if problems:
                invalid += 1
                error_count += len(problems)
                kept.extend(problems[: report.MAX_RESULT_ERRORS - len(kept)])
            if rows % PROGRESS_EVERY == 0:
                ctx.check_deadline()
                percent = int(records.fraction_done(rows) * 100)
                if percent != last_percent:
                    ctx.progress(percent, log=f"{rows} records read")
                    last_percent = percent
    finally:
        records.close()
    checked = f" against {kind.name.value}" if kind else ""
    return {
        "key": key,
        "format": payload.format.value,
        "bytes": records.size,
        "sha256": records.sha256,
        "rowCount": rows,
        "columns": records.columns,
        "validatedAs": kind.name.value if kind else None,
        "valid": rows - invalid,
        "invalid": invalid,
        "errors": kept,
        "errorCount": error_count,
        "errorsTruncated": error_count > len(kept),
        "message": f"{rows} records read{checked}: {rows - invalid} valid, {invalid} invalid",
    }


# One function for the three kinds: the queue a job arrived on says which kind it is.
for _kind in KINDS.values():
    job_type(_kind.queue, JOB_NAME, payload=BulkUploadPayload)(run_bulk_upload)
