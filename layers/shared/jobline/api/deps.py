"""Route dependencies: the runtime and the caller, injected with Powertools' Depends.

Tests swap the runtime with `create_app(runtime_provider=...)`, which overrides
`current_runtime`; the Lambda path builds it once with `jobline.runtime.get_runtime()`.
"""

from __future__ import annotations

from typing import Annotated, TypedDict

from aws_lambda_powertools.event_handler import Depends, Request

from jobline import auth, runtime
from jobline.auth import Principal
from jobline.core.errors import JobNotFound
from jobline.core.job import Job
from jobline.engine import operations
from jobline.runtime import Runtime

# Where the resolver leaves the authenticated caller for the route's dependencies.
PRINCIPAL_KEY = "jobline_principal"


def current_runtime() -> Runtime:
    """The process-wide runtime."""
    return runtime.get_runtime()


def current_principal(request: Request) -> Principal:
    """The caller the resolver authenticated before validation ran."""
    principal = request.context.get(PRINCIPAL_KEY)
    if not isinstance(principal, Principal):
        # Only a route wrongly listed as public gets here; refuse rather than guess.
        raise auth.MissingToken("missing bearer token")
    return principal


class JobOwner(TypedDict):
    """Whose a job added for the caller is, as every adding call takes it (`**job_owner(caller)`)."""

    tenant_id: str
    user_id: str


def job_owner(caller: Principal) -> JobOwner:
    """The caller's tenant and user, the owners of the jobs it adds."""
    return JobOwner(tenant_id=caller.tenant_id, user_id=caller.user_id)


def may_see(job: Job, caller: Principal) -> bool:
    """Whether `caller` may see `job` of its own tenant: admins (and operators) see every job; anyone
    else only the jobs they added. A job with no user (a schedule's run, a waitlist cascade, a tick's
    work) is the tenant's, not any one user's, so only its admins see it."""
    return caller.is_admin or (job.user_id is not None and job.user_id == caller.user_id)


def visible_job(runtime: Runtime, job_id: str, *, queue: str | None, caller: Principal) -> Job:
    """The job, if it is in `queue`, of the caller's tenant (any tenant for operators) and one the
    caller may see; JobNotFound (404) otherwise, as for a job that does not exist, so ids do not leak."""
    job = operations.get_job(runtime, job_id, queue=queue, tenant_id=caller.scope)
    if not may_see(job, caller):
        raise JobNotFound(job_id)
    return job


def admin_principal(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """The caller, if an admin (or operator)."""
    return auth.require_admin(principal)


def operator_principal(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """The caller, if a platform operator."""
    return auth.require_operator(principal)


RuntimeDep = Annotated[Runtime, Depends(current_runtime)]
CallerDep = Annotated[Principal, Depends(current_principal)]
AdminDep = Annotated[Principal, Depends(admin_principal)]
OperatorDep = Annotated[Principal, Depends(operator_principal)]
