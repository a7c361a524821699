"""The admin page at /admin in a real browser: Playwright drives Debian's Chromium against the local stack.

Each test works in a tenant of its own and signs in as that tenant's admin, so the counts it
reads are its own jobs only; pausing a queue and the DLQ depth need an operator's token.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Dialog, Locator, Page, expect

from jobline.core.registry import job_type, unregister
from jobline.engine.enqueue import JobOptions, enqueue
from jobline.runtime import get_runtime
from jobline_dev.local import LocalStack
from tests.e2e.conftest import CHROMIUM, ROOT
from tests.e2e.support import Api, wait_for, wait_for_job

ADMIN = "/api/v1/admin/jobs"
QUEUE = "generic-task"
PAGE_SIZE = 20  # the page's PAGE
TOKEN_KEY = "jobline.admin.token"  # the page's sessionStorage key
DASH = "\N{EN DASH}"  # the page's page ranges and "none"
SCREENSHOT = ROOT / "test-artifacts" / "admin-page.png"
AN_HOUR = 3_600_000  # milliseconds; long enough that a delayed job stays delayed for the whole test
# The page refreshes every 5 s; one more second for the requests and the render.
AUTO_REFRESH_MS = 6_000


@dataclasses.dataclass
class TaskTypes:
    """Throwaway job types on the task queue: `succeed` completes with a log line,
    `fail` raises while `failing` is set, after logging a line."""

    succeed: str
    fail: str
    failing: bool = True


@pytest.fixture
def task_types() -> Iterator[TaskTypes]:
    """The job types, registered with the stack's workers (they run in this process) for one test."""
    suffix = uuid.uuid4().hex[:6]
    types = TaskTypes(succeed=f"e2e-admin-ok-{suffix}", fail=f"e2e-admin-broken-{suffix}")

    def succeed(payload: dict[str, Any], ctx: Any) -> dict[str, Any]:
        ctx.log("all done")
        return {"echo": payload}

    def fail(payload: dict[str, Any], ctx: Any) -> dict[str, Any]:
        ctx.log("about to fail")
        if types.failing:
            raise_planned_failure()
        return {"recovered": True}

    job_type(QUEUE, types.succeed)(succeed)
    job_type(QUEUE, types.fail)(fail)
    yield types
    unregister(QUEUE, types.succeed)
    unregister(QUEUE, types.fail)


def raise_planned_failure() -> None:
    """A named frame, so the failed job's stack trace has something of this test to show."""
    raise RuntimeError("planned failure for the admin page")


@pytest.fixture
def admin_token(stack: LocalStack, tenant: str) -> str:
    return stack.token(tenant=tenant, roles=("admin",))


@pytest.fixture
def admin_api(stack: LocalStack, admin_token: str) -> Api:
    """The API as the test tenant's admin, to check what the page did."""
    return Api(stack.api_url, admin_token)


@pytest.fixture
def paused_tasks(operator_api: Api) -> Iterator[None]:
    """The task queue paused for the test, so its jobs stay waiting; resumed whatever happens."""
    answer = operator_api.post(f"{ADMIN}/{QUEUE}/pause")
    assert answer.status == 200, answer.text
    yield
    operator_api.post(f"{ADMIN}/{QUEUE}/resume")


@pytest.fixture
def add_job(tenant: str) -> Callable[..., str]:
    """Enqueue a job of the test's tenant on the task queue; returns its id."""

    def add(name: str, *, delay: int | None = None, attempts: int | None = None, data: Any = None) -> str:
        options = JobOptions(delay=delay, attempts=attempts)
        job = enqueue(get_runtime(), queue=QUEUE, name=name, data=data or {}, tenant_id=tenant, options=options).job
        return job.id

    return add


def job_path(job_id: str) -> str:
    return f"{ADMIN}/{QUEUE}/{job_id}"


def finished(api: Api, job_id: str) -> dict[str, Any]:
    return wait_for_job(api, job_path(job_id))


def counts(api: Api) -> dict[str, Any]:
    answer = api.get(f"{ADMIN}/{QUEUE}/stats")
    assert answer.status == 200, answer.text
    return dict(answer.data)


