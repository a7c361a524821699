"""End-to-end helpers: an HTTP client for the local stack, waiting, and a job flow any workload can run."""

from __future__ import annotations

import dataclasses
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

FINAL_STATES = ("completed", "failed")


def rate_limited_wait(queue: str) -> float:
    """How long to wait for a job of a rate-limited queue: every test on the stack shares its limit
    (export: 10 a minute), so a job past it waits for the next window; the wait outlasts one."""
    from jobline.core.queues import get_queue

    limit = get_queue(queue).rate_limit
    return 20.0 if limit is None else limit.per_seconds + 15.0


@dataclasses.dataclass(frozen=True)
class Answer:
    """One HTTP answer: status, headers (lower-case names) and the JSON body (None when not JSON)."""

    status: int
    headers: dict[str, str]
    body: Any
    text: str

    @property
    def data(self) -> Any:
        """The envelope's `data`."""
        assert isinstance(self.body, dict), f"not a JSON object: {self.text[:300]}"
        return self.body.get("data")


class Api:
    """A small client of the stack's HTTP API, optionally with a bearer token."""

    def __init__(self, base_url: str, token: str | None = None, *, timeout: float = 30) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def with_token(self, token: str | None) -> Api:
        return Api(self.base_url, token, timeout=self.timeout)

    def request(self, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None) -> Answer:
        """Send one request; an HTTP error status is an answer, not an exception."""
        sent = {"accept": "application/json", **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent.setdefault("content-type", "application/json")
        if self.token:
            sent.setdefault("authorization", f"Bearer {self.token}")
        request = urllib.request.Request(f"{self.base_url}{path}", data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return _answer(response.status, dict(response.headers.items()), response.read())
        except urllib.error.HTTPError as error:
            return _answer(error.code, dict(error.headers.items()), error.read())

    def get(self, path: str, **kwargs: Any) -> Answer:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Answer:
        return self.request("POST", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Answer:
        return self.request("DELETE", path, **kwargs)


def _answer(status: int, headers: dict[str, str], raw: bytes) -> Answer:
    text = raw.decode("utf-8", "replace")
    try:
        body = json.loads(text) if text else None
    except json.JSONDecodeError:
        body = None
    return Answer(status=status, headers={k.lower(): v for k, v in headers.items()}, body=body, text=text)


def wait_for[T](probe: Callable[[], T | None], *, timeout: float = 20, interval: float = 0.2, what: str = "") -> T:
    """Call `probe` until it returns something truthy; fail with the last value after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"gave up waiting for {what or 'the condition'} after {timeout} s; last: {last!r}")


def wait_for_job(
    api: Api, status_path: str, *, states: Iterable[str] = FINAL_STATES, timeout: float = 20
) -> dict[str, Any]:
    """The job view at `status_path` once its state is one of `states`."""
    wanted = set(states)

    def probe() -> dict[str, Any] | None:
        answer = api.get(status_path)
        assert answer.status == 200, f"GET {status_path}: {answer.status} {answer.text[:300]}"
        return answer.data if answer.data["state"] in wanted else None

    return wait_for(probe, timeout=timeout, what=f"{status_path} to reach {sorted(wanted)}")


@dataclasses.dataclass(frozen=True)
class JobFlow:
    """A job submitted over HTTP and watched to its end (room generation, uploads, exports, waitlist):
    `status_path` holds `{job_id}`, `job_id_field` names the id in the submit answer's data."""

    submit_path: str
    body: Any
    status_path: str
    submit_status: tuple[int, ...] = (201, 202)
    job_id_field: str = "jobId"
    timeout: float = 20


@dataclasses.dataclass(frozen=True)
class FlowResult:
    submitted: Answer
    job: dict[str, Any]


def run_job_flow(api: Api, flow: JobFlow) -> FlowResult:
    """Submit the flow's job, check the submit status, and wait until the job finishes."""
    submitted = api.post(flow.submit_path, flow.body)
    assert submitted.status in flow.submit_status, f"POST {flow.submit_path}: {submitted.status} {submitted.text[:500]}"
    job_id = submitted.data[flow.job_id_field]
    job = wait_for_job(api, flow.status_path.format(job_id=job_id), timeout=flow.timeout)
    return FlowResult(submitted=submitted, job=job)


def matches(expected: Any, actual: Any, *, wildcard: str = "…", path: str = "$") -> list[str]:
    """Where `actual` differs from a documented answer: objects may carry more keys, `wildcard` matches anything."""
    if expected == wildcard:
        return []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        problems = []
        for key, value in expected.items():
            if key not in actual:
                problems.append(f"{path}.{key}: missing")
            else:
                problems.extend(matches(value, actual[key], wildcard=wildcard, path=f"{path}.{key}"))
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(expected) != len(actual):
            if expected == [wildcard] and isinstance(actual, list):
                return []
            return [f"{path}: expected {expected!r}, got {actual!r}"]
        pairs = enumerate(zip(expected, actual, strict=True))
        return [p for i, (e, a) in pairs for p in matches(e, a, wildcard=wildcard, path=f"{path}[{i}]")]
    return [] if expected == actual else [f"{path}: expected {expected!r}, got {actual!r}"]
