"""The Temporal SDK metrics the alerts read, as a worker built like ours really exports them: names
without a _total suffix, the labels the rules group by, ``failure_reason="NonDeterminismError"``
for a nondeterministic workflow task and ``status_code`` in gRPC's upper-case form."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import timedelta
from typing import ClassVar

import httpx
from temporalio import activity, workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from tests.deploy.alerting import ALERTS, alert_rules, metric_names
from tests.workflows.support import WAIT, exporting_client


@activity.defn(name="sdk_metrics_noop")
async def noop() -> None:
    return None


@workflow.defn(name="SdkMetricsFlip")
class Flip:
    """Decides differently each time its history is replayed: a timer first, an activity after. Run
    without a cache, its second workflow task replays the first and fails as nondeterministic."""

    runs: ClassVar[dict[str, int]] = {}

    @workflow.run
    async def run(self) -> None:
        seen = Flip.runs[workflow.info().workflow_id] = Flip.runs.get(workflow.info().workflow_id, 0) + 1
        if seen == 1:
            await workflow.sleep(timedelta(milliseconds=100))
        else:
            await workflow.execute_activity(noop, start_to_close_timeout=timedelta(seconds=5))
        await workflow.sleep(timedelta(milliseconds=100))


async def scrape(address: str) -> str:
    async with httpx.AsyncClient(timeout=WAIT) as http:
        return (await http.get(f"http://{address}/metrics")).text


async def test_the_sdk_exports_the_names_and_labels_the_alerts_read(env: WorkflowEnvironment) -> None:
    client, address = await exporting_client(env)
    queue = f"test-{uuid.uuid4().hex[:12]}"
    workflow_id = f"flip-{uuid.uuid4().hex[:12]}"
    nondeterminism = 'failure_reason="NonDeterminismError"'
    async with Worker(
        client,
        task_queue=queue,
        workflows=[Flip],
        activities=[noop],
        # The flip is nondeterministic on purpose: the sandbox would refuse its class state.
        workflow_runner=UnsandboxedWorkflowRunner(),
        max_cached_workflows=0,
    ):
        # Past its first run, the flip always takes the activity: deterministic from here.
        steady = f"steady-{uuid.uuid4().hex[:12]}"
        Flip.runs[steady] = 1
        minute = timedelta(minutes=1)
        await client.execute_workflow(Flip.run, id=steady, task_queue=queue, execution_timeout=minute)
        handle = await client.start_workflow(
            Flip.run, id=workflow_id, task_queue=queue, execution_timeout=timedelta(minutes=1)
        )
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await client.start_workflow(
                Flip.run,
                id=workflow_id,
                task_queue=queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                execution_timeout=timedelta(minutes=1),
            )
        scraped = ""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(WAIT):
                while nondeterminism not in scraped:
                    scraped = await scrape(address)
                    await asyncio.sleep(0.1)  # a poll of the exporter, bounded above
        await handle.terminate("test over")

    lines = scraped.splitlines()

    def series(family: str) -> list[str]:
        return [line for line in lines if line.startswith(family + "{")]

    families = {line.split()[2] for line in lines if line.startswith("# TYPE temporal_")}
    failed = series("temporal_workflow_task_execution_failed")
    flipped = [line for line in failed if 'workflow_type="SdkMetricsFlip"' in line]
    assert any(nondeterminism in line for line in flipped), scraped
    assert nondeterminism in ALERTS.read_text()
    assert any('status_code="ALREADY_EXISTS"' in line for line in series("temporal_request_failure")), scraped
    waited = series("temporal_workflow_task_schedule_to_start_latency_bucket")
    assert any(f'task_queue="{queue}"' in line and 'namespace="' in line for line in waited)
    # Every SDK family the rules read that this run exercised is exported under that very name.
    exercised = {
        "temporal_workflow_task_schedule_to_start_latency",
        "temporal_activity_schedule_to_start_latency",
        "temporal_workflow_task_execution_failed",
        "temporal_request_failure",
    }
    read = set().union(*(metric_names(rule["expr"]) for rule in alert_rules()))
    assert exercised <= read
    assert exercised <= families, sorted(exercised - families)
