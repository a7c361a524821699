"""Counters for what the code under test does: its AWS calls (by botocore hooks, timed apart from moto's
work) and its Redis round trips (by wrapping the connection), so benchmarks can say what a job costs."""

from __future__ import annotations

import collections
import statistics
import threading
import time
from typing import Any


class AwsCalls:
    """Counts botocore API calls by (service, operation), with their parameters when asked, and times them:
    `seconds` is the time spent in the emulator (moto, from the request sent to the response ready to
    parse; on AWS that is the network round trip and the service's work instead), and `timing` splits each
    operation's calls into that and botocore's own work in the caller's process (validating, serialising,
    signing, parsing), which AWS does not take away. Calls may run on several threads."""

    def __init__(self, *, keep_params: bool = False) -> None:
        self.counts: collections.Counter[tuple[str, str]] = collections.Counter()
        self.params: list[tuple[str, str, dict[str, Any]]] = []
        self.seconds = 0.0
        # (service, operation) -> [calls, seconds in the emulator, seconds in botocore around it]
        self.timing: dict[tuple[str, str], list[float]] = collections.defaultdict(lambda: [0, 0.0, 0.0])
        self._keep_params = keep_params
        self._local = threading.local()
        self.enabled = True

    def start(self, **kwargs: Any) -> None:
        # `provide-client-params`: the first event of a call.
        self._local.started_at = time.perf_counter()
        self._local.emulated = 0.0

    def before_call(self, model: Any, params: Any = None, **kwargs: Any) -> None:
        # `before-parameter-build`: the caller's own parameters, before botocore serialises them.
        self._local.key = (model.service_model.service_name, model.name)
        if not self.enabled:
            return
        self.counts[self._local.key] += 1
        if self._keep_params and isinstance(params, dict):
            self.params.append((*self._local.key, params))

    def before_send(self, **kwargs: Any) -> None:
        self._local.sent_at = time.perf_counter()

    def before_parse(self, **kwargs: Any) -> None:
        sent_at = getattr(self._local, "sent_at", None)
        if sent_at is not None:
            self._local.emulated = getattr(self._local, "emulated", 0.0) + time.perf_counter() - sent_at
        self._local.sent_at = None

    def after_call(self, **kwargs: Any) -> None:
        started_at, key = getattr(self._local, "started_at", None), getattr(self._local, "key", None)
        if started_at is None or key is None or not self.enabled:
            return
        emulated = self._local.emulated
        self.seconds += emulated
        slot = self.timing[key]
        slot[0] += 1
        slot[1] += emulated
        slot[2] += time.perf_counter() - started_at - emulated
        self._local.started_at = None

    def attach(self, events: Any) -> None:
        """Hook into an event emitter: a session's (clients made later copy it) or one client's."""
        events.register("provide-client-params", self.start)
        events.register("before-parameter-build", self.before_call)
        events.register_first("before-send", self.before_send)  # ahead of moto's stubber, which answers there
        events.register("before-parse", self.before_parse)
        events.register("after-call", self.after_call)

    def reset(self) -> None:
        self.counts.clear()
        self.params.clear()
        self.timing.clear()
        self.seconds = 0.0

    def total(self) -> int:
        return sum(self.counts.values())


def count_aws_calls(calls: AwsCalls) -> None:
    """Hook `calls` into every boto3 client made from now on (clients copy the session's hooks when made).

    Call it inside `mock_aws()` (which swaps boto3's default session) and before the runtime is built.
    """
    import boto3

    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    calls.attach(boto3.DEFAULT_SESSION.events)


class RedisCommands:
    """Counts Redis round trips by command (EVALSHA by script) and times each, from its send to its last
    reply read, by wrapping the connection's send and read."""

    def __init__(self, store: Any) -> None:
        import redis.connection

        self.counts: collections.Counter[str] = collections.Counter()
        self.seconds: dict[str, list[float]] = collections.defaultdict(list)
        self._scripts: dict[bytes, str] = {}
        for name in ("_create", "_replace", "_delete", "_take_slot", "_save_schedule_script"):
            script = getattr(store, name, None)
            if script is not None:
                self._scripts[script.sha.encode()] = name.strip("_").replace("_script", "")
        self._cls = redis.connection.AbstractConnection
        self._send = self._cls.send_packed_command
        self._read = self._cls.read_response

    def _name(self, command: Any) -> str:
        packed = command if isinstance(command, bytes | str) else b"".join(command)
        packed = packed.encode() if isinstance(packed, str) else packed
        parts = packed.split(b"\r\n")
        # Each command is an array (`*n`), its name the first bulk string after it.
        names = []
        for i, part in enumerate(parts[:-2]):
            if part.startswith(b"*"):
                name = parts[i + 2].decode().upper()
                if name == "EVALSHA" and i + 4 < len(parts):
                    name = f"EVALSHA {self._scripts.get(parts[i + 4], '?')}"
                if name == "SCRIPT" and i + 4 < len(parts):
                    name = f"SCRIPT {parts[i + 4].decode().upper()}"
                names.append(name)
        if len(names) == 1:
            return names[0]
        inner = collections.Counter(n for n in names if n not in ("MULTI", "EXEC"))
        kind = "MULTI/EXEC" if names[:1] == ["MULTI"] else "pipeline"
        return f"{kind}: " + ", ".join(f"{n} x{k}" for n, k in inner.items())

    def __enter__(self) -> RedisCommands:
        send, read, outer = self._send, self._read, self
        # Per connection: the command in flight, when it was sent, and its timing slot (a pipeline's
        # replies are read one by one; the last read ends the round trip).
        in_flight: dict[int, tuple[str, float, list[float], int]] = {}

        def send_packed_command(conn: Any, command: Any, check_health: bool = True) -> Any:
            name = outer._name(command)
            outer.counts[name] += 1
            timings = outer.seconds[name]
            timings.append(0.0)
            in_flight[id(conn)] = (name, time.perf_counter(), timings, len(timings) - 1)
            return send(conn, command, check_health)

        def read_response(conn: Any, *args: Any, **kwargs: Any) -> Any:
            response = read(conn, *args, **kwargs)
            if (flight := in_flight.get(id(conn))) is not None:
                _, sent_at, timings, slot = flight
                timings[slot] = time.perf_counter() - sent_at
            return response

        self._cls.send_packed_command = send_packed_command  # type: ignore[method-assign]
        self._cls.read_response = read_response  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        self._cls.send_packed_command = self._send  # type: ignore[method-assign]
        self._cls.read_response = self._read  # type: ignore[method-assign]


def redis_ping_seconds(client: Any, count: int = 200) -> float:
    """The median round trip of a PING: what any Redis command costs at least, on this machine now."""
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        client.ping()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)
