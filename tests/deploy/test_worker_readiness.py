"""Readiness of a versioned worker, without a server: ready only while its build is the current
version of its Worker Deployment, read from DescribeWorkerDeployment (parsed as the server sends
it), cached, and bounded in time. The same rule over a real dev server: test_worker_health.py."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import cast

import pytest
from temporalio.api.deployment.v1 import RoutingConfig, WorkerDeploymentInfo
from temporalio.api.deployment.v1 import WorkerDeploymentVersion as VersionMessage
from temporalio.api.workflowservice.v1 import (
    DescribeWorkerDeploymentRequest,
    DescribeWorkerDeploymentResponse,
    GetSystemInfoRequest,
    GetSystemInfoResponse,
)
from temporalio.client import Client
from temporalio.common import WorkerDeploymentVersion
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from observability.health import NOT_CURRENT, READY, UNREACHABLE, WorkerHealth, version_readiness
from temporal_client.deployments import UNVERSIONED, Routing, routing_from

DEPLOYMENT = "sessionflow"


def info(
    current: str | None, *, ramping: str | None = None, legacy_only: bool = False
) -> WorkerDeploymentInfo:
    """A deployment's info as the server sends it; ``legacy_only``: only the old string fields."""
    config = RoutingConfig(current_version=f"{DEPLOYMENT}.{current}" if current else UNVERSIONED)
    if current and not legacy_only:
        config.current_deployment_version.CopyFrom(
            VersionMessage(deployment_name=DEPLOYMENT, build_id=current)
        )
    if ramping:
        config.ramping_version = f"{DEPLOYMENT}.{ramping}"
        config.ramping_version_percentage = 25.0
        if not legacy_only:
            config.ramping_deployment_version.CopyFrom(
                VersionMessage(deployment_name=DEPLOYMENT, build_id=ramping)
            )
    result = WorkerDeploymentInfo(name=DEPLOYMENT, routing_config=config)
    for build_id in filter(None, (current, ramping)):
        result.version_summaries.add().deployment_version.CopyFrom(
            VersionMessage(deployment_name=DEPLOYMENT, build_id=build_id)
        )
    return result


@pytest.mark.parametrize("legacy_only", [False, True])
def test_routing_is_read_from_the_structured_field_or_the_older_version_string(legacy_only: bool) -> None:
    routing = routing_from(info("0.1.0", ramping="0.2.0", legacy_only=legacy_only))
    assert routing.current_build_id == "0.1.0"  # a dotted build id survives the string form
    assert (routing.ramping_build_id, routing.ramping_percentage) == ("0.2.0", 25.0)
    assert routing_from(info(None)).current_build_id is None  # "__unversioned__"


def test_only_the_current_version_is_ready() -> None:
    assert version_readiness(Routing(current_build_id="b1"), "b1") == (True, READY)
    assert version_readiness(Routing(current_build_id="b0"), "b1") == (False, NOT_CURRENT)
    assert version_readiness(Routing(current_build_id=None), "b1") == (False, NOT_CURRENT)
    assert version_readiness(None, "b1") == (False, NOT_CURRENT)  # deployment not registered yet
    # A ramp gets some tasks, but a ready ramp would let the rollout remove the current pods.
    ramping = Routing(current_build_id="b0", ramping_build_id="b1", ramping_percentage=50)
    assert version_readiness(ramping, "b1") == (False, NOT_CURRENT)


@dataclass
class FakeService:
    """The two WorkflowService calls readiness makes; ``routing`` None answers NOT_FOUND."""

    routing: WorkerDeploymentInfo | None = None
    failure: RPCError | None = None
    hang: bool = False
    calls: list[tuple[object, timedelta | None]] = field(default_factory=list)

    async def describe_worker_deployment(
        self,
        request: DescribeWorkerDeploymentRequest,
        *,
        timeout: timedelta | None = None,  # noqa: ASYNC109 (the SDK's signature)
    ) -> DescribeWorkerDeploymentResponse:
        self.calls.append((request, timeout))
        if self.hang:
            await asyncio.Event().wait()  # an RPC that never comes back to us
        if self.failure is not None:
            raise self.failure
        if self.routing is None:
            raise RPCError("no Worker Deployment found", RPCStatusCode.NOT_FOUND, b"")
        return DescribeWorkerDeploymentResponse(worker_deployment_info=self.routing)

    async def get_system_info(
        self,
        request: GetSystemInfoRequest,
        *,
        timeout: timedelta | None = None,  # noqa: ASYNC109 (the SDK's signature)
    ) -> GetSystemInfoResponse:
        self.calls.append((request, timeout))
        return GetSystemInfoResponse()