class AdminPage:
    """The admin page in one browser tab, found by the ids and data attributes admin.html gives it."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.status = page.locator("#status")

    def open(self) -> AdminPage:
        self.page.goto(f"{self.base_url}/admin")
        return self

    def sign_in(self, token: str) -> AdminPage:
        expect(self.page.locator("#login")).to_be_visible()
        self.page.fill("#token-input", token)
        self.page.click("#token-save")
        expect(self.queue_row(QUEUE)).to_be_visible()
        return self

    def queue_row(self, queue: str) -> Locator:
        return self.page.locator(f'#queues tr[data-queue="{queue}"]')

    def queue_cell(self, field: str, queue: str = QUEUE) -> Locator:
        """A count (waiting … delayed), `dlq` or `paused` of a queue."""
        return self.queue_row(queue).locator(f'td[data-field="{field}"]')

    def show(self, state: str) -> None:
        """Click the task queue's count of `state`, which lists its jobs in that state."""
        self.queue_cell(state).locator("a").click()
        expect(self.page.locator("#state")).to_have_value(state)
        expect(self.page.locator("#jobs-title")).to_have_text(f"Jobs of {QUEUE}")

    def job_rows(self) -> Locator:
        return self.page.locator("#jobs tbody tr")

    def listed_ids(self) -> list[str]:
        return [str(row.get_attribute("data-job-id")) for row in self.job_rows().all()]

    def open_job(self, job_id: str) -> None:
        self.page.locator(f'#jobs tr[data-job-id="{job_id}"] a').click()
        expect(self.page.locator("#detail-id")).to_have_text(job_id)

    def press(self, button: str | Locator, *, outcome: str) -> None:
        """Press a button that must ask nothing, and wait for the status line to tell its outcome."""
        asked = self._click_answering_dialogs(button, accept=False, outcome=outcome)
        assert not asked, f"{button} asked for a confirmation: {asked}"

    def press_and_answer(self, button: str, *, accept: bool, outcome: str) -> str:
        """Press a destructive button, accept or dismiss its confirmation; returns the question asked."""
        questions = self._click_answering_dialogs(button, accept=accept, outcome=outcome)
        assert len(questions) == 1, f"expected one confirmation, got {questions}"
        return questions[0]

    def _click_answering_dialogs(self, button: str | Locator, *, accept: bool, outcome: str) -> list[str]:
        questions: list[str] = []

        def answer(dialog: Dialog) -> None:
            questions.append(dialog.message)
            if accept:
                dialog.accept()
            else:
                dialog.dismiss()

        self.page.on("dialog", answer)
        try:
            (self.page.locator(button) if isinstance(button, str) else button).click()
            expect(self.status).to_have_text(outcome)
        finally:
            self.page.remove_listener("dialog", answer)
        return questions

    def stored_token(self) -> str | None:
        return self.page.evaluate(f"sessionStorage.getItem({TOKEN_KEY!r})")


@pytest.fixture
def admin_page(chromium: Browser, stack: LocalStack) -> Iterator[AdminPage]:
    """A fresh browser context (its own sessionStorage) on the admin page; fails on an uncaught script error."""
    context = chromium.new_context(viewport={"width": 1500, "height": 1000})
    page = context.new_page()
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    yield AdminPage(page, stack.api_url).open()
    context.close()
    assert not script_errors, f"the page logged errors: {script_errors}"


def test_debian_chromium_is_installed_for_the_browser_tests() -> None:
    assert os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} is missing: run `make browser` to install Debian's chromium"


def test_admin_page_shows_the_queue_counts_and_a_failed_jobs_error_stack_trace_and_logs(
    admin_page: AdminPage,
    admin_token: str,
    admin_api: Api,
    task_types: TaskTypes,
    add_job: Callable[..., str],
    operator_api: Api,
) -> None:
    completed_id = add_job(task_types.succeed, data={"greeting": "hello"})
    failed_id = add_job(task_types.fail, attempts=1)
    add_job(task_types.succeed, delay=AN_HOUR)
    assert finished(admin_api, completed_id)["state"] == "completed"
    assert finished(admin_api, failed_id)["state"] == "failed"
    assert operator_api.post(f"{ADMIN}/{QUEUE}/pause").status == 200
    try:
        waiting_id = add_job(task_types.succeed)  # stays waiting: the queue is paused

        admin_page.sign_in(admin_token)
        page = admin_page.page

        expected = {"waiting": "1", "active": "0", "completed": "1", "failed": "1", "delayed": "1", "paused": "paused"}
        for field, text in expected.items():
            expect(admin_page.queue_cell(field)).to_have_text(text)
        expect(admin_page.queue_cell("dlq")).to_have_text(DASH)  # the SQS depths are for operators only
        expect(admin_page.queue_cell("paused", queue="email")).to_have_text("running")

        admin_page.show("completed")
        admin_page.open_job(completed_id)
        expect(page.locator("#detail-data")).to_contain_text('"greeting": "hello"')
        expect(page.locator("#detail-result")).to_contain_text('"echo"')
        expect(page.locator("#detail-logs")).to_contain_text("all done")

        admin_page.show("failed")
        assert admin_page.listed_ids() == [failed_id]
        admin_page.open_job(failed_id)
        expect(page.locator("#detail-fields")).to_contain_text("1/1")  # attempts made / allowed
        expect(page.locator("#detail-error")).to_have_text("RuntimeError: planned failure for the admin page")
        stack_trace = page.locator("#detail-stacktrace")
        expect(stack_trace).to_contain_text("RuntimeError")
        expect(stack_trace).to_contain_text("raise_planned_failure")
        expect(page.locator("#detail-logs")).to_contain_text("about to fail")
        expect(page.locator("#retry")).to_be_enabled()
        expect(page.locator("#promote")).to_be_disabled()

        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOT, full_page=True)
        assert SCREENSHOT.read_bytes().startswith(b"\x89PNG")

        # Run the held job while its type is still registered.
        assert operator_api.post(f"{ADMIN}/{QUEUE}/resume").status == 200
        assert finished(admin_api, waiting_id)["state"] == "completed"
    finally:
        operator_api.post(f"{ADMIN}/{QUEUE}/resume")


