"""The export jobs: stream the tenant's rows from a server-side cursor into a CSV, Excel or PDF
object in S3, part by part; the result links to it for an hour.

- `data-export` / `export`: seed 001's `addJob('data-export', {exportType, format, filters, ...})`.
- `export` / `bookings-csv`, `users-csv`: seed 002's `addExportJob(name, {filters})`.
- `export` / `revenue-pdf`: seed 002's revenue report (in `jobline.domains.exports.revenue`).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from jobline.core.context import JobContext
from jobline.core.registry import job_type
from jobline.domains.exports import objects, revenue, sources
from jobline.domains.exports.formats import FILE_TYPES, csv_bytes, defuse, table_writer
from jobline.domains.exports.multipart import DEFAULT_PART_SIZE, S3ObjectWriter
from jobline.domains.exports.pdf import PdfDocument
from jobline.domains.exports.queues import DATA_EXPORT, EXPORT
from jobline.domains.exports.schemas import BookingsCsv, ExportPayload, RevenuePdf, UsersCsv, export_summary

__all__ = ["csv_bytes", "defuse"]  # where the tests and older callers found them

JOB_NAME = "export"
# Rows per fetch from the server-side cursor: memory stays at one batch plus one part.
FETCH_ROWS = 2_000
# Tests lower this to S3's minimum to see several parts from a few MiB of rows.
PART_SIZE = DEFAULT_PART_SIZE


def export_key(tenant_id: str, job_id: str, extension: str = "csv") -> str:
    return f"{objects.tenant_prefix(objects.EXPORTS, tenant_id)}{job_id}.{extension}"


def read_only_snapshot(session: Any) -> Any:
    """The session's connection in one read-only snapshot, times in UTC: the file matches one moment."""
    connection = session.connection(
        execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
    )
    connection.execute(sa.text("SET LOCAL TIME ZONE 'UTC'"))
    return connection


def download(ctx: JobContext, *, key: str, filename: str, written: Any) -> dict[str, Any]:
    """The result fields every export shares: where the object is and a link to it."""
    url, expires = objects.presigned_get(ctx.runtime.settings, key=key, filename=filename, now=ctx.runtime.clock())
    return {
        "key": key,
        "downloadUrl": url,
        "expiresAt": expires.isoformat(),
        "bytes": written.bytes,
        "parts": written.parts,
    }


def run_export(payload: ExportPayload, ctx: JobContext) -> dict[str, Any]:
    """Write the export to `exports/<tenant>/<job id>.<csv|xlsx|pdf>`."""
    runtime = ctx.runtime
    extension, content_type = FILE_TYPES[payload.format]
    key = export_key(ctx.tenant_id, ctx.job_id, extension)
    columns = payload.selected_columns()
    row_count = 0
    last_percent = -1
    with (
        runtime.sessions() as session,
        S3ObjectWriter(
            runtime.client("s3"),
            bucket=runtime.settings.jobline_bucket,
            key=key,
            content_type=content_type,
            part_size=PART_SIZE,
        ) as out,
    ):
        connection = read_only_snapshot(session)
        total = connection.execute(sources.count_query(payload, tenant_id=ctx.tenant_id)).scalar_one()
        table = table_writer(payload.format, out, title=payload.export_type.value)
        table.header(columns)
        # yield_per streams through a server-side cursor (DECLARE … FETCH), FETCH_ROWS at a time;
        # executed on the session's connection, as Core: the ORM would build an ORM row per row.
        result = connection.execute(
            sources.rows_query(payload, tenant_id=ctx.tenant_id).execution_options(yield_per=FETCH_ROWS)
        )
        for batch in result.partitions():
            ctx.check_deadline()
            table.rows(batch)
            row_count += len(batch)
            percent = row_count * 100 // total if total else 100
            if percent != last_percent:  # at most 100 store writes, however many batches
                ctx.progress(percent, log=f"{row_count}/{total} rows written")
                last_percent = percent
        table.finish()
        written = out.close()
    filename = f"{payload.export_type.value}-{runtime.clock():%Y%m%d-%H%M%S}.{extension}"
    return {
        "rowCount": row_count,
        **download(ctx, key=key, filename=filename, written=written),
        **export_summary(payload),
    }


@job_type(DATA_EXPORT, JOB_NAME, payload=ExportPayload)
def export(payload: ExportPayload, ctx: JobContext) -> dict[str, Any]:
    """Seed 001's data export: any type, in csv, excel or pdf."""
    return run_export(payload, ctx)


@job_type(EXPORT, "bookings-csv", payload=BookingsCsv)
def bookings_csv(payload: BookingsCsv, ctx: JobContext) -> dict[str, Any]:
    """Seed 002's bookings export: the booked rooms, as CSV."""
    return run_export(payload.as_export(), ctx)


@job_type(EXPORT, "users-csv", payload=UsersCsv)
def users_csv(payload: UsersCsv, ctx: JobContext) -> dict[str, Any]:
    """Seed 002's users export: the tenant's people with their role, as CSV."""
    return run_export(payload.as_export(), ctx)


@job_type(EXPORT, "revenue-pdf", payload=RevenuePdf)
def revenue_pdf(payload: RevenuePdf, ctx: JobContext) -> dict[str, Any]:
    """Seed 002's revenue report: the booked rooms' revenue over the period, as a PDF."""
    runtime = ctx.runtime
    key = export_key(ctx.tenant_id, ctx.job_id, "pdf")
    first_day, last_day = payload.first_day(), payload.last_day()
    with (
        runtime.sessions() as session,
        S3ObjectWriter(
            runtime.client("s3"), bucket=runtime.settings.jobline_bucket, key=key, content_type="application/pdf"
        ) as out,
    ):
        report = revenue.revenue_report(
            read_only_snapshot(session), tenant_id=ctx.tenant_id, first_day=first_day, last_day=last_day
        )
        ctx.progress(50, log=f"{report.bookings} booked rooms added up")
        revenue.write_pdf(
            PdfDocument(out, title="Revenue report", created=runtime.clock()), report, generated=runtime.clock()
        )
        written = out.close()
    filename = f"revenue-{first_day:%Y%m%d}-{last_day:%Y%m%d}.pdf"
    return {
        "startDate": first_day.isoformat(),
        "endDate": last_day.isoformat(),
        "bookings": report.bookings,
        "revenue": str(report.revenue),
        "format": "pdf",
        **download(ctx, key=key, filename=filename, written=written),
    }
