"""The Redis job store: one JSON string per job, sorted-set indexes per state, Lua for every conditional write.

Keys (all under `prefix`; queue and tenant names are percent-encoded so a ':' in a name cannot make two
different indexes share a key):

- `job:{id}`                         the job's JSON, `version` included
- `idx:{queue}:{state}`              sorted set of job ids, score = `Job.index_time()` as a Unix timestamp
- `tidx:{tenant}:{queue}:{state}`    the same, for one tenant
- `paused`                           set of paused queue names
- `paused-tenants`                   set of `queue/tenant` pauses (one tenant's jobs on a queue)
- `rate:{queue}:{window}`            jobs started in one fixed rate window
- `quota:{name}:{window}`            uses counted against one named quota in one fixed window
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Sequence
from urllib.parse import quote

import redis

from jobline.core.errors import JobExists, ScheduleConflict, StaleJob
from jobline.core.job import Job
from jobline.core.repeat import Schedule
from jobline.core.states import JobState
from jobline.store.ports import (
    JobStore,
    Pauses,
    Replacement,
    empty_counts,
    tenant_pause_key,
    tenant_pause_of,
    window_bounds,
)

# KEYS: job, queue index, tenant index. ARGV: json, score, id. Returns the stored JSON if the id is taken.
_CREATE = """
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3])
return false
"""

# KEYS: job, then every state index of the job's queue and tenant, then the two indexes it moves into, then
# (when counted) the counter hash. ARGV: expected version, json, score, id, queue, tenant, write id, then (when
# counted) the number of increments and each one's field and amount. Returns 1 on a win, 0 when stale, -1 when
# the caller tried to move the job to another queue or tenant (its old index entries would be left behind), -2
# when the counter cannot take the increments.
# The JSON carries the write id (`_write`): the same call sent again after its reply was lost finds its own
# write in place and wins again, instead of reading as stale (and counts nothing again).
# Without the caller's copy of the stored job the old state is unknown: removing the id from every state
# index keeps all keys declared and cannot miss, whatever the stored state is.
# A script's writes stand when a later command in it fails, so every check comes before the first write: a
# counter that would refuse HINCRBYFLOAT (not a hash, a field that is no number, a sum that is no finite
# number) refuses the whole call, and the job is written and counted together or not at all.
_REPLACE = """
local stored = redis.call('GET', KEYS[1])
if not stored then return 0 end
local doc = cjson.decode(stored)
if doc.version ~= tonumber(ARGV[1]) then
  if doc.version == tonumber(ARGV[1]) + 1 and doc._write == ARGV[7] then return 1 end
  return 0
