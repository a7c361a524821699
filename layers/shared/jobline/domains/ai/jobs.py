"""The `ai` queue's job types: `package-recommendations` and `delay-risk`, each one call to Amazon Bedrock.

Importing this module registers both; the task worker runs them. The model is the one
JOBLINE_BEDROCK_MODEL_ID names. An answer the job cannot use fails the attempt with the
reason (retried by the queue's attempts), never the worker.
"""

from __future__ import annotations

from typing import Any

from jobline.core.context import JobContext
from jobline.core.registry import job_type
from jobline.domains.ai import bedrock, service
from jobline.domains.ai.queues import AI
from jobline.domains.ai.schemas import DelayRisk, PackageRecommendations

PACKAGE_RECOMMENDATIONS = "package-recommendations"
DELAY_RISK = "delay-risk"


@job_type(AI, PACKAGE_RECOMMENDATIONS, payload=PackageRecommendations)
def package_recommendations(payload: PackageRecommendations, ctx: JobContext) -> dict[str, Any]:
    """Recommend the tenant's packages (room categories) to the user, with a reason and score each."""
    runtime = ctx.runtime
    with runtime.sessions() as session:
        offer = service.packages(session, tenant_id=ctx.tenant_id, today=runtime.clock().date())
    ctx.progress(20, log=f"{len(offer)} packages on offer")
    ctx.check_deadline()
    result = service.recommend(
        bedrock.client(runtime.settings),
        model_id=runtime.settings.jobline_bedrock_model_id,
        request=payload,
        offer=offer,
    )
    ctx.log(f"{len(result['recommendations'])} packages recommended")
    return result


@job_type(AI, DELAY_RISK, payload=DelayRisk)
def delay_risk(payload: DelayRisk, ctx: JobContext) -> dict[str, Any]:
    """Estimate how likely the transfer from origin to destination at the scheduled time runs late."""
    runtime = ctx.runtime
    ctx.check_deadline()
    result = service.assess_delay_risk(
        bedrock.client(runtime.settings),
        model_id=runtime.settings.jobline_bedrock_model_id,
        request=payload,
        now=runtime.clock(),
    )
    ctx.log(f"delay risk {result['riskLevel']} ({result['riskScore']}/100)")
    return result


def register() -> None:
    """Register the job types again (idempotent), for a registry that was reset after import."""
    job_type(AI, PACKAGE_RECOMMENDATIONS, payload=PackageRecommendations)(package_recommendations)
    job_type(AI, DELAY_RISK, payload=DelayRisk)(delay_risk)
