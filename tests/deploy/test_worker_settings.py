"""The deployment settings: worker tuning reaches the SDK worker, versioning is opt-in and whole,
Temporal TLS / mTLS / API key are built from files and refused when unsafe, the codec-only app."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Literal

import pytest
import stripe
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError
from temporalio.common import VersioningBehavior
from temporalio.service import TLSConfig
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import PollerBehaviorAutoscaling
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from api.codec_app import create_codec_app
from domain.status import BookingKind, SessionStatus
from settings import LOCAL_STRIPE_RETURN_URL, Settings
from temporal_client.converter import temporal_tls
from tests.workflows.support import HOUR, make_booking, real_now, start, wait_for_state
from worker import OWN_WORKFLOW_MODULES, build_stripe_worker, build_worker, deployment_config

REAL_KEYS = f"k1:{base64.b64encode(bytes(range(32))).decode()}"
TOKEN = "a-real-token"
# A stack reaching a real cluster must bring its own API token and webhook secret.
OWN_SECRETS: dict[str, object] = {
    "api_token_sha256": (hashlib.sha256(TOKEN.encode()).hexdigest(),),
    "stripe_webhook_secret": SecretStr("whsec_configured_for_this_test"),
}


def test_defaults_keep_the_dev_server_working_unversioned_and_plaintext() -> None:
    settings = Settings()
    assert not settings.worker_versioned and deployment_config(settings) is None
    assert temporal_tls(settings) is False
    assert settings.graceful_shutdown_seconds == 30
    assert settings.worker_health_address == "127.0.0.1:9466"


async def test_build_worker_passes_every_tuning_knob_to_the_sdk(
    env: WorkflowEnvironment, task_queue: str, stripe_client: stripe.StripeClient, settings: Settings
) -> None:
    tuned = settings.model_copy(
        update={
            "max_cached_workflows": 123,
            "max_concurrent_workflow_tasks": 45,
            "max_concurrent_activities": 67,
            "workflow_task_pollers_minimum": 2,
            "workflow_task_pollers_initial": 3,
            "workflow_task_pollers_maximum": 9,
            "activity_task_pollers_minimum": 1,
            "activity_task_pollers_initial": 4,
            "activity_task_pollers_maximum": 8,
            "graceful_shutdown_seconds": 12.5,
        }
    )
    config = build_worker(
        env.client, task_queue=task_queue, stripe_client=stripe_client, settings=tuned
    ).config()
    assert config.get("max_cached_workflows") == 123
    assert config.get("max_concurrent_workflow_tasks") == 45
    assert config.get("max_concurrent_activities") == 67
    assert config.get("workflow_task_poller_behavior") == PollerBehaviorAutoscaling(
        minimum=2, initial=3, maximum=9
    )
    assert config.get("activity_task_poller_behavior") == PollerBehaviorAutoscaling(
        minimum=1, initial=4, maximum=8
    )
    assert config.get("graceful_shutdown_timeout").total_seconds() == 12.5  # type: ignore[union-attr]
    assert config.get("deployment_config") is None


@pytest.mark.parametrize("sandbox", ["fast", "strict"])
async def test_sessions_run_in_either_sandbox_and_fast_passes_our_modules_through(
    env: WorkflowEnvironment,
    task_queue: str,
    stripe_client: stripe.StripeClient,
    settings: Settings,
    sandbox: Literal["fast", "strict"],
) -> None:
    chosen = settings.model_copy(update={"workflow_sandbox": sandbox})
    worker = build_worker(env.client, task_queue=task_queue, stripe_client=stripe_client, settings=chosen)
    runner = worker.config().get("workflow_runner")
    assert isinstance(runner, SandboxedWorkflowRunner)
    passed = set(OWN_WORKFLOW_MODULES) <= runner.restrictions.passthrough_modules
    assert passed is (sandbox == "fast")

    booking = make_booking(BookingKind.CLIENT_FOLLOW_UP, start=real_now() + 30 * HOUR)  # charged at once
    stripe_worker = build_stripe_worker(env.client, task_queue=task_queue, stripe_client=stripe_client)
    async with worker, stripe_worker:
        handle = await start(env.client, booking, task_queue)
        paid = await wait_for_state(handle, lambda s: s.status is SessionStatus.PAID, "the charge")
    assert paid.payment.amount_paid_minor == booking.amount_minor


async def test_stripe_calls_have_a_queue_of_their_own_rate_limited_from_settings(
    env: WorkflowEnvironment, task_queue: str, stripe_client: stripe.StripeClient, settings: Settings
) -> None:
    tuned = settings.model_copy(
        update={"stripe_activities_per_second": 4.5, "stripe_max_concurrent_activities": 7}
    )
    stripe_worker = build_stripe_worker(
        env.client, task_queue=task_queue, stripe_client=stripe_client, settings=tuned
    )
    config = stripe_worker.config()

    assert stripe_worker.task_queue == f"{task_queue}-stripe"
    assert config.get("max_task_queue_activities_per_second") == 4.5  # enforced by the server
    assert config.get("max_concurrent_activities") == 7
    assert not config.get("workflows")
    names = {getattr(activity, "__temporal_activity_definition").name for activity in config["activities"]}
    assert names == {
        "charge_session",
        "void_payment",
        "read_payment",
        "refund_payment",
        "submit_dispute_evidence",
        "read_dispute",
    }
    assert Settings().stripe_activities_per_second == 10.0


@pytest.mark.parametrize(
    ("behavior", "expected"),
    [("auto_upgrade", VersioningBehavior.AUTO_UPGRADE), ("pinned", VersioningBehavior.PINNED)],
)
def test_versioning_is_on_with_a_deployment_name_and_a_build_id_and_defaults_to_auto_upgrade(
    behavior: str, expected: VersioningBehavior
) -> None:
    settings = Settings(
        worker_deployment_name="sessionflow", worker_build_id="abc123", worker_versioning_behavior=behavior
    )
    config = deployment_config(settings)
    assert config is not None and config.use_worker_versioning
    assert (config.version.deployment_name, config.version.build_id) == ("sessionflow", "abc123")
    assert config.default_versioning_behavior is expected
    assert (
        Settings(worker_deployment_name="d", worker_build_id="b").worker_versioning_behavior == "auto_upgrade"
    )
    with pytest.raises(ValidationError, match="--build-arg SESSIONFLOW_BUILD_ID"):
        Settings.model_validate({"worker_deployment_name": "sessionflow"})
    # Every process of an image carries its build id; without a deployment name it is only a label.
    labelled = Settings.model_validate({"worker_build_id": "abc123"})
    assert not labelled.worker_versioned and deployment_config(labelled) is None


@pytest.mark.parametrize(
    "field_values",
    [
        # The server cannot promote a version of a dotted deployment name ("d.b" + "." + build id
        # is ambiguous): refused at start instead of at the first promotion.
        {"worker_deployment_name": "session.flow", "worker_build_id": "b1"},
        {"worker_deployment_name": "sessionflow", "worker_build_id": "has space"},
        {"worker_deployment_name": "sessionflow", "worker_build_id": "-leading-dash"},
        {"worker_deployment_name": "sessionflow", "worker_build_id": "x" * 129},
    ],
)
def test_names_and_build_ids_that_cannot_be_a_version_or_an_image_tag_are_refused(
    field_values: dict[str, str],
) -> None:
    with pytest.raises(ValidationError):
        Settings.model_validate(field_values)


async def test_a_versioned_worker_is_built_with_its_deployment_config(
    env: WorkflowEnvironment, task_queue: str, stripe_client: stripe.StripeClient, settings: Settings
) -> None:
    versioned = settings.model_copy(update={"worker_deployment_name": "sessionflow", "worker_build_id": "b1"})
    config = build_worker(
        env.client, task_queue=task_queue, stripe_client=stripe_client, settings=versioned
    ).config()
    deployment = config.get("deployment_config")
    assert deployment is not None and deployment.version.build_id == "b1"


@pytest.mark.parametrize("kind", ["workflow", "activity"])
def test_poller_bounds_must_be_ordered(kind: str) -> None:
    with pytest.raises(ValidationError, match=f"{kind} task pollers"):
        Settings.model_validate({f"{kind}_task_pollers_minimum": 6, f"{kind}_task_pollers_initial": 5})
    with pytest.raises(ValidationError, match=f"{kind} task pollers"):
        Settings.model_validate({f"{kind}_task_pollers_maximum": 4})


def test_mtls_reads_the_certificate_key_and_ca_from_files(tmp_path: Path) -> None:
    for name in ("tls.crt", "tls.key", "ca.crt"):
        (tmp_path / name).write_bytes(f"PEM {name}".encode())
    settings = Settings(
        temporal_tls_client_cert_path=tmp_path / "tls.crt",
        temporal_tls_client_key_path=tmp_path / "tls.key",
        temporal_tls_server_ca_path=tmp_path / "ca.crt",
        temporal_tls_server_name="temporal.internal",
        **OWN_SECRETS,  # type: ignore[arg-type]
    )
    assert settings.temporal_tls_enabled
    assert temporal_tls(settings) == TLSConfig(
        server_root_ca_cert=b"PEM ca.crt",
        domain="temporal.internal",
        client_cert=b"PEM tls.crt",
        client_private_key=b"PEM tls.key",
    )


def test_a_missing_certificate_file_fails_at_start_naming_it(tmp_path: Path) -> None:
    settings = Settings(
        temporal_tls_client_cert_path=tmp_path / "absent.crt",
        temporal_tls_client_key_path=tmp_path / "absent.key",
        **OWN_SECRETS,  # type: ignore[arg-type]
    )
    with pytest.raises(ValueError, match=r"client certificate at .*absent\.crt"):
        temporal_tls(settings)


def test_an_api_key_turns_tls_on_with_the_system_roots() -> None:
    settings = Settings(temporal_api_key=SecretStr("cloud-key"), **OWN_SECRETS)  # type: ignore[arg-type]
    assert settings.temporal_tls_enabled and temporal_tls(settings) is True
    assert Settings(temporal_tls=True, **OWN_SECRETS).temporal_tls_enabled  # type: ignore[arg-type]


def test_unsafe_or_half_tls_configurations_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="needs its key"):
        Settings(temporal_tls_client_cert_path=tmp_path / "tls.crt")
    with pytest.raises(ValidationError, match="needs TLS"):
        Settings(temporal_tls=False, temporal_api_key=SecretStr("cloud-key"))


def test_empty_values_from_a_secret_template_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSIONFLOW_TEMPORAL_API_KEY", "")
    monkeypatch.setenv("SESSIONFLOW_TEMPORAL_TLS_SERVER_CA_PATH", "")
    settings = Settings()
    assert settings.temporal_api_key is None and settings.temporal_tls_server_ca_path is None
    assert not settings.temporal_tls_enabled


def codec_settings(*, trust: bool) -> Settings:
    return Settings(
        temporal_address="temporal:7233",
        codec_keys=SecretStr(REAL_KEYS),
        codec_current_key_id="k1",
        api_host="0.0.0.0",
        api_token_sha256=(hashlib.sha256(TOKEN.encode()).hexdigest(),),
        stripe_webhook_secret=SecretStr("whsec_configured_for_this_test"),
        codec_ui_origins=("http://127.0.0.1:8080",),
        codec_trust_ui_origins=trust,
    )


@pytest.mark.parametrize("trust", [False, True])
def test_the_codec_app_serves_only_codec_and_health_and_trusts_the_ui_only_when_told(trust: bool) -> None:
    ui = {"Origin": "http://127.0.0.1:8080"}
    body = {"payloads": [{"metadata": {"encoding": base64.b64encode(b"json/plain").decode()}, "data": ""}]}
    with TestClient(create_codec_app(codec_settings(trust=trust))) as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        assert http.get("/readyz").json() == {"status": "ready"}
        assert http.get("/v1/sessions/ses_1").status_code == 404  # no session API here
        assert http.post("/codec/encode", json=body).status_code == 401  # no origin: the CLI, token needed
        assert (
            http.post("/codec/encode", json=body, headers={"Authorization": f"Bearer {TOKEN}"}).status_code
            == 200
        )
        from_ui = http.post("/codec/encode", json=body, headers=ui)
        assert from_ui.status_code == (200 if trust else 401)
        assert from_ui.headers.get("access-control-allow-origin") == "http://127.0.0.1:8080"
        other = http.post("/codec/encode", json=body, headers={"Origin": "http://evil.example"})
        assert other.status_code == 401 and "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize(
    "reaching_out",
    [
        {"temporal_address": "temporal.internal:7233"},
        {"temporal_api_key": SecretStr("cloud-key")},  # Temporal Cloud through a loopback proxy
        {"stripe_api_base": "https://api.stripe.com", "stripe_api_key": SecretStr("sk_test_real")},
    ],
)
@pytest.mark.parametrize("published", ["api_token_sha256", "stripe_webhook_secret"])
def test_the_published_secrets_are_refused_once_anything_reaches_beyond_this_machine(
    reaching_out: dict[str, object], published: str
) -> None:
    own = {name: value for name, value in OWN_SECRETS.items() if name != published}
    codec = {"codec_keys": SecretStr(REAL_KEYS), "codec_current_key_id": "k1"}

    with pytest.raises(ValidationError, match="refused when"):
        Settings(**reaching_out, **own, **codec)  # type: ignore[arg-type]
    assert Settings(**reaching_out, **OWN_SECRETS, **codec)  # type: ignore[arg-type]


def test_on_session_payments_return_to_the_configured_page_the_placeholder_only_with_the_stand_in() -> None:
    """README rule 11: Stripe refuses an on-session confirmation without a return URL."""
    assert Settings().payment_return_url == LOCAL_STRIPE_RETURN_URL  # the stand-in
    real = Settings(
        stripe_api_base="https://api.stripe.com",
        stripe_webhook_secret=SecretStr("whsec_real"),
        api_token_sha256=("a" * 64,),
    )
    assert real.payment_return_url is None  # on-session payments refused until it is set
    page = "https://app.example.com/sessions/payment-returned"
    assert real.model_copy(update={"stripe_return_url": page}).payment_return_url == page
    with pytest.raises(ValidationError, match="https unless it is on this machine"):
        Settings(stripe_return_url="http://app.example.com/returned")
