"""Redis faults on the job store's own client: its connections killed (CLIENT KILL, by client name,
never anyone else's), and a write whose reply is lost after the server applied it."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import redis

from tests.faults import crash
from tests.faults.ledger import Ledger

_armed = threading.local()


def lose_next_script_reply() -> None:
    """The calling thread's next EVALSHA (a store write) is applied, but its reply never arrives."""
    _armed.lose = True


def disarm() -> None:
    _armed.lose = False


class LossyConnection(redis.Connection):
    """A connection that drops itself after the server ran an armed write, before the client reads the
    reply, as a network cut (or a socket timeout) there would: the write is applied, the caller gets a
    ConnectionError. An armed write is the thread's next command carrying a script: a single EVALSHA
    (`replace`) or a pipeline of them (`replace_many`), whose every command the server runs."""

    ledger: Ledger | None = None

    def connect_check_health(self, *args: Any, **kwargs: Any) -> None:
        # Refused before the socket opens: redis-py cleans up a handshake only after a RedisError, so
        # a crash raised halfway through it would pool a connection that never said HELLO 3.
        crash.refuse_if_dead("a Redis connection")
        super().connect_check_health(*args, **kwargs)

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        crash.refuse_if_dead("a Redis command")
        super().send_packed_command(command, check_health=check_health)
        if getattr(_armed, "lose", False) and _carries_script(command):
            _armed.lose = False
            self._lose_reply = True

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        response = super().read_response(*args, **kwargs)
        if getattr(self, "_lose_reply", False):
            self._lose_reply = False
            if self.ledger is not None:
                self.ledger.fault("redis_reply_lost")
            self.disconnect()
            raise redis.ConnectionError("injected: connection dropped after the write, before its reply")
        return response


def _carries_script(command: Any) -> bool:
    packed = command if isinstance(command, bytes | bytearray) else b"".join(bytes(part) for part in command)
    return b"EVALSHA" in packed


def store_client(url: str, ledger: Ledger) -> tuple[redis.Redis, str]:
    """A client configured as `jobline.runtime.build_store` makes it, named so its connections can be found."""
    name = f"jobline-faults-{uuid.uuid4().hex[:10]}"
    connection_class = type("LedgerLossyConnection", (LossyConnection,), {"ledger": ledger})
    client = redis.Redis.from_url(
        url, socket_timeout=5, health_check_interval=30, client_name=name, connection_class=connection_class
    )
    return client, name


class RedisKiller:
    """CLIENT KILL of the connections that carry one client name: the store's own, nobody else's."""

    def __init__(self, admin: redis.Redis, client_name: str) -> None:
        self._admin = admin
        self._name = client_name

    def kill_store_connections(self) -> int:
        killed = 0
        for client in self._admin.client_list():
            if client.get("name") == self._name:
                killed += int(self._admin.client_kill_filter(_id=client["id"]) or 0)
        return killed
