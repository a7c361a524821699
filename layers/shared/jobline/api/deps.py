"""Route dependencies: the runtime and the caller, injected with Powertools' Depends.

Tests swap the runtime with `create_app(runtime_provider=...)`, which overrides
`current_runtime`; the Lambda path builds it once with `jobline.runtime.get_runtime()`.
"""

from __future__ import annotations

from typing import Annotated, TypedDict

from aws_lambda_powertools.event_handler import Depends, Request

from jobline import auth, runtime
from jobline.auth import Principal
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
