"""Seed 001's service methods, run through `customAsyncTask` or `POST /tasks/service-method`:

- `LeadsService.exportLeads(subAccountId, format, filters?)` starts the tenant's leads export: the
  data-export job seed 001 adds (`{subAccountId, exportType: 'leads', format}`), whose result
  holds the download link;
- `DataProcessingService.processDataset(data, {batchSize})` profiles the rows batch by batch:
  per column, the count, the missing values, and sum/min/max/average of numbers or the count of
  distinct other values.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from jobline.core.context import JobContext
from jobline.core.errors import InvalidPayload, UnrecoverableError
from jobline.domains.exports import jobs as export_jobs
from jobline.domains.exports.queues import DATA_EXPORT
from jobline.domains.tasks.compute import OUT_OF_RANGE, ColumnProfile, Row, profile_rows
from jobline.domains.tasks.registry import TaskParams, service_method
from jobline.engine import enqueue

STATUS_PATH = "/api/jobs/{queue}/{job_id}/status"
MAX_ROWS = 100_000
DEFAULT_BATCH_SIZE = 1_000


class ExportLeadsArgs(TaskParams):
    """The seed's `exportLeads(subAccountId, 'csv')`; the sub-account can only be the task's own tenant."""

    sub_account_id: str | None = Field(default=None, min_length=1, max_length=128)
    format: Literal["csv", "excel", "pdf"] = "csv"
    filters: dict[str, Any] | None = None


@service_method("LeadsService.exportLeads", params=ExportLeadsArgs, positional=("subAccountId", "format", "filters"))
def export_leads(args: ExportLeadsArgs, ctx: JobContext) -> dict[str, Any]:
    """Add the tenant's leads export (once, however often this task is retried) and say where it is."""
    if args.sub_account_id is not None and args.sub_account_id != ctx.tenant_id:
        # The API refuses it first; a job stored before that check must not reach another tenant either.
        raise UnrecoverableError("subAccountId is not the task's tenant")
    data: dict[str, Any] = {"subAccountId": ctx.tenant_id, "exportType": "leads", "format": args.format}
    if args.filters is not None:
        data["filters"] = args.filters
    try:
        added = enqueue.enqueue(
            ctx.runtime,
            queue=DATA_EXPORT,
            name=export_jobs.JOB_NAME,
            data=data,
            tenant_id=ctx.tenant_id,
            user_id=ctx.user_id,
            options=enqueue.JobOptions(job_id=f"task-{ctx.job_id}"),
        )
    except InvalidPayload as exc:
        raise UnrecoverableError(f"the export job refused the arguments: {exc.errors}") from exc
    job = added.job
    ctx.log(f"leads export {job.id} {'added' if added.created else 'already added'}")
    return {
        "exportJobId": job.id,
        "queue": job.queue,
        "format": args.format,
        "created": added.created,
        "checkStatusAt": STATUS_PATH.format(queue=job.queue, job_id=job.id),
    }


class DatasetOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    batch_size: int = Field(default=DEFAULT_BATCH_SIZE, ge=1, le=10_000, alias="batchSize")


class ProcessDatasetArgs(TaskParams):
    """The seed's `processDataset(data, {batchSize: 1000})`: rows as objects of scalars."""

    data: list[Row] = Field(min_length=1, max_length=MAX_ROWS)
    options: DatasetOptions = Field(default_factory=DatasetOptions)


@service_method("DataProcessingService.processDataset", params=ProcessDatasetArgs, positional=("data", "options"))
def process_dataset(args: ProcessDatasetArgs, ctx: JobContext) -> dict[str, Any]:
    """Profile the rows `batchSize` at a time, with progress after each batch."""
    size = args.options.batch_size
    columns: dict[str, ColumnProfile] = {}
    batches = 0
    try:
        for start in range(0, len(args.data), size):
            ctx.check_deadline()
            profile_rows(args.data[start : start + size], columns)
            batches += 1
            done = min(start + size, len(args.data))
            ctx.progress(100 * done / len(args.data), log=f"batch {batches}: {done}/{len(args.data)} rows")
        figures = {name: column.view() for name, column in sorted(columns.items())}
    except OverflowError:
        raise UnrecoverableError(OUT_OF_RANGE) from None
    return {"rows": len(args.data), "batchSize": size, "batches": batches, "columns": figures}
