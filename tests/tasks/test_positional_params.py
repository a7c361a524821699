"""Seed 001's positional calls: each built-in's parameters in its signature's order, stored by name,
and a clear error at `params.<index>` for one too many or one of the wrong type."""

from __future__ import annotations

from typing import Any

import pytest

from jobline.core.errors import InvalidPayload
from jobline.core.registry import get_job_type

Q = "generic-task"


def stored(task: str, params: Any, **labels: Any) -> dict[str, Any]:
    """The run-task payload as enqueue would store it."""
    return get_job_type(Q, "run-task").validate({"task": task, "params": params, **labels})


def refused(task: str, params: Any) -> list[tuple[tuple[Any, ...], str]]:
    with pytest.raises(InvalidPayload) as error:
        stored(task, params)
    return [(tuple(e["loc"]), e["msg"]) for e in error.value.errors]


@pytest.mark.parametrize(
    ("task", "positional", "named"),
    [
        ("delay", [250], {"ms": 250}),
        ("calculateSum", [[1, 2.5]], {"numbers": [1, 2.5]}),
        ("processData", [[" a "], "transform"], {"data": [" a "], "operation": "transform"}),
        ("sendNotification", ["sms", ["+14155550100"], "hi"], {"channel": "sms", "message": "hi"}),
        ("cleanupOldData", ["leads", 30], {"tableName": "leads", "daysOld": 30}),
        ("generateReport", ["monthly", {"year": 2024, "month": 12}], {"type": "monthly"}),
        ("customAsyncTask", ["diagnostics.echo", ["hello"]], {"method": "diagnostics.echo"}),
    ],
)
def test_positional_params_are_stored_by_the_names_of_the_seeds_signature(task, positional, named) -> None:
    params = stored(task, positional)["params"]
    assert named.items() <= params.items()


def test_positional_and_named_calls_store_the_same_params() -> None:
    assert stored("cleanupOldData", ["email", 7]) == stored("cleanupOldData", {"queue": "email", "olderThanDays": 7})
    assert stored("processData", [[1, 2], "double"]) == stored("processData", {"items": [1, 2], "transform": "double"})
    assert stored("generateReport", ["queues", {"queues": ["email"]}])["params"]["filters"]["queues"] == ["email"]


def test_a_single_object_as_process_data_is_one_item() -> None:
    assert stored("processData", [{"name": "Ann"}, "transform"])["params"]["data"] == [{"name": "Ann"}]


def test_custom_async_task_maps_the_service_methods_own_positional_args() -> None:
    params = stored("customAsyncTask", ["DataProcessingService.processDataset", [[{"a": 1}], {"batchSize": 10}]])
    assert params["params"]["args"] == {"data": [{"a": 1}], "options": {"batchSize": 10}}


def test_labels_are_kept_with_the_payload_and_left_out_when_absent() -> None:
    with_labels = stored("delay", [1], title="Wait", context={"source": "user-upload"}, userId="user_456")
    assert with_labels == {
        "task": "delay",
        "params": {"ms": 1},
        "title": "Wait",
        "context": {"source": "user-upload"},
        "userId": "user_456",
    }
    assert stored("delay", [1]) == {"task": "delay", "params": {"ms": 1}}


@pytest.mark.parametrize(
    ("task", "params", "loc", "message"),
    [
        ("delay", [1, 2], ("params", 1), "delay takes 1 parameter (ms); this one is too many"),
        ("calculateSum", [[1], "x"], ("params", 1), "calculateSum takes 1 parameter (numbers); this one is too many"),
        ("processData", [[1], "double", {"source": "x"}], ("params", 2), "processData takes 2 parameters"),
        ("cleanupOldData", ["leads", 30, {}], ("params", 2), "cleanupOldData takes 2 parameters"),
        ("generateReport", ["monthly", {}, {}], ("params", 2), "generateReport takes 2 parameters"),
        ("sendNotification", ["sms", ["+14155550100"], "hi", {}], ("params", 3), "sendNotification takes 3"),
    ],
)
def test_one_param_too_many_is_refused_at_its_index(task, params, loc, message) -> None:
    [(where, text)] = refused(task, params)
    assert where == loc
    assert message in text


@pytest.mark.parametrize(
    ("task", "params", "loc"),
    [
        ("delay", ["soon"], ("params", 0)),
        ("calculateSum", [[1, "2"]], ("params", 0, 1)),
        ("processData", [[1, "a"], "double"], ("params", 0)),
        ("processData", [["a"], "eval"], ("params", 1)),
        ("sendNotification", ["fax", ["+14155550100"], "hi"], ("params", 0)),
        ("cleanupOldData", ["no_such_table", 30], ("params", 0)),
        ("cleanupOldData", ["leads", -1], ("params", 1)),
        ("generateReport", ["fortnightly", {}], ("params", 0)),
        ("generateReport", ["monthly", {"year": 2024}], ("params", 1)),
        ("generateReport", ["monthly", {"year": 2024, "month": 13}], ("params", 1, "month")),
        ("generateReport", ["monthly", {"year": 2024, "month": 1, "date": "2024-01-02"}], ("params", 1)),
        ("generateReport", ["weekly", {"year": 2021, "week": 53}], ("params", 1)),
        ("customAsyncTask", ["os.system", ["rm -rf /"]], ("params", 0)),
        # The service method's own positions, inside the task's second parameter.
        (
            "customAsyncTask",
            ["DataProcessingService.processDataset", [[{"a": 1}], {"batchSize": 0}]],
            ("params", 1, 1, "batchSize"),
        ),
    ],
)
def test_a_wrongly_typed_param_is_refused_at_its_index(task, params, loc) -> None:
    errors = refused(task, params)
    assert [where for where, _ in errors] == [loc], errors


def test_the_seeds_context_in_params_is_too_many_but_the_context_label_is_taken() -> None:
    assert refused("processData", [{"a": "x"}, "transform", {"source": "user-upload"}])[0][0] == ("params", 2)
    payload = stored("processData", [{"a": "x"}, "transform"], context={"source": "user-upload"})
    assert payload["context"] == {"source": "user-upload"}


def test_an_oversized_context_is_refused() -> None:
    with pytest.raises(InvalidPayload) as error:
        stored("delay", [1], context={"blob": "x" * 5_000})
    assert [e["loc"] for e in error.value.errors] == [("context",)]