def test_admin_page_pages_through_a_state_list_longer_than_one_page_and_promotes_a_job(
    admin_page: AdminPage, admin_token: str, admin_api: Api, task_types: TaskTypes, add_job: Callable[..., str]
) -> None:
    delayed_ids = {add_job(task_types.succeed, delay=AN_HOUR) for _ in range(PAGE_SIZE + 3)}
    admin_page.sign_in(admin_token)
    page = admin_page.page

    admin_page.show("delayed")
    expect(page.locator("#page")).to_have_text(f"1{DASH}{PAGE_SIZE} of {PAGE_SIZE + 3}")
    expect(admin_page.job_rows()).to_have_count(PAGE_SIZE)
    expect(page.locator("#prev")).to_be_disabled()
    first_page = admin_page.listed_ids()
    page.click("#next")
    expect(page.locator("#page")).to_have_text(f"{PAGE_SIZE + 1}{DASH}{PAGE_SIZE + 3} of {PAGE_SIZE + 3}")
    expect(admin_page.job_rows()).to_have_count(3)
    expect(page.locator("#next")).to_be_disabled()
    second_page = admin_page.listed_ids()
    assert set(first_page) | set(second_page) == delayed_ids
    assert len(first_page) + len(second_page) == len(delayed_ids)  # no job on both pages

    promoted_id = second_page[0]
    admin_page.open_job(promoted_id)
    admin_page.press("#promote", outcome="job promoted")
    assert finished(admin_api, promoted_id)["state"] == "completed"
    page.click("#prev")
    expect(page.locator("#page")).to_have_text(f"1{DASH}{PAGE_SIZE} of {PAGE_SIZE + 2}")


def test_admin_page_retries_a_failed_job_and_removes_one_only_once_confirmed(
    admin_page: AdminPage, admin_token: str, admin_api: Api, task_types: TaskTypes, add_job: Callable[..., str]
) -> None:
    failed_id = add_job(task_types.fail, attempts=1)
    delayed_id = add_job(task_types.succeed, delay=AN_HOUR)
    assert finished(admin_api, failed_id)["state"] == "failed"
    admin_page.sign_in(admin_token)

    admin_page.show("failed")
    admin_page.open_job(failed_id)
    task_types.failing = False
    admin_page.press("#retry", outcome="job retried")
    retried = finished(admin_api, failed_id)
    assert (retried["state"], retried["result"]) == ("completed", {"recovered": True})

    admin_page.show("delayed")
    admin_page.open_job(delayed_id)
    question = admin_page.press_and_answer("#remove", accept=False, outcome="cancelled")
    assert delayed_id in question
    assert admin_api.get(job_path(delayed_id)).data["state"] == "delayed"
    admin_page.press_and_answer("#remove", accept=True, outcome="job removed")
    assert admin_api.get(job_path(delayed_id)).status == 404
    expect(admin_page.page.locator("#detail")).to_be_hidden()
    expect(admin_page.queue_cell("delayed")).to_have_text("0")


@pytest.mark.usefixtures("paused_tasks")
def test_admin_page_drains_waiting_jobs_only_once_confirmed(
    admin_page: AdminPage, admin_token: str, admin_api: Api, task_types: TaskTypes, add_job: Callable[..., str]
) -> None:
    waiting_ids = [add_job(task_types.succeed) for _ in range(2)]
    admin_page.sign_in(admin_token)
    expect(admin_page.queue_cell("waiting")).to_have_text("2")

    admin_page.show("waiting")
    expect(admin_page.page.locator("#clean")).to_be_disabled()  # clean takes completed or failed jobs
    question = admin_page.press_and_answer("#drain", accept=False, outcome="cancelled")
    assert QUEUE in question
    assert counts(admin_api)["waiting"] == 2
    admin_page.press_and_answer("#drain", accept=True, outcome="queue drained: 2 removed")
    assert counts(admin_api)["waiting"] == 0
    assert all(admin_api.get(job_path(job_id)).status == 404 for job_id in waiting_ids)
    expect(admin_page.queue_cell("waiting")).to_have_text("0")


