"""The task and service-method registries: what may be registered, and how a registered task runs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from jobline.core.errors import InvalidPayload
from jobline.core.registry import get_job_type
from jobline.core.retry import Backoff
from jobline.core.states import JobState
from jobline.domains.tasks.registry import SERVICE_METHODS, TASKS, TaskParams, UnknownTask, service_method, task
from jobline.engine.enqueue import JobOptions, enqueue
from jobline.engine.worker import Worker
from jobline_dev.support import deliver

Q = "generic-task"
RUNS: list[dict[str, Any]] = []


class GreetParams(TaskParams):
    first_name: str


@pytest.fixture
def throwaway() -> Iterator[None]:
    """A task that fails its first attempt, and a service method, both gone after the test."""

    @task("greetTwice", params=GreetParams)
    def greet(params: GreetParams, ctx: Any) -> dict[str, Any]:
        RUNS.append({"attempt": ctx.attempt, "name": params.first_name})
        if ctx.attempt == 1:
            raise RuntimeError("flaky downstream")
        return {"greeting": f"hello {params.first_name}"}

    @service_method("greeter.wave")
    def wave(args: Any, ctx: Any) -> str:
        return "wave"

    RUNS.clear()
    yield
    TASKS.unregister("greetTwice")
    SERVICE_METHODS.unregister("greeter.wave")


@pytest.mark.parametrize("name", ["os.system", "__import__", "_private", "a b", "9lives", "", "x" * 65, "a/b"])
def test_task_registration_refuses_names_outside_the_pattern(name) -> None:
    with pytest.raises(ValueError, match="must match"):
        task(name)


@pytest.mark.parametrize("name", ["system", "os.__dict__", "__builtins__.eval", "a.b.c", ".x", "x."])
def test_service_method_registration_refuses_names_outside_service_dot_method(name) -> None:
    with pytest.raises(ValueError, match="must match"):
        service_method(name)


def test_task_registered_twice_with_another_function_is_refused(throwaway) -> None:
    with pytest.raises(ValueError, match="registered twice"):
        task("greetTwice")(lambda params, ctx: None)


def test_unknown_name_lookup_raises_unknown_task_listing_the_known_ones() -> None:
    with pytest.raises(UnknownTask, match=r"known: .*calculateSum"):
        TASKS.get("os.system")


def test_task_params_are_validated_at_enqueue_with_camel_case_names(memory_runtime, throwaway) -> None:
    with pytest.raises(InvalidPayload) as refused:
        enqueue(memory_runtime, queue=Q, name="run-task", data={"task": "greetTwice", "params": {}}, tenant_id="t1")
    assert [e["loc"] for e in refused.value.errors] == [("params", "firstName")]
    stored = get_job_type(Q, "run-task").validate({"task": "greetTwice", "params": {"firstName": "Ann"}})
    assert stored == {"task": "greetTwice", "params": {"firstName": "Ann"}}


def test_task_without_params_model_refuses_parameters(memory_runtime, throwaway) -> None:
    body = {"task": "customAsyncTask", "params": {"method": "greeter.wave", "args": {"x": 1}}}
    with pytest.raises(InvalidPayload) as refused:
        enqueue(memory_runtime, queue=Q, name="run-task", data=body, tenant_id="t1")
    assert refused.value.errors[0]["msg"] == "Value error, 'greeter.wave' takes no parameters"


def test_registered_task_failing_once_is_retried_with_backoff_and_completes(memory_runtime, throwaway) -> None:
    data = {"task": "greetTwice", "params": {"firstName": "Ann"}}
    options = JobOptions(backoff=Backoff(type="fixed", delay=0))
    job = enqueue(memory_runtime, queue=Q, name="run-task", data=data, tenant_id="t1", options=options).job
    assert len(deliver(memory_runtime, Worker(memory_runtime), Q)["batchItemFailures"]) == 1
    assert memory_runtime.store.get(job.id).error == "RuntimeError: flaky downstream"
    assert deliver(memory_runtime, Worker(memory_runtime), Q) == {"batchItemFailures": []}
    done = memory_runtime.store.get(job.id)
    assert (done.state, done.result) == (JobState.COMPLETED, {"greeting": "hello Ann"})
    assert RUNS == [{"attempt": 1, "name": "Ann"}, {"attempt": 2, "name": "Ann"}]
    assert "running task greetTwice" in done.logs


def test_service_method_registered_at_runtime_is_callable_through_custom_async_task(memory_runtime, throwaway) -> None:
    data = {"task": "customAsyncTask", "params": {"method": "greeter.wave"}}
    job = enqueue(memory_runtime, queue=Q, name="run-task", data=data, tenant_id="t1").job
    deliver(memory_runtime, Worker(memory_runtime), Q)
    assert memory_runtime.store.get(job.id).result == {"method": "greeter.wave", "result": "wave"}


def test_requires_admin_covers_admin_only_tasks_and_service_methods(task_jobs, throwaway) -> None:
    requires_admin = task_jobs.requires_admin
    service_method("greeter.shout", admin_only=True)(lambda args, ctx: "HEY")
    try:
        assert requires_admin("cleanupOldData", {"queue": "email", "olderThanDays": 1})
        assert requires_admin("customAsyncTask", {"method": "greeter.shout"})
        assert not requires_admin("customAsyncTask", {"method": "greeter.wave"})
        assert not requires_admin("calculateSum", {"numbers": [1]})
        assert not requires_admin("os.system", {})  # unknown: the payload check answers 422
    finally:
        SERVICE_METHODS.unregister("greeter.shout")
