"""The template's functions, loaded from `functions/<name>/` and invoked as Lambda would invoke them."""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from jobline_dev.local.console import LOGGER
from jobline_dev.local.spec import FunctionSpec
from jobline_dev.local.template import ACCOUNT_ID

log = logging.getLogger(LOGGER)

Handler = Callable[[Any, Any], Any]


@dataclasses.dataclass
class LambdaContext:
    """The context object a Python handler gets: names, memory, request id and the time left."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: int
    function_version: str = "$LATEST"
    aws_request_id: str = dataclasses.field(default_factory=lambda: str(uuid.uuid4()))
    started: float = dataclasses.field(default_factory=time.monotonic)

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self.started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))


def load_handler(spec: FunctionSpec) -> Handler:
    """The handler `spec.handler` names (`module.function`), imported from the function's folder."""
    module_path, _, attribute = spec.handler.rpartition(".")
    file = spec.code_dir.joinpath(*module_path.split(".")).with_suffix(".py")
    if not file.is_file():
        raise FileNotFoundError(f"{spec.logical_id}: no handler module at {file}")
    # Every function's module is `app`; a name per function keeps them apart in one process.
    name = f"jobline_local_functions.{spec.logical_id}"
    module = sys.modules.get(name)
    if module is None:
        module_spec = importlib.util.spec_from_file_location(name, file)
        if module_spec is None or module_spec.loader is None:
            raise ImportError(f"cannot load {file}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        module_spec.loader.exec_module(module)
    handler: Handler = getattr(module, attribute)
    return handler


class LocalFunction:
    """One function of the template: its handler, its limits, and counts of what it ran."""

    def __init__(self, spec: FunctionSpec, *, stack_name: str, region: str, handler: Handler | None = None) -> None:
        self.spec = spec
        self.name = f"{stack_name}-{spec.logical_id}"
        self.arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{self.name}"
        self.handler = handler or load_handler(spec)
        self.invocations = 0
        self.errors = 0
        self._lock = threading.Lock()

    @property
    def logical_id(self) -> str:
        return self.spec.logical_id

    def invoke(self, event: Any) -> Any:
        """Run the handler on `event` in the calling thread; its log lines carry the function's id."""
        from jobline.telemetry.observability import logger

        context = LambdaContext(
            function_name=self.name,
            invoked_function_arn=self.arn,
            memory_limit_in_mb=self.spec.memory_mb,
            timeout_seconds=self.spec.timeout_seconds,
        )
        with self._lock:
            self.invocations += 1
        logger.thread_safe_append_keys(function=self.logical_id)
        started = time.monotonic()
        try:
            return self.handler(event, context)
        except Exception:
            with self._lock:
                self.errors += 1
            log.exception("%s: the invocation raised (request %s)", self.logical_id, context.aws_request_id)
            raise
        finally:
            logger.thread_safe_remove_keys(["function"])
            elapsed = time.monotonic() - started
            # Lambda would have stopped the invocation here; a thread cannot be stopped, so say so.
            if elapsed > self.spec.timeout_seconds:
                log.warning(
                    "%s ran %.1f s, past its %d s timeout (Lambda would have ended it)",
                    self.logical_id,
                    elapsed,
                    self.spec.timeout_seconds,
                )
