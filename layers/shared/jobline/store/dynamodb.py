"""The DynamoDB job store: one table holds jobs, per-queue counters, pause flags and rate windows.

Items (pk / sk):
- `job#{id}` / `job`: the job as JSON in `doc`, plus `version` for compare-and-swap and the
  index keys of two GSIs, `by_queue_state` and `by_tenant_queue_state`;
- `counts#{queue}` / `all` and `counts#{queue}` / `tenant#{tenant_id}`: one number per state;
- `queues` / `paused`: a string set of paused queue names (`names`) and one of `queue/tenant`
  pauses (`tenants`, one tenant's jobs on a queue);
- `rate#{queue}` / `{window}`: the starts counted in one fixed rate window.
- `quota#{name}` / `{window}`: the uses counted against one named quota in one fixed window.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import boto3
from botocore.exceptions import ClientError

from jobline.core.clock import as_utc
from jobline.core.errors import JobExists, ScheduleConflict, StaleJob
from jobline.core.job import Job
from jobline.core.repeat import Schedule
from jobline.core.states import JobState
from jobline.store.ports import (
    JobStore,
    Pauses,
    empty_counts,
    tenant_pause_key,
    tenant_pause_of,
    window_bounds,
)

# The table schema; template.yaml declares the same, and a template test compares the two.
PARTITION_KEY = "pk"
SORT_KEY = "sk"
QUEUE_STATE_INDEX = "by_queue_state"
TENANT_QUEUE_STATE_INDEX = "by_tenant_queue_state"
TTL_ATTRIBUTE = "expires_at"
BILLING_MODE = "PAY_PER_REQUEST"
KEY_SCHEMA = [
    {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
    {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
]
ATTRIBUTE_DEFINITIONS = [
    {"AttributeName": name, "AttributeType": "S"}
    for name in (PARTITION_KEY, SORT_KEY, "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")
]
GLOBAL_SECONDARY_INDEXES = [
    {
        "IndexName": index,
        "KeySchema": [
            {"AttributeName": f"{prefix}pk", "KeyType": "HASH"},
            {"AttributeName": f"{prefix}sk", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    }
    for index, prefix in ((QUEUE_STATE_INDEX, "gsi1"), (TENANT_QUEUE_STATE_INDEX, "gsi2"))
]

# A safety net only: the application deletes finished jobs by its own retention rules;
# TTL just makes sure a forgotten one does not stay forever. A TTL delete bypasses the
# counters, so it leaves the finished counts one too high; retention must run first.
FINISHED_TTL = dt.timedelta(days=30)
# Rate window items outlive their window a little so a late reader still sees the count.
RATE_TTL_SLACK_SECONDS = 3_600
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_CONDITION_FAILED = "ConditionalCheckFailed"
_CONFLICT_RETRIES = 3

# BatchGetItem reads at most 100 keys a call; what it leaves unprocessed is asked for again.
BATCH_GET_MAX = 100
BATCH_GET_ATTEMPTS = 5


def create_table(client: Any, table_name: str) -> None:
    """Create the job table (for tests and the local stack), wait for it, and turn on TTL."""
    client.create_table(
        TableName=table_name,
        AttributeDefinitions=ATTRIBUTE_DEFINITIONS,
        KeySchema=KEY_SCHEMA,
        GlobalSecondaryIndexes=GLOBAL_SECONDARY_INDEXES,
        BillingMode=BILLING_MODE,
    )
    client.get_waiter("table_exists").wait(TableName=table_name)
    client.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )


def _micros(when: dt.datetime) -> int:
    """Epoch microseconds, in integers so no float rounding reorders close timestamps."""
    return (as_utc(when) - _EPOCH) // dt.timedelta(microseconds=1)


def _sort_key(job: Job) -> str:
    """A GSI sort key that sorts as (index_time, id), like the in-memory store."""
    # Zero padding makes string order equal number order.
    return f"{_micros(job.index_time()):020d}#{job.id}"


def _job_key(job_id: str) -> dict[str, Any]:
    return {PARTITION_KEY: {"S": f"job#{job_id}"}, SORT_KEY: {"S": "job"}}


def _job_item(job: Job) -> dict[str, Any]:
    sort_key = _sort_key(job)
    item: dict[str, Any] = {
        **_job_key(job.id),
        "doc": {"S": job.model_dump_json()},
        "version": {"N": str(job.version)},
        "state": {"S": job.state.value},
        "queue": {"S": job.queue},
        "tenant_id": {"S": job.tenant_id},
        "gsi1pk": {"S": f"{job.queue}#{job.state.value}"},
        "gsi1sk": {"S": sort_key},
        "gsi2pk": {"S": f"{job.tenant_id}#{job.queue}#{job.state.value}"},
        "gsi2sk": {"S": sort_key},
    }
    if job.is_finished and job.finished_at is not None:
        expires = job.finished_at + FINISHED_TTL
        item[TTL_ATTRIBUTE] = {"N": str(_micros(expires) // 1_000_000)}
    return item


def _if_version(expected_version: int) -> dict[str, Any]:
    return {
        "ConditionExpression": "#v = :v",
        "ExpressionAttributeNames": {"#v": "version"},
        "ExpressionAttributeValues": {":v": {"N": str(expected_version)}},
    }


def _cancel_codes(error: ClientError) -> list[str]:
    """The per-item cancellation codes of a cancelled transaction (empty for any other error)."""
    if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return []
    return [reason.get("Code", "None") for reason in error.response.get("CancellationReasons", [])]


def _number(amount: float) -> str:
    # Positional notation: `1e-05` is a valid DynamoDB number, but moto (the local stack's) reads
    # a number without a point as an integer and fails on it.
    return format(Decimal(repr(float(amount))), "f")


class DynamoJobStore(JobStore):
    """Jobs in one DynamoDB table; every job write is a transaction with its counters."""

    def __init__(self, table_name: str, *, client: Any = None) -> None:
        self._table = table_name
        self._client = client if client is not None else boto3.client("dynamodb")
        # DynamoDB applies each conditional write atomically, so this lock is not needed for
        # correctness. moto's in-process DynamoDB does not (two threads can both pass one
        # condition), and the contract tests race threads; serialising this instance's writes
        # costs nothing in Lambda, where a process runs one invocation at a time.
        self._write_lock = threading.Lock()

    def create(self, job: Job) -> Job:
        """Store a new job at version 1; raises JobExists with the stored job if the id is taken."""
        stored = job.model_copy(update={"version": 1}, deep=True)
        put = {
            "Put": {
                "TableName": self._table,
                "Item": _job_item(stored),
                "ConditionExpression": "attribute_not_exists(pk)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        try:
            self._transact([put, *self._counter_updates(None, stored)])
        except ClientError as exc:
            if _cancel_codes(exc)[:1] != [_CONDITION_FAILED]:
                raise
            old = exc.response["CancellationReasons"][0].get("Item")
            existing = Job.from_json(old["doc"]["S"]) if old else self.get(job.id)
            if existing is None:
                # Deleted between our failed write and the read: the id is free again.
                return self.create(job)
            raise JobExists(existing) from None
        return stored

    def get(self, job_id: str) -> Job | None:
        """The job with this id, or None (a strongly consistent read)."""
        item = self._client.get_item(TableName=self._table, Key=_job_key(job_id), ConsistentRead=True).get("Item")
        return None if item is None else Job.from_json(item["doc"]["S"])

    def get_many(self, job_ids: Sequence[str]) -> dict[str, Job]:
        """The stored jobs among `job_ids`: strongly consistent BatchGetItem calls of 100 keys."""
        unique = list(dict.fromkeys(job_ids))
        jobs: dict[str, Job] = {}
        for start in range(0, len(unique), BATCH_GET_MAX):
            request: dict[str, Any] = {
                self._table: {
                    "Keys": [_job_key(i) for i in unique[start : start + BATCH_GET_MAX]],
                    "ConsistentRead": True,
                }
            }
            for attempt in range(BATCH_GET_ATTEMPTS):
                response = self._client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self._table, []):
                    job = Job.from_json(item["doc"]["S"])
                    jobs[job.id] = job
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                # DynamoDB hands back what it could not read under load: wait a little, ask again.
                time.sleep(min(1.0, 0.05 * 2**attempt) * random.random())
            else:
                for key in request[self._table]["Keys"]:
                    straggler = self.get(key[PARTITION_KEY]["S"].removeprefix("job#"))
                    if straggler is not None:
                        jobs[straggler.id] = straggler
        return jobs

    def replace(self, job: Job, *, expected_version: int, previous: Job | None = None) -> Job:
        """Write `job` if the stored version is `expected_version`; raises StaleJob otherwise."""
        return self._write_replacement(job, expected_version, previous, [])

    def replace_counted(
        self, job: Job, *, expected_version: int, previous: Job | None, counter: str, increments: dict[str, float]
    ) -> Job:
        """`replace` with the counter's ADD in the same transaction: counted if and only if written."""
        # An ADD of nothing is no valid update expression: no increments, no counter action.
        count = [{"Update": self._counter_update(counter, increments)}] if increments else []
        return self._write_replacement(job, expected_version, previous, count)

    def _write_replacement(
        self, job: Job, expected_version: int, previous: Job | None, extra: list[dict[str, Any]]
    ) -> Job:
        # The counters need the stored state: the caller's copy at that version, or a read.
        # Either way the version condition below guarantees the item did not change since.
        current = previous if previous is not None and previous.version == expected_version else self.get(job.id)
        if current is None or current.version != expected_version:
            raise StaleJob(job.id, expected_version)
        stored = job.model_copy(update={"version": expected_version + 1}, deep=True)
        put = {"Put": {"TableName": self._table, "Item": _job_item(stored), **_if_version(expected_version)}}
        self._write_or_stale([put, *self._counter_updates(current, stored), *extra], job.id, expected_version)
        return stored

    def delete(self, job_id: str, *, expected_version: int) -> None:
        """Remove the job if it is still at `expected_version`; raises StaleJob otherwise."""
        current = self.get(job_id)
        if current is None or current.version != expected_version:
            raise StaleJob(job_id, expected_version)
        delete = {"Delete": {"TableName": self._table, "Key": _job_key(job_id), **_if_version(expected_version)}}
        self._write_or_stale([delete, *self._counter_updates(current, None)], job_id, expected_version)

    def counts(self, queue: str, *, tenant_id: str | None = None) -> dict[JobState, int]:
        """Jobs per state in `queue` (for one tenant if given): one counter item read."""
        sort = "all" if tenant_id is None else f"tenant#{tenant_id}"
        key = {PARTITION_KEY: {"S": f"counts#{queue}"}, SORT_KEY: {"S": sort}}
        item = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item", {})
        counts = empty_counts()
        for state in JobState:
            if f"n_{state.value}" in item:
                counts[state] = int(item[f"n_{state.value}"]["N"])
        return counts

    def _list_page(
        self, queue: str, state: JobState, tenant_id: str | None, *, offset: int, limit: int, descending: bool
    ) -> list[Job]:
        # GSIs are eventually consistent in real AWS: a job written a moment ago may be
        # missing from (or still listed under its old state in) this page.
        index, prefix, key = _index_for(queue, state, tenant_id)
        jobs = self._query(
            index, f"{prefix}pk = :pk", {":pk": {"S": key}}, forward=not descending, wanted=offset + limit
        )
        return jobs[offset : offset + limit]

    def list_due(
        self, queue: str, state: JobState, *, until: dt.datetime, limit: int, tenant_id: str | None = None
    ) -> list[Job]:
        """Up to `limit` jobs in `state` whose index time is at or before `until`, oldest first."""
        # Every key of a time <= until sorts below the next microsecond's bare number,
        # whatever characters the job id holds.
        index, prefix, key = _index_for(queue, state, tenant_id)
        values = {":pk": {"S": key}, ":next": {"S": f"{_micros(until) + 1:020d}"}}
        return self._query(index, f"{prefix}pk = :pk AND {prefix}sk < :next", values, forward=True, wanted=limit)

    def set_paused(self, queue: str, paused: bool, *, tenant_id: str | None = None) -> None:
        """Record whether `queue` is paused, for everyone or for `tenant_id` only."""
        # ADD/DELETE on a string set never writes an empty set (which DynamoDB refuses):
        # deleting the last name removes the attribute.
        attribute, member = ("names", queue) if tenant_id is None else ("tenants", tenant_pause_key(queue, tenant_id))
        with self._write_lock:
            self._client.update_item(
                TableName=self._table,
                Key={PARTITION_KEY: {"S": "queues"}, SORT_KEY: {"S": "paused"}},
                UpdateExpression=f"{'ADD' if paused else 'DELETE'} #names :name",
                ExpressionAttributeNames={"#names": attribute},
                ExpressionAttributeValues={":name": {"SS": [member]}},
            )

    def pauses(self) -> Pauses:
        """The paused queues and tenant pauses: two attributes of one item, one read; none if absent."""
        key = {PARTITION_KEY: {"S": "queues"}, SORT_KEY: {"S": "paused"}}
        item = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item", {})
        return Pauses(
            queues=frozenset(item.get("names", {}).get("SS", [])),
            tenants=frozenset(tenant_pause_of(k) for k in item.get("tenants", {}).get("SS", [])),
        )

    def take_rate_slot(self, queue: str, *, max_jobs: int, per_seconds: int, now: dt.datetime) -> float:
        """Count one job start against `queue`'s fixed window; 0 if allowed, else the seconds left."""
        return self._take_in_window(f"rate#{queue}", amount=1, limit=max_jobs, per_seconds=per_seconds, now=now)

    def take_quota(self, name: str, *, amount: int, limit: int, per_seconds: int, now: dt.datetime) -> float:
        """Count `amount` uses against `name`'s window if they fit `limit`; 0 if counted, else the seconds left."""
        return self._take_in_window(f"quota#{name}", amount=amount, limit=limit, per_seconds=per_seconds, now=now)

    def _take_in_window(self, key: str, *, amount: int, limit: int, per_seconds: int, now: dt.datetime) -> float:
        """Add `amount` to the count of `key`'s current fixed window if it stays within `limit`."""
        window, left = window_bounds(now, per_seconds)
        if amount > limit:
            return left
        try:
            with self._write_lock:
                self._client.update_item(
                    TableName=self._table,
                    Key={PARTITION_KEY: {"S": key}, SORT_KEY: {"S": str(window)}},
                    UpdateExpression="ADD #n :amount SET #ttl = :ttl",
                    # Check and count in one conditional write: concurrent takers cannot overshoot.
                    ConditionExpression="attribute_not_exists(#n) OR #n <= :room",
                    ExpressionAttributeNames={"#n": "n", "#ttl": TTL_ATTRIBUTE},
                    ExpressionAttributeValues={
                        ":amount": {"N": str(amount)},
                        ":room": {"N": str(limit - amount)},
                        ":ttl": {"N": str((window + 1) * per_seconds + RATE_TTL_SLACK_SECONDS)},
                    },
                )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return left
            raise
        return 0.0

    def save_schedule(self, schedule: Schedule, *, expected_version: int | None = None) -> Schedule:
        """Write a schedule (one item each, under the `schedules` partition) if new or still at `expected_version`."""
        stored = schedule.model_copy(update={"version": (expected_version or 0) + 1})
        if expected_version is None:
            condition: dict[str, Any] = {"ConditionExpression": f"attribute_not_exists({PARTITION_KEY})"}
        else:
            condition = {
                "ConditionExpression": "version = :expected",
                "ExpressionAttributeValues": {":expected": {"N": str(expected_version)}},
            }
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    PARTITION_KEY: {"S": "schedules"},
                    SORT_KEY: {"S": schedule.id},
                    "doc": {"S": stored.model_dump_json()},
                    "version": {"N": str(stored.version)},
                },
                **condition,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise ScheduleConflict(schedule.id) from None
            raise
        return stored

    def get_schedule(self, schedule_id: str) -> Schedule | None:
        """The schedule with this id, or None."""
        item = self._client.get_item(
            TableName=self._table,
            Key={PARTITION_KEY: {"S": "schedules"}, SORT_KEY: {"S": schedule_id}},
            ConsistentRead=True,
        ).get("Item")
        return None if item is None else Schedule.model_validate_json(item["doc"]["S"])

    def list_schedules(self) -> list[Schedule]:
        """Every schedule: one partition, read page by page."""
        paginator = self._client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self._table,
            KeyConditionExpression=f"{PARTITION_KEY} = :pk",
            ExpressionAttributeValues={":pk": {"S": "schedules"}},
            ConsistentRead=True,
        )
        return [Schedule.model_validate_json(item["doc"]["S"]) for page in pages for item in page.get("Items", [])]

    def delete_schedule(self, schedule_id: str) -> bool:
        """Remove a schedule; False if there was none."""
        response = self._client.delete_item(
            TableName=self._table,
            Key={PARTITION_KEY: {"S": "schedules"}, SORT_KEY: {"S": schedule_id}},
            ReturnValues="ALL_OLD",
        )
        return "Attributes" in response

    def add_to_counters(self, name: str, increments: dict[str, float]) -> None:
        """One UpdateItem that ADDs every increment (fields become attribute names by placeholder)."""
        if not increments:
            return
        self._client.update_item(**self._counter_update(name, increments))

    def _counter_update(self, name: str, increments: dict[str, float]) -> dict[str, Any]:
        """The UpdateItem (or transaction Update) that ADDs the increments to counter `name`."""
        names = {f"#f{i}": field for i, field in enumerate(increments)}
        values = {f":v{i}": {"N": _number(amount)} for i, amount in enumerate(increments.values())}
        return {
            "TableName": self._table,
            "Key": {PARTITION_KEY: {"S": f"counters#{name}"}, SORT_KEY: {"S": "counters"}},
            "UpdateExpression": "ADD " + ", ".join(f"#f{i} :v{i}" for i in range(len(increments))),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    def read_counters(self, name: str) -> dict[str, float]:
        """The counter item's numeric attributes."""
        item = self._client.get_item(
            TableName=self._table,
            Key={PARTITION_KEY: {"S": f"counters#{name}"}, SORT_KEY: {"S": "counters"}},
            ConsistentRead=True,
        ).get("Item", {})
        return {k: float(v["N"]) for k, v in item.items() if "N" in v}

    def ping(self) -> None:
        """Raise if the table cannot be reached."""
        self._client.describe_table(TableName=self._table)

    def _counter_updates(self, old: Job | None, new: Job | None) -> list[dict[str, Any]]:
        """ADD actions moving one count from the old job's state to the new one's; none if unchanged."""
        deltas: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for job, step in ((old, -1), (new, 1)):
            if job is not None:
                for sk in ("all", f"tenant#{job.tenant_id}"):
                    deltas[(f"counts#{job.queue}", sk)][f"n_{job.state.value}"] += step
        updates = []
        for (pk, sk), by_attr in deltas.items():
            changed = {attr: step for attr, step in by_attr.items() if step}
            if not changed:
                continue
            names = {f"#a{i}": attr for i, attr in enumerate(changed)}
            values = {f":d{i}": {"N": str(step)} for i, step in enumerate(changed.values())}
            updates.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": {PARTITION_KEY: {"S": pk}, SORT_KEY: {"S": sk}},
                        "UpdateExpression": "ADD " + ", ".join(f"#a{i} :d{i}" for i in range(len(changed))),
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values,
                    }
                }
            )
        return updates

    def _transact(self, items: list[dict[str, Any]]) -> None:
        """Run one transaction, retrying a few times when it only lost a race on a counter item."""
        # Every write in a queue touches its counter items, so concurrent transitions cancel
        # each other with TransactionConflict (botocore does not retry that). Nothing was
        # written then, and the version condition is checked afresh, so a retry is safe.
        for attempt in range(_CONFLICT_RETRIES + 1):
            try:
                with self._write_lock:
                    self._client.transact_write_items(TransactItems=items)
                return
            except ClientError as exc:
                codes = _cancel_codes(exc)
                if attempt == _CONFLICT_RETRIES or _CONDITION_FAILED in codes or "TransactionConflict" not in codes:
                    raise
            time.sleep(random.uniform(0, 0.02 * 2**attempt))

    def _write_or_stale(self, items: list[dict[str, Any]], job_id: str, expected_version: int) -> None:
        try:
            self._transact(items)
        except ClientError as exc:
            # The job action is always first, so reason 0 is its condition's verdict.
            if _cancel_codes(exc)[:1] == [_CONDITION_FAILED]:
                raise StaleJob(job_id, expected_version) from None
            raise

    def _query(self, index: str, condition: str, values: dict[str, Any], *, forward: bool, wanted: int) -> list[Job]:
        """Jobs from `index` in sort-key order, following pages until `wanted` are read."""
        jobs: list[Job] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": forward,
        }
        while len(jobs) < wanted:
            page = self._client.query(**kwargs, Limit=wanted - len(jobs))
            jobs.extend(Job.from_json(item["doc"]["S"]) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return jobs


def _index_for(queue: str, state: JobState, tenant_id: str | None) -> tuple[str, str, str]:
    """The GSI, its key-attribute prefix and partition key that list `state` jobs of a queue (or of one tenant)."""
    if tenant_id is None:
        return QUEUE_STATE_INDEX, "gsi1", f"{queue}#{state.value}"
    return TENANT_QUEUE_STATE_INDEX, "gsi2", f"{tenant_id}#{queue}#{state.value}"
