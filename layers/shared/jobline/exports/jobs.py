"""The export job: stream the tenant's rows from a server-side cursor into a CSV object in S3, part by part."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from jobline.context import JobContext
from jobline.exports import objects, sources
from jobline.exports.multipart import DEFAULT_PART_SIZE, S3ObjectWriter
from jobline.exports.schemas import ExportPayload, export_summary
from jobline.handlers import job_type

QUEUE = "data-export"
JOB_NAME = "export"
# Rows per fetch from the server-side cursor: memory stays at one batch plus one part.
FETCH_ROWS = 2_000
# Tests lower this to S3's minimum to see several parts from a few MiB of rows.
PART_SIZE = DEFAULT_PART_SIZE
# A cell a spreadsheet would run as a formula (OWASP "CSV injection"). `+` and `-` are
# left alone when the rest looks like a number or phone number, which they usually start.
_RISKY_FIRST = frozenset("=+-@\t\r")
_FORMULA = re.compile(r"^[=@\t\r]|^[+-](?![0-9 ().-]*\Z)")


def defuse(value: str | None) -> str | None:
    """The cell, prefixed with `'` if a spreadsheet would run it as a formula."""
    if value and value[0] in _RISKY_FIRST and _FORMULA.match(value):
        return f"'{value}"
    return value


def csv_bytes(rows: Iterable[Sequence[str | None]]) -> bytes:
    """Rows of text cells as CSV lines (RFC 4180 quoting, CRLF, empty for NULL), UTF-8."""
    out = io.StringIO()
    csv.writer(out).writerows([defuse(v) for v in row] for row in rows)
    return out.getvalue().encode()


def export_key(tenant_id: str, job_id: str) -> str:
    return f"{objects.tenant_prefix(objects.EXPORTS, tenant_id)}{job_id}.csv"


@job_type(QUEUE, JOB_NAME, payload=ExportPayload)
def export(payload: ExportPayload, ctx: JobContext) -> dict[str, Any]:
    """Write the export to `exports/<tenant>/<job id>.csv`; the result links to it for an hour."""
    runtime = ctx.runtime
    s3 = runtime.client("s3")
    bucket = runtime.settings.jobline_bucket
    key = export_key(ctx.tenant_id, ctx.job_id)
    columns = payload.selected_columns()
    row_count = 0
    last_percent = -1
    with (
        runtime.sessions() as session,
        S3ObjectWriter(s3, bucket=bucket, key=key, content_type="text/csv; charset=utf-8", part_size=PART_SIZE) as out,
    ):
        # One snapshot for the count and the rows, read-only: the file matches one moment.
        connection = session.connection(
            execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        )
        connection.execute(sa.text("SET LOCAL TIME ZONE 'UTC'"))
        total = connection.execute(sources.count_query(payload, tenant_id=ctx.tenant_id)).scalar_one()
        out.write(csv_bytes([columns]))
        # yield_per streams through a server-side cursor (DECLARE … FETCH), FETCH_ROWS at a time;
        # executed on the session's connection, as Core: the ORM would build an ORM row per row.
        result = connection.execute(
            sources.rows_query(payload, tenant_id=ctx.tenant_id).execution_options(yield_per=FETCH_ROWS)
        )
        for batch in result.partitions():
            ctx.check_deadline()
            out.write(csv_bytes(batch))
            row_count += len(batch)
            percent = row_count * 100 // total if total else 100
            if percent != last_percent:  # at most 100 store writes, however many batches
                ctx.progress(percent, log=f"{row_count}/{total} rows written")
                last_percent = percent
        written = out.close()
    url, expires = objects.presigned_get(
        objects.signer(runtime.settings),
        bucket=bucket,
        key=key,
        filename=f"{payload.export_type.value}-{runtime.clock():%Y%m%d-%H%M%S}.csv",
        now=runtime.clock(),
    )
    return {
        "rowCount": row_count,
        "key": key,
        "downloadUrl": url,
        "expiresAt": expires.isoformat(),
        "bytes": written.bytes,
        "parts": written.parts,
        **export_summary(payload),
    }
