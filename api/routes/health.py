"""Liveness and readiness, unauthenticated (for load balancers and orchestrators)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import TemporalClient
from api.errors import error_response
from api.models import Health
from temporal_client.rpc_timeouts import READY_CHECK_TIMEOUT

router = APIRouter(tags=["health"])


@router.get("/healthz", operation_id="getHealth")
async def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get(
    "/readyz",
    operation_id="getReadiness",
    response_model=Health,
    responses={503: {"description": "Temporal unreachable"}},
)
async def readyz(client: TemporalClient) -> Health | JSONResponse:
    """Temporal answers: the API can serve requests."""
    try:
        healthy = await client.service_client.check_health(timeout=READY_CHECK_TIMEOUT)
    except Exception:
        healthy = False
    if not healthy:
        return error_response(503, "temporal_unavailable", "Temporal is unreachable", **{"Retry-After": "5"})
    return Health(status="ready")