def test_admin_page_cleans_finished_jobs_only_once_confirmed(
    admin_page: AdminPage, admin_token: str, admin_api: Api, task_types: TaskTypes, add_job: Callable[..., str]
) -> None:
    completed_ids = [add_job(task_types.succeed) for _ in range(2)]
    assert all(finished(admin_api, job_id)["state"] == "completed" for job_id in completed_ids)
    admin_page.sign_in(admin_token)

    admin_page.show("completed")
    expect(admin_page.job_rows()).to_have_count(2)
    question = admin_page.press_and_answer("#clean", accept=False, outcome="cancelled")
    assert "completed" in question
    assert counts(admin_api)["completed"] == 2
    admin_page.press_and_answer("#clean", accept=True, outcome="queue cleaned: 2 removed")
    assert counts(admin_api)["completed"] == 0
    expect(admin_page.job_rows()).to_have_count(0)
    expect(admin_page.page.locator("#page")).to_have_text("no jobs")


def test_operator_sees_the_dlq_depth_and_pauses_and_resumes_a_queue(
    admin_page: AdminPage, stack: LocalStack, operator_api: Api, task_types: TaskTypes, add_job: Callable[..., str]
) -> None:
    failed_id = add_job(task_types.fail, attempts=1)
    assert finished(operator_api, failed_id)["state"] == "failed"
    wait_for(lambda: counts(operator_api)["sqs"]["dlq"], what="the failed job's message in the DLQ")
    admin_page.sign_in(stack.token(tenant="operators", roles=("operator",)))

    def page_shows_the_apis_dlq_depth() -> bool:
        # The depth moves when a tick drops the DLQ copy of a job retried since (by an earlier
        # test), so the page and the API are read until they agree.
        depth = str(counts(operator_api)["sqs"]["dlq"])
        admin_page.page.click("#refresh")
        try:
            expect(admin_page.queue_cell("dlq")).to_have_text(depth, timeout=2_000)
        except AssertionError:
            return False
        return True

    wait_for(page_shows_the_apis_dlq_depth, timeout=10, what="the page to show the API's DLQ depth")
    row = admin_page.queue_row(QUEUE)
    try:
        admin_page.press(row.get_by_role("button", name="Pause"), outcome="queue paused")
        assert counts(operator_api)["paused"] is True
        expect(admin_page.queue_cell("paused")).to_have_text("paused")
        admin_page.press(row.get_by_role("button", name="Resume"), outcome="queue resumed")
        assert counts(operator_api)["paused"] is False
        expect(admin_page.queue_cell("paused")).to_have_text("running")
    finally:
        operator_api.post(f"{ADMIN}/{QUEUE}/resume")


def test_admin_page_refreshes_itself_every_five_seconds(
    admin_page: AdminPage, admin_token: str, admin_api: Api, task_types: TaskTypes, add_job: Callable[..., str]
) -> None:
    delayed_id = add_job(task_types.succeed, delay=AN_HOUR)
    admin_page.sign_in(admin_token)
    admin_page.show("delayed")
    expect(admin_page.queue_cell("delayed")).to_have_text("1")
    expect(admin_page.job_rows()).to_have_count(1)

    assert admin_api.delete(job_path(delayed_id)).status == 200

    expect(admin_page.queue_cell("delayed")).to_have_text("0", timeout=AUTO_REFRESH_MS)
    expect(admin_page.job_rows()).to_have_count(0)


def test_admin_page_keeps_the_token_for_the_tab_and_forgets_it_on_sign_out(
    admin_page: AdminPage, admin_token: str
) -> None:
    admin_page.sign_in(admin_token)
    assert admin_page.stored_token() == admin_token

    admin_page.page.reload()
    expect(admin_page.queue_row(QUEUE)).to_be_visible()
    expect(admin_page.page.locator("#login")).to_be_hidden()
    other_tab = AdminPage(admin_page.page.context.new_page(), admin_page.base_url).open()
    expect(other_tab.page.locator("#login")).to_be_visible()  # sessionStorage belongs to one tab
    other_tab.page.close()

    admin_page.page.click("#logout")
    expect(admin_page.page.locator("#login")).to_be_visible()
    assert admin_page.stored_token() is None
    admin_page.page.reload()
    expect(admin_page.page.locator("#login")).to_be_visible()
    expect(admin_page.page.locator("#app")).to_be_hidden()


def test_admin_page_refuses_a_bad_token_and_asks_again(admin_page: AdminPage) -> None:
    admin_page.page.fill("#token-input", "not-a-token")
    admin_page.page.click("#token-save")

    expect(admin_page.page.locator("#login-error")).to_contain_text("The token was refused")
    expect(admin_page.page.locator("#app")).to_be_hidden()
    assert admin_page.stored_token() is None