end
if doc.queue ~= ARGV[5] or doc.tenant_id ~= ARGV[6] then return -1 end
local counted = tonumber(ARGV[8] or '0')
local last = #KEYS
if counted > 0 then
  last = #KEYS - 1
  local kind = redis.call('TYPE', KEYS[#KEYS]).ok
  if kind ~= 'hash' and kind ~= 'none' then return -2 end
  local fields = {}
  for i = 1, counted do fields[i] = ARGV[7 + 2 * i] end
  local values = redis.call('HMGET', KEYS[#KEYS], unpack(fields))
  for i = 1, counted do
    local held = tonumber(values[i] or '0')
    local amount = tonumber(ARGV[8 + 2 * i])
    if held == nil or amount == nil then return -2 end
    local sum = held + amount
    if sum ~= sum or sum == math.huge or sum == -math.huge then return -2 end
  end
end
redis.call('SET', KEYS[1], ARGV[2])
for i = 2, last - 2 do redis.call('ZREM', KEYS[i], ARGV[4]) end
redis.call('ZADD', KEYS[last - 1], ARGV[3], ARGV[4])
redis.call('ZADD', KEYS[last], ARGV[3], ARGV[4])
for i = 1, counted do redis.call('HINCRBYFLOAT', KEYS[#KEYS], ARGV[7 + 2 * i], ARGV[8 + 2 * i]) end
return 1
"""

# KEYS: job, then every state index of the job's queue and tenant. ARGV: expected version, id, queue, tenant.
# The queue and tenant were read before the call to name the index keys; if a job of that id was since
# recreated elsewhere, those keys would be wrong, so that counts as stale too.
_DELETE = """
local stored = redis.call('GET', KEYS[1])
if not stored then return 0 end
local doc = cjson.decode(stored)
if doc.version ~= tonumber(ARGV[1]) or doc.queue ~= ARGV[3] or doc.tenant_id ~= ARGV[4] then return 0 end
redis.call('DEL', KEYS[1])
for i = 2, #KEYS do redis.call('ZREM', KEYS[i], ARGV[2]) end
return 1
"""

# KEYS[1] schedules hash; ARGV: schedule id, expected version (-1: must be new), new JSON.
_SAVE_SCHEDULE = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
local expected = tonumber(ARGV[2])
if current then
  if expected < 0 or cjson.decode(current)['version'] ~= expected then return 0 end
elseif expected >= 0 then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""

# KEYS: window counter. ARGV: max jobs, ttl. The key outlives its window so a worker whose clock lags a
# little still finds the count; the caller's `now` names the window, never the Redis server's clock.
_TAKE_SLOT = """
local taken = tonumber(redis.call('GET', KEYS[1]) or '0')
if taken >= tonumber(ARGV[1]) then return 0 end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""

# KEYS: quota window. ARGV: amount, limit, ttl. 1 if the amount fits (and is counted), else 0.
_TAKE_QUOTA = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return 0 end
redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""


def _text(value: object) -> str:
    # The client may or may not have been built with decode_responses=True.
    return value.decode() if isinstance(value, bytes) else str(value)


@functools.lru_cache(maxsize=4096)
def _name(value: str) -> str:
    # Queue and tenant names recur in every key: quote each once.
    return quote(value, safe="")


def _score(job: Job) -> str:
    # repr keeps every digit of the float, so list_due's `until` compares equal to a stored time.
    return repr(job.index_time().timestamp())


class RedisJobStore(JobStore):
    """Jobs in Redis, safe for many threads and processes sharing one server."""

    def __init__(self, client: redis.Redis, *, prefix: str = "jobline:") -> None:
        self._client = client
        self._prefix = prefix
        self._create = client.register_script(_CREATE)
        self._replace = client.register_script(_REPLACE)
        self._delete = client.register_script(_DELETE)
        self._take_slot = client.register_script(_TAKE_SLOT)
        self._take_quota = client.register_script(_TAKE_QUOTA)
        self._save_schedule_script = client.register_script(_SAVE_SCHEDULE)

    def _job_key(self, job_id: str) -> str:
        return f"{self._prefix}job:{job_id}"

    def _index_key(self, queue: str, state: JobState, tenant_id: str | None = None) -> str:
        if tenant_id is None:
            return f"{self._prefix}idx:{_name(queue)}:{state.value}"
        return f"{self._prefix}tidx:{_name(tenant_id)}:{_name(queue)}:{state.value}"

    def _all_index_keys(self, queue: str, tenant_id: str) -> list[str]:
        return [self._index_key(queue, s) for s in JobState] + [self._index_key(queue, s, tenant_id) for s in JobState]

    def _load(self, job_ids: list[str]) -> list[Job]:
        if not job_ids:
            return []
        raws = self._client.mget([self._job_key(i) for i in job_ids])
        # An id can outlive its job for the moment between the index read and MGET.
        return [Job.model_validate_json(raw) for raw in raws if raw is not None]

    def create(self, job: Job) -> Job:
        """Store `job` at version 1, or raise JobExists with the job already stored under its id."""
        stored = job.model_copy(update={"version": 1}, deep=True)
        keys = [
            self._job_key(job.id),
            self._index_key(job.queue, job.state),
            self._index_key(job.queue, job.state, job.tenant_id),
        ]
        existing = self._create(keys=keys, args=[stored.model_dump_json(), _score(stored), job.id])
        if existing is not None:
            raise JobExists(Job.model_validate_json(existing))
        return stored

    def get(self, job_id: str) -> Job | None:
        """The job with this id, or None."""
        raw = self._client.get(self._job_key(job_id))
        return None if raw is None else Job.model_validate_json(raw)

    def get_many(self, job_ids: Sequence[str]) -> dict[str, Job]:
        """The stored jobs among `job_ids`, in one MGET."""
        unique = list(dict.fromkeys(job_ids))
        return {job.id: job for job in self._load(unique)}

    def replace(self, job: Job, *, expected_version: int, previous: Job | None = None) -> Job:
        """Write `job` at `expected_version + 1` if the stored one is still at `expected_version`."""
        return self._replace_once(*self._replace_call(job, expected_version, previous), expected_version)

    def replace_counted(
        self, job: Job, *, expected_version: int, previous: Job | None, counter: str, increments: dict[str, float]
    ) -> Job:
        """`replace`, and the counter increments in the same script: applied if and only if the write wins."""
        stored, keys, args = self._replace_call(job, expected_version, previous)
        if increments:
            # Without increments the script must not see a counter key: it would take it for an index.
            keys.append(self._counter_key(counter))
            args.append(len(increments))
            for field, amount in increments.items():
                args += [field, repr(float(amount))]
        return self._replace_once(stored, keys, args, expected_version)

    def _replace_once(self, stored: Job, keys: list[str], args: list[str | int], expected_version: int) -> Job:
        try:
            outcome = self._replace(keys=keys, args=args)
        except (redis.ConnectionError, redis.TimeoutError):
            # The write may have landed with its reply lost: ask once more, which the write id makes safe.
            outcome = self._replace(keys=keys, args=args)
        return self._replaced(stored, expected_version, outcome)

    def replace_many(self, writes: Sequence[Replacement]) -> list[Job | Exception]:
        """Every write's script in one pipelined round trip; each succeeds or loses on its own."""
        calls = [(write, *self._replace_call(write.job, write.expected_version, write.previous)) for write in writes]

        def send() -> list[object]:
            pipe = self._client.pipeline(transaction=False)
            for _, _, keys, args in calls:
                self._replace(keys=keys, args=args, client=pipe)
            return list(pipe.execute(raise_on_error=False))

        try:
            try:
                replies = send()
            except (redis.ConnectionError, redis.TimeoutError):
                # Some writes may have landed with their replies lost: send them all again, which
                # their write ids make safe (a landed one reports its win again).
                replies = send()
        except redis.RedisError as exc:
            return [exc for _ in calls]
        outcomes: list[Job | Exception] = []
        for (write, stored, _, _), reply in zip(calls, replies, strict=True):
            try:
                outcomes.append(self._replaced(stored, write.expected_version, reply))
            except Exception as exc:  # noqa: BLE001 - each write reports its own failure
                outcomes.append(exc)
        return outcomes

    @staticmethod
    def _replaced(stored: Job, expected_version: int, outcome: object) -> Job:
        if isinstance(outcome, Exception):
            raise outcome
        if outcome == -1:
            raise ValueError(f"job {stored.id!r} cannot change its queue or tenant")
        if outcome == -2:
            # The error HINCRBYFLOAT itself gives, but raised before anything was written.
            raise redis.ResponseError(f"the counter cannot take the increments; job {stored.id!r} not written")
        if outcome != 1:
            raise StaleJob(stored.id, expected_version)
        return stored

    def _replace_call(
        self, job: Job, expected_version: int, previous: Job | None
    ) -> tuple[Job, list[str], list[str | int]]:
        """The job as it will be stored, and the replace script's keys and arguments."""
        # A shallow copy: what is stored is the JSON, so nothing here is shared with Redis.
        stored = job.model_copy(update={"version": expected_version + 1})
        if previous is not None and previous.version == expected_version:
            # The script writes only over this very version, so its state's two indexes are the old ones.
            old_indexes = [
                self._index_key(job.queue, previous.state),
                self._index_key(job.queue, previous.state, job.tenant_id),
            ]
        else:
            old_indexes = self._all_index_keys(job.queue, job.tenant_id)
        keys = [
            self._job_key(job.id),
            *old_indexes,
            self._index_key(job.queue, job.state),
            self._index_key(job.queue, job.state, job.tenant_id),
        ]
        write_id = uuid.uuid4().hex
        # `Job` ignores unknown fields: `_write` is read past, and gone with the next write.
        document = f'{{"_write":"{write_id}",{stored.model_dump_json()[1:]}'
        args: list[str | int] = [expected_version, document, _score(stored), job.id, job.queue, job.tenant_id, write_id]
        return stored, keys, args

    def delete(self, job_id: str, *, expected_version: int) -> None:
        """Remove the job and its index entries if it is still at `expected_version`."""
        # The port passes only an id, so read the job once to learn which indexes hold it.
        current = self.get(job_id)
        if current is None or current.version != expected_version:
            raise StaleJob(job_id, expected_version)
        keys = [self._job_key(job_id), *self._all_index_keys(current.queue, current.tenant_id)]
        if self._delete(keys=keys, args=[expected_version, job_id, current.queue, current.tenant_id]) != 1:
            raise StaleJob(job_id, expected_version)

    def counts(self, queue: str, *, tenant_id: str | None = None) -> dict[JobState, int]:
        """Jobs per state in `queue` (for one tenant if given), one ZCARD per state in one round trip."""
        pipe = self._client.pipeline(transaction=False)
        for state in JobState:
            pipe.zcard(self._index_key(queue, state, tenant_id))
        counts = empty_counts()
        for state, count in zip(JobState, pipe.execute(), strict=True):
            counts[state] = int(count)
        return counts

    def _list_page(
        self, queue: str, state: JobState, tenant_id: str | None, *, offset: int, limit: int, descending: bool
    ) -> list[Job]:
        # The port never asks for an empty page: a ZRANGE stop of offset - 1 would read as "to the end".
        key = self._index_key(queue, state, tenant_id)
        ids = self._client.zrange(key, offset, offset + limit - 1, desc=descending)
        # A job can change state between the two reads; do not show it under a state it has left.
        return [job for job in self._load([_text(i) for i in ids]) if job.state is state]

    def list_due(
        self, queue: str, state: JobState, *, until: dt.datetime, limit: int, tenant_id: str | None = None
    ) -> list[Job]:
        """Up to `limit` jobs in `state` whose index time is at or before `until`, oldest first."""
        if limit <= 0:
            return []
        key = self._index_key(queue, state, tenant_id)
        ids = self._client.zrangebyscore(key, "-inf", repr(until.timestamp()), start=0, num=limit)
        return [job for job in self._load([_text(i) for i in ids]) if job.state is state]

    def set_paused(self, queue: str, paused: bool, *, tenant_id: str | None = None) -> None:
        """Record whether `queue` is paused, for everyone or for `tenant_id` only."""
        key, member = (
            (f"{self._prefix}paused", queue)
            if tenant_id is None
            else (f"{self._prefix}paused-tenants", tenant_pause_key(queue, tenant_id))
        )
        if paused:
            self._client.sadd(key, member)
        else:
            self._client.srem(key, member)

    def pauses(self) -> Pauses:
        """Both sets, in one round trip."""
        pipe = self._client.pipeline(transaction=False)
        pipe.smembers(f"{self._prefix}paused")
        pipe.smembers(f"{self._prefix}paused-tenants")
        queues, tenants = pipe.execute()
        return Pauses(
            queues=frozenset(_text(name) for name in queues),
            tenants=frozenset(tenant_pause_of(_text(key)) for key in tenants),
        )

    def paused_queues(self) -> set[str]:
        """The names of the queues paused for everyone."""
        return {_text(name) for name in self._client.smembers(f"{self._prefix}paused")}

    def is_paused(self, queue: str, *, tenant_id: str | None = None) -> bool:
        """Whether `queue` (or `tenant_id`'s jobs on it) is paused, without reading the whole sets."""
        if tenant_id is None:
            return bool(self._client.sismember(f"{self._prefix}paused", queue))
        pipe = self._client.pipeline(transaction=False)
        pipe.sismember(f"{self._prefix}paused", queue)
        pipe.sismember(f"{self._prefix}paused-tenants", tenant_pause_key(queue, tenant_id))
        return any(pipe.execute())

    def take_rate_slot(self, queue: str, *, max_jobs: int, per_seconds: int, now: dt.datetime) -> float:
        """0.0 if a start in `queue`'s current window is allowed (and counted), else the seconds left in it."""
        window, left = window_bounds(now, per_seconds)
        key = f"{self._prefix}rate:{_name(queue)}:{window}"
        granted = self._take_slot(keys=[key], args=[max_jobs, per_seconds * 2])
        return 0.0 if granted == 1 else left

    def take_quota(self, name: str, *, amount: int, limit: int, per_seconds: int, now: dt.datetime) -> float:
        """0.0 if `amount` more uses fit `name`'s current window (and are counted), else the seconds left in it."""
        window, left = window_bounds(now, per_seconds)
        key = f"{self._prefix}quota:{_name(name)}:{window}"
        granted = self._take_quota(keys=[key], args=[amount, limit, per_seconds * 2])
        return 0.0 if granted == 1 else left

    def save_schedule(self, schedule: Schedule, *, expected_version: int | None = None) -> Schedule:
        """Write a schedule (one hash field each) if it is new or still at `expected_version`."""
        stored = schedule.model_copy(update={"version": (expected_version or 0) + 1})
        expected = -1 if expected_version is None else expected_version
        written = self._save_schedule_script(
            keys=[f"{self._prefix}schedules"], args=[schedule.id, expected, stored.model_dump_json()]
        )
        if not written:
            raise ScheduleConflict(schedule.id)
        return stored

    def get_schedule(self, schedule_id: str) -> Schedule | None:
        """The schedule with this id, or None."""
        raw = self._client.hget(f"{self._prefix}schedules", schedule_id)
        return None if raw is None else Schedule.model_validate_json(raw)

    def list_schedules(self) -> list[Schedule]:
        """Every schedule, in one HGETALL."""
        return [Schedule.model_validate_json(raw) for raw in self._client.hgetall(f"{self._prefix}schedules").values()]

    def delete_schedule(self, schedule_id: str) -> bool:
        """Remove a schedule; False if there was none."""
        return bool(self._client.hdel(f"{self._prefix}schedules", schedule_id))

    def _counter_key(self, name: str) -> str:
        return f"{self._prefix}counters:{_name(name)}"

    def add_to_counters(self, name: str, increments: dict[str, float]) -> None:
        """HINCRBYFLOAT each field, in one MULTI round trip."""
        pipe = self._client.pipeline(transaction=True)
        for field, amount in increments.items():
            pipe.hincrbyfloat(self._counter_key(name), field, amount)
        pipe.execute()

    def read_counters(self, name: str) -> dict[str, float]:
        """The counter hash, as floats."""
        raw = self._client.hgetall(self._counter_key(name))
        return {_text(field): float(_text(value)) for field, value in raw.items()}

    def ping(self) -> None:
        """Raise if Redis cannot be reached."""
        self._client.ping()
