"""Worker versioning seen from outside a worker: which Worker Deployment Version gets a deployment's
tasks, and making a version current. Shared by the worker's readiness probe and ``sessionflow
versions``, so the probe and the release step read the routing the same way.

The raw WorkflowService RPCs (``DescribeWorkerDeployment``, ``SetWorkerDeploymentCurrentVersion``)
are what ``temporal worker deployment describe`` / ``set-current-version`` call; the Python SDK has
no higher-level client method for them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from temporalio.api.deployment.v1 import RoutingConfig, WorkerDeploymentInfo
from temporalio.api.workflowservice.v1 import (
    DescribeWorkerDeploymentRequest,
    SetWorkerDeploymentCurrentVersionRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

UNVERSIONED = "__unversioned__"
"""How the server names "no version": tasks go to unversioned pollers."""

# The server refuses a promotion while the version is unknown (no poller has registered it yet,
# NOT_FOUND) or lacks pollers on a task queue the current version has (FAILED_PRECONDITION): both
# pass once the new pods poll, so the release step waits for them.
PROMOTION_RETRYABLE = frozenset({RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION})


@dataclass(frozen=True)
class Routing:
    """Where a Worker Deployment's tasks go: the current build (None: unversioned) and a ramp."""

    current_build_id: str | None
    ramping_build_id: str | None = None
    ramping_percentage: float = 0.0
    build_ids: tuple[str, ...] = ()
    """Every version the server knows for the deployment (registered by a poller)."""


def _build_id(message_set: bool, build_id: str, legacy: str) -> str | None:
    if message_set and build_id:
        return build_id
    # Servers before the structured field only fill "<deployment>.<build id>"; a deployment name
    # holds no dot (settings refuse one: the server cannot promote its versions), so the first dot
    # splits it.
    if legacy and legacy != UNVERSIONED:
        return legacy.partition(".")[2] or None
    return None


def routing_from(info: WorkerDeploymentInfo) -> Routing:
    config: RoutingConfig = info.routing_config
    return Routing(
        current_build_id=_build_id(
            config.HasField("current_deployment_version"),
            config.current_deployment_version.build_id,
            config.current_version,
        ),
        ramping_build_id=_build_id(
            config.HasField("ramping_deployment_version"),
            config.ramping_deployment_version.build_id,
            config.ramping_version,
        ),
        ramping_percentage=config.ramping_version_percentage,
        build_ids=tuple(summary.deployment_version.build_id for summary in info.version_summaries),
    )


async def describe_routing(client: Client, deployment_name: str, *, rpc_timeout: timedelta) -> Routing | None:
    """The deployment's routing, or None while it does not exist (no versioned worker has polled)."""
    try:
        response = await client.workflow_service.describe_worker_deployment(
            DescribeWorkerDeploymentRequest(namespace=client.namespace, deployment_name=deployment_name),
            timeout=rpc_timeout,
        )
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            return None
        raise
    return routing_from(response.worker_deployment_info)


class PromotionTimeout(Exception):
    """The version did not become promotable (no pollers of it) within the wait."""


async def promote(
    client: Client,
    deployment_name: str,
    build_id: str,
    *,
    identity: str,
    wait: timedelta,
    retry_every: timedelta = timedelta(seconds=2),
    rpc_timeout: timedelta = timedelta(seconds=10),
) -> str | None:
    """Make ``build_id`` the current version of ``deployment_name`` once its workers poll; returns
    the build id that was current before (None: unversioned). Idempotent: promoting the current
    version again changes nothing.

    ``allow_no_pollers`` and ``ignore_missing_task_queues`` stay false, so the server keeps its
    own guards: it refuses a version no poller has registered (NOT_FOUND, checked on the dev server)
    and, as documented for the RPC, one that misses task queues the current version polls. Both are
    retried until ``wait`` runs out, then ``PromotionTimeout``; any other refusal is raised at once.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait.total_seconds()
    request = SetWorkerDeploymentCurrentVersionRequest(
        namespace=client.namespace, deployment_name=deployment_name, build_id=build_id, identity=identity
    )
    while True:
        try:
            response = await client.workflow_service.set_worker_deployment_current_version(
                request, timeout=rpc_timeout
            )
        except RPCError as error:
            if error.status not in PROMOTION_RETRYABLE:
                raise
            if loop.time() + retry_every.total_seconds() > deadline:
                raise PromotionTimeout(
                    f"build {build_id} of worker deployment {deployment_name} is not promotable after "
                    f"{wait.total_seconds():g} s: {error.message}"
                ) from error
            # A retry loop against the server's own check, bounded by the deadline above.
            await asyncio.sleep(retry_every.total_seconds())
            continue
        previous = response.previous_deployment_version
        return _build_id(
            response.HasField("previous_deployment_version"), previous.build_id, response.previous_version
        )
