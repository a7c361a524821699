"""Exports in constant memory: a server-side cursor on the Postgres side, a multipart upload on the S3 side."""

from __future__ import annotations

import tracemalloc
from typing import Any

import pytest
import sqlalchemy as sa

from jobline.core.states import JobState
from jobline.domains.exports.formats import table_writer
from jobline.domains.exports.jobs import FETCH_ROWS
from jobline.domains.exports.multipart import MIN_PART_SIZE, S3ObjectWriter
from jobline.domains.exports.schemas import ExportFormat
from tests.bulk.helpers import mechanic, upload
from tests.exports.helpers import export, read_csv, read_object, xlsx_rows


class RecordingS3:
    """The runtime's S3 client, with the multipart calls it makes written down."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.part_sizes: list[int] = []
        self.calls: list[str] = []

    def upload_part(self, **kwargs: Any) -> Any:
        self.part_sizes.append(len(kwargs["Body"]))
        return self._client.upload_part(**kwargs)

    def __getattr__(self, name: str) -> Any:
        self.calls.append(name)
        return getattr(self._client, name)


def insert_mechanics(rt, tenant: str, count: int) -> None:
    """Many rows at once, as a bulk upload would leave them (generated in SQL to keep the test fast)."""
    with rt.sessions.begin() as session:
        session.execute(
            sa.text(
                "INSERT INTO mechanics (organisation_id, first_name, last_name, email, mobile_number) "
                "SELECT :tenant, 'First' || n, 'Last' || n, 'm' || n || '@garage.example', '+44 20 7946 0958' "
                "FROM generate_series(1, :count) AS n"
            ),
            {"tenant": tenant, "count": count},
        )


@pytest.fixture
def recording_s3(rt) -> RecordingS3:
    recorder = RecordingS3(rt.client("s3"))
    rt._clients["s3"] = recorder
    return recorder


def test_export_larger_than_a_part_uses_a_multipart_upload(
    api, rt, token, tenant, other_tenant, recording_s3, monkeypatch
) -> None:
    from jobline.domains.exports import jobs as export_job

    monkeypatch.setattr(export_job, "PART_SIZE", MIN_PART_SIZE)
    insert_mechanics(rt, tenant, 80_000)
    insert_mechanics(rt, other_tenant, 1_000)
    job = export(api, rt, token, exportType="mechanics")
    assert job.state is JobState.COMPLETED, job.error
    result = job.result
    assert result["rowCount"] == 80_000
    assert result["parts"] >= 2
    assert recording_s3.part_sizes[:-1] == [MIN_PART_SIZE] * (result["parts"] - 1)
    assert 0 < recording_s3.part_sizes[-1] <= MIN_PART_SIZE
    assert sum(recording_s3.part_sizes) == result["bytes"]
    assert "put_object" not in recording_s3.calls
    head = rt.client("s3").head_object(Bucket=rt.settings.jobline_bucket, Key=result["key"])
    assert head["ContentLength"] == result["bytes"]
    assert head["ETag"].strip('"').endswith(f"-{result['parts']}")  # S3's mark of a multipart object
    rows = read_csv(rt, result["key"])
    assert len(rows) == 80_001
    assert {r[3].split("@")[0] for r in rows[1:]} == {f"m{n}" for n in range(1, 80_001)}
    # Progress moved through the export, not only at its end.
    assert len(job.logs) > 10


def test_export_reads_through_a_server_side_cursor(api, rt, token, tenant) -> None:
    insert_mechanics(rt, tenant, 5_000)
    statements: list[tuple[str, bool]] = []
    engine = rt.engine

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        # pg8000's dialect wraps a server-side cursor: DECLARE … CURSOR FOR <statement>, then FETCH.
        statements.append((statement, getattr(cursor, "server_side", False)))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        result = export(api, rt, token, exportType="mechanics", columns=["email"]).result
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert result["rowCount"] == 5_000
    streamed = [statement for statement, server_side in statements if server_side]
    assert len(streamed) == 1
    assert "WHERE mechanics.organisation_id =" in streamed[0]


def test_an_empty_export_is_a_header_only_file(api, rt, token) -> None:
    result = export(api, rt, token, exportType="service-providers").result
    assert result["rowCount"] == 0
    assert read_csv(rt, result["key"]) == [["id", "name", "email", "createdAt", "updatedAt"]]


def test_writer_aborts_the_multipart_upload_when_the_export_fails(rt) -> None:
    s3 = rt.client("s3")
    bucket = rt.settings.jobline_bucket
    with (
        pytest.raises(RuntimeError, match="database went away"),
        S3ObjectWriter(
            s3, bucket=bucket, key="exports/t/broken.csv", content_type="text/csv", part_size=MIN_PART_SIZE
        ) as out,
    ):
        out.write(b"x" * (MIN_PART_SIZE + 10))
        assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads")
        raise RuntimeError("database went away")
    assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")
    assert s3.list_objects_v2(Bucket=bucket, Prefix="exports/t/").get("KeyCount") == 0


def test_writer_refuses_parts_smaller_than_s3_allows(rt) -> None:
    with pytest.raises(ValueError, match="at least"):
        S3ObjectWriter(rt.client("s3"), bucket="b", key="k", content_type="text/csv", part_size=MIN_PART_SIZE - 1)


def test_bulk_uploaded_rows_export_back_unchanged(api, rt, token) -> None:
    rows = [mechanic(n) for n in range(1, 4)]
    upload(api, rt, token, "mechanics", rows)
    result = export(api, rt, token, exportType="mechanics", columns=["firstName", "lastName", "email", "mobileNumber"])
    exported = read_csv(rt, result.result["key"])
    assert sorted(exported[1:]) == sorted([list(r.values()) for r in rows])


class CountingSink:
    """Takes bytes and keeps only their count, as a multipart upload keeps one part."""

    def __init__(self) -> None:
        self.bytes = 0

    def write(self, data: bytes) -> None:
        self.bytes += len(data)


NOW = "2026-12-03T12:00:00+00:00"


def _write_peak(export_format: ExportFormat, rows: int) -> tuple[int, int]:
    """Peak traced memory and bytes written, for `rows` rows in batches of a cursor's fetch size."""
    sink = CountingSink()
    tracemalloc.start()
    try:
        table = table_writer(export_format, sink, title="mechanics")
        table.header(["id", "name", "email", "phone", "createdAt"])
        for start in range(0, rows, FETCH_ROWS):
            table.rows(
                (
                    f"{n:08d}-7a1c-4d2e-9f3b-5c6d7e8f9a0b",
                    f"First{n} Last{n}",
                    f"m{n}@garage.example",
                    "+44 20 7946 0958",
                    "2026-12-03T12:00:00+00:00",
                )
                for n in range(start, min(rows, start + FETCH_ROWS))
            )
        table.finish()
        return tracemalloc.get_traced_memory()[1], sink.bytes
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(("export_format", "rows"), [("csv", 10_000), ("excel", 5_000), ("pdf", 1_000)])
def test_writers_memory_stays_flat_as_an_export_grows(export_format: str, rows: int) -> None:
    small_peak, small_bytes = _write_peak(ExportFormat(export_format), rows)
    large_peak, large_bytes = _write_peak(ExportFormat(export_format), rows * 4)
    assert large_bytes > 3 * small_bytes  # four times the rows did reach the sink
    # Four times the rows, not four times the memory: a batch and a page (or an xlsx row) at a time.
    assert large_peak < small_peak * 1.3 + 256 * 1024, (small_peak, large_peak)


def test_excel_export_past_excels_row_limit_fails_without_retrying(monkeypatch) -> None:
    from jobline.core.errors import UnrecoverableError
    from jobline.domains.exports import formats

    monkeypatch.setattr(formats, "EXCEL_MAX_ROWS", 3)
    table = formats.ExcelTable(CountingSink(), sheet_name="mechanics")
    table.header(["id"])
    table.rows([["1"], ["2"]])
    with pytest.raises(UnrecoverableError, match="at most 2 rows"):
        table.rows([["3"]])


def test_large_excel_export_from_postgres_holds_every_row(api, rt, token, tenant) -> None:
    insert_mechanics(rt, tenant, 30_000)
    job = export(api, rt, token, exportType="mechanics", format="excel", columns=["email"])
    assert job.state is JobState.COMPLETED, job.error
    rows = xlsx_rows(read_object(rt, job.result["key"]))
    assert len(rows) == 30_001
    assert {r[0] for r in rows[1:]} == {f"m{n}@garage.example" for n in range(1, 30_001)}
    assert len(job.logs) > 10  # progress as the rows went
