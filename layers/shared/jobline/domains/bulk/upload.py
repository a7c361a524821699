"""The bulk-upload job function: validate each row, upsert the valid ones per chunk in one statement, report per row."""

from __future__ import annotations

import dataclasses
from typing import Any

from jobline.core.context import JobContext
from jobline.core.errors import UnrecoverableError
from jobline.domains.bulk import report, sources
from jobline.domains.bulk.kinds import BulkKind, kind_of_queue
from jobline.domains.bulk.schemas import BulkUploadPayload, UploadFormat
from jobline.domains.bulk.upsert import upsert_rows
from jobline.domains.exports import objects


@dataclasses.dataclass
class Tally:
    """Running counts; uploaded + failed + duplicates is every record read."""

    records: int = 0
    created: int = 0
    updated: int = 0
    failed: int = 0
    duplicates: int = 0
    chunks: int = 0

    @property
    def uploaded(self) -> int:
        return self.created + self.updated


class ChunkWriter:
    """Gathers a chunk's valid rows by natural key (the last row of a key wins) and upserts them."""

    def __init__(self, session: Any, kind: BulkKind, *, organisation_id: str, upload: str, tally: Tally) -> None:
        self._session = session
        self._kind = kind
        self._organisation_id = organisation_id
        self._upload = upload
        self._tally = tally
        self._rows: dict[Any, dict[str, Any]] = {}

    def add(self, columns: dict[str, Any]) -> None:
        key = columns[self._kind.key]
        if self._rows.pop(key, None) is not None:
            self._tally.duplicates += 1
        self._rows[key] = columns

    def flush(self) -> None:
        done = upsert_rows(
            self._session,
            self._kind,
            list(self._rows.values()),
            organisation_id=self._organisation_id,
            upload=self._upload,
        )
        self._rows.clear()
        # A key this attempt wrote in an earlier chunk comes back as an update: it is a
        # duplicate within the upload, not an existing row changed.
        self._tally.created += done.created
        self._tally.updated += done.updated - done.repeated
        self._tally.duplicates += done.repeated
        self._tally.chunks += 1


def _source_key(payload: BulkUploadPayload, tenant_id: str) -> str | None:
    if payload.source is None:
        return None
    try:
        return objects.check_tenant_key(payload.source.key, tenant_id)
    except objects.KeyOutsideTenant as exc:
        # The API checked this already; a payload enqueued some other way is refused here too.
        raise UnrecoverableError(f"{payload.source.key!r} is not an upload of this organisation") from exc


def run_bulk_upload(payload: BulkUploadPayload, ctx: JobContext) -> dict[str, Any]:
    """Upsert the upload's valid rows in chunks of `chunkSize`, in one transaction, with progress per chunk."""
    kind = kind_of_queue(ctx.job.queue)
    runtime = ctx.runtime
    s3 = runtime.client("s3")
    bucket = runtime.settings.jobline_bucket
    records = sources.open_records(
        rows=payload.rows,
        s3=s3,
        bucket=bucket,
        key=_source_key(payload, ctx.tenant_id),
        format=payload.source.format if payload.source else UploadFormat.CSV,
    )
    errors = report.ErrorReport(
        s3, bucket=bucket, key=f"{objects.tenant_prefix(objects.REPORTS, ctx.tenant_id)}{ctx.job_id}-errors.csv"
    )
    tally = Tally()
    last_percent = -1
    try:
        # One transaction: a failed attempt leaves nothing behind, and the retry's upsert
        # redoes the same writes; per-chunk commits would buy partial data and nothing else.
        with runtime.sessions.begin() as session:
            upload = f"{ctx.job_id}#{ctx.attempt}"
            chunk = ChunkWriter(session, kind, organisation_id=ctx.tenant_id, upload=upload, tally=tally)
            in_chunk = 0
            for row, value in records:
                tally.records = row
                columns, problems = report.row_errors(row, value, kind.row_model)
                if columns is None:
                    tally.failed += 1
                    errors.add(problems)
                else:
                    chunk.add(columns)
                in_chunk += 1
                if in_chunk < payload.chunk_size:
                    continue
                chunk.flush()
                in_chunk = 0
                last_percent = _progress(ctx, records.fraction_done(row), tally, last_percent)
            if in_chunk:
                chunk.flush()
                _progress(ctx, 1.0, tally, last_percent)
            # Before the commit: a report that cannot be stored fails the attempt, data included.
            has_report = errors.finish()
    except BaseException:
        errors.abort()
        raise
    finally:
        records.close()
    return _result(ctx, kind, tally, errors, has_report=has_report)


def _progress(ctx: JobContext, fraction: float, tally: Tally, last_percent: int) -> int:
    """Record progress after a chunk when the percentage moved: a big upload makes at most 100 writes."""
    ctx.check_deadline()
    percent = int(min(1.0, fraction) * 100)
    if percent != last_percent:
        ctx.progress(
            percent,
            log=f"chunk {tally.chunks}: {tally.records} rows read, {tally.uploaded} uploaded, {tally.failed} failed",
        )
    return percent


def _result(
    ctx: JobContext, kind: BulkKind, tally: Tally, errors: report.ErrorReport, *, has_report: bool
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "success": tally.failed == 0,
        "kind": kind.name.value,
        "totalRows": tally.records,
        "uploaded": tally.uploaded,
        "created": tally.created,
        "updated": tally.updated,
        "failed": tally.failed,
        "duplicates": tally.duplicates,
        "errors": errors.kept,
        "errorCount": errors.count,
        "errorsTruncated": errors.truncated,
        "message": report.summary(
            kind.label,
            uploaded=tally.uploaded,
            created=tally.created,
            updated=tally.updated,
            failed=tally.failed,
            duplicates=tally.duplicates,
            key_label=kind.key_label,
        ),
    }
    if has_report:
        filename = f"{kind.name.value}-upload-errors.csv"
        url, expires = objects.presigned_get(
            ctx.runtime.settings, key=errors.key, filename=filename, now=ctx.runtime.clock()
        )
        result["errorReport"] = {"key": errors.key, "downloadUrl": url, "expiresAt": expires.isoformat()}
    return result