@dataclass
class FakeClient:
    workflow_service: FakeService
    namespace: str = "sessionflow"


@dataclass
class RunningWorker:
    is_running: bool = True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def versioned_health(service: FakeService, clock: Clock, **overrides: float) -> WorkerHealth:
    return WorkerHealth(
        cast(Client, FakeClient(service)),
        worker=cast(Worker, RunningWorker()),
        version=WorkerDeploymentVersion(deployment_name=DEPLOYMENT, build_id="b2"),
        clock=clock,
        **overrides,  # type: ignore[arg-type]
    )


async def test_a_versioned_worker_turns_ready_when_promoted_and_not_ready_when_superseded() -> None:
    service, clock = FakeService(), Clock()
    health = versioned_health(service, clock, check_timeout=2.0)

    assert await health.readiness() == (False, NOT_CURRENT)  # no versioned worker registered yet
    request, timeout = service.calls[-1]
    assert isinstance(request, DescribeWorkerDeploymentRequest)
    assert (request.namespace, request.deployment_name) == ("sessionflow", DEPLOYMENT)
    assert timeout == timedelta(seconds=2.0)

    service.routing = info("b1")
    clock.now += health.cache_seconds
    assert await health.readiness() == (False, NOT_CURRENT)  # polling, but b1 gets the tasks

    service.routing = info("b2")
    clock.now += health.cache_seconds
    assert await health.readiness() == (True, READY)

    service.routing = info("b3")
    clock.now += health.cache_seconds
    assert await health.readiness() == (False, NOT_CURRENT)


async def test_the_check_is_cached_so_probes_cannot_flood_temporal() -> None:
    service, clock = FakeService(routing=info("b2")), Clock()
    health = versioned_health(service, clock)

    assert [await health.readiness() for _ in range(5)] == [(True, READY)] * 5
    assert len(service.calls) == 1
    service.routing = info("b3")
    clock.now += health.cache_seconds - 0.1
    assert await health.readiness() == (True, READY)  # still the cached answer
    clock.now += 0.1
    assert await health.readiness() == (False, NOT_CURRENT)
    assert len(service.calls) == 2


async def test_draining_and_a_stopped_worker_are_not_ready_without_asking_temporal() -> None:
    service, clock = FakeService(routing=info("b2")), Clock()
    health = versioned_health(service, clock)
    health.draining = True
    assert await health.readiness() == (False, "draining")
    health.draining, health.worker = False, cast(Worker, RunningWorker(is_running=False))
    assert await health.readiness() == (False, "worker not running")
    assert service.calls == []


async def test_an_error_or_a_hung_call_is_not_ready_within_the_bound() -> None:
    clock = Clock()
    failing = versioned_health(
        FakeService(failure=RPCError("denied", RPCStatusCode.PERMISSION_DENIED, b"")), clock
    )
    assert await failing.readiness() == (False, UNREACHABLE)

    hung = versioned_health(FakeService(hang=True), clock, check_timeout=0.05)
    async with asyncio.timeout(5):  # the probe's own bound is check_timeout + 1 s
        assert await hung.readiness() == (False, UNREACHABLE)


async def test_an_unversioned_worker_asks_only_whether_temporal_answers() -> None:
    service = FakeService()
    health = WorkerHealth(cast(Client, FakeClient(service)), worker=cast(Worker, RunningWorker()))
    assert await health.readiness() == (True, READY)
    assert [type(request) for request, _ in service.calls] == [GetSystemInfoRequest]
