"""deploy/k8s: every manifest valid for a pinned Kubernetes version (kubernetes-validate, strict:
unknown fields are errors), plus what ties them to the code: probe paths our apps serve, a grace
period longer than the worker's drain, env names that are real settings, HPA and PDB selectors."""

from __future__ import annotations

import base64
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from pydantic import ValidationError

from observability.health import version_readiness
from settings import Settings
from temporal_client.deployments import Routing
from tests.deploy.support import FIELDS, image_environment, settings_from_environment

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.33.0"
"""The oldest minor still in upstream support when this was written; the manifests use nothing newer."""

WORKER_PROBE_PATHS = {"/healthz", "/readyz"}  # observability/health.py
IMAGE_TAG = "3f2a9c1d0e4b"
"""The tag CI builds and deploys, passed as ``--build-arg SESSIONFLOW_BUILD_ID`` too."""


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def kustomization() -> dict[str, Any]:
    loaded = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def resources() -> list[dict[str, Any]]:
    return [doc for name in kustomization()["resources"] for doc in documents(K8S / name)]


def by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in resources() if doc["kind"] == kind}


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]  # type: ignore[no-any-return]


def manifest_files() -> list[Path]:
    return sorted(path for path in K8S.glob("*.yaml") if path.name != "kustomization.yaml")


OPERATOR_MANIFESTS = frozenset({"monitoring.yaml"})
"""Prometheus Operator kinds (PodMonitor, ServiceMonitor): not Kubernetes' own, so validated against
the operator's CRD schema instead (tests/deploy/test_monitoring.py)."""


@pytest.mark.parametrize(
    "path",
    [path for path in manifest_files() if path.name not in OPERATOR_MANIFESTS],
    ids=lambda path: path.name,
)
def test_every_manifest_is_valid_kubernetes_in_strict_mode(path: Path) -> None:
    for doc in documents(path):
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_strict_validation_would_catch_a_mistake() -> None:
    deployment = json.loads(json.dumps(by_kind("Deployment")["sessionflow-worker"]))
    container(deployment)["livenessProbe"]["httpGet"]["pathh"] = "/healthz"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest_but_the_secret_template() -> None:
    listed = set(kustomization()["resources"])
    assert listed == {path.name for path in manifest_files()} - {"secret.example.yaml"}
    assert kustomization()["images"][0]["name"] == "sessionflow"


def test_the_secret_is_a_template_without_values() -> None:
    (secret,) = documents(K8S / "secret.example.yaml")
    assert secret["kind"] == "Secret"
    assert "data" not in secret
    assert all(value == "" for value in secret["stringData"].values())


def test_configmap_and_secret_keys_are_real_settings() -> None:
    (configmap,) = by_kind("ConfigMap").values()
    (secret,) = documents(K8S / "secret.example.yaml")
    for source, keys in (("ConfigMap", configmap["data"]), ("Secret", secret["stringData"])):
        unknown = set(keys) - FIELDS
        assert not unknown, f"{source} keys that are not settings: {sorted(unknown)}"
    secret_like = {
        key for key in configmap["data"] if key.endswith(("_SECRET", "_API_KEY", "_KEYS", "_SHA256"))
    }
    assert not secret_like, f"secrets in the ConfigMap: {sorted(secret_like)}"


def pod_settings(deployment: dict[str, Any], build_args: dict[str, str] | None = None) -> Settings:
    """The Settings a pod of this Deployment builds: the image's ENV (built with ``build_args``,
    by default the CI build of ``IMAGE_TAG``), then the ConfigMap, the Secret filled in, then env."""
    (configmap,) = by_kind("ConfigMap").values()
    args = {"SESSIONFLOW_BUILD_ID": IMAGE_TAG} if build_args is None else build_args
    environment: dict[str, str] = image_environment(args)
    environment.update(configmap["data"])
    environment.update(
        {
            "SESSIONFLOW_CODEC_KEYS": f"k1:{base64.b64encode(bytes(32)).decode()}",
            "SESSIONFLOW_STRIPE_API_KEY": "sk_test_example",
            "SESSIONFLOW_STRIPE_WEBHOOK_SECRET": "whsec_example",
            "SESSIONFLOW_NOTIFY_SECRET": "nsec_example",
            "SESSIONFLOW_API_TOKEN_SHA256": json.dumps([hashlib.sha256(b"token").hexdigest()]),
            "SESSIONFLOW_TEMPORAL_API_KEY": "",
        }
    )
    for item in container(deployment).get("env", []):
        environment[item["name"]] = item["value"]
    return settings_from_environment(environment)


@pytest.mark.parametrize("name", ["sessionflow-worker", "sessionflow-api", "sessionflow-codec"])
def test_each_deployment_reads_config_and_secret_and_its_settings_validate(name: str) -> None:
    deployment = by_kind("Deployment")[name]
    sources = container(deployment)["envFrom"]
    assert {"configMapRef": {"name": "sessionflow-config"}} in sources
    assert {"secretRef": {"name": "sessionflow-secrets"}} in sources
    settings = pod_settings(deployment)
    assert not settings.temporal_tls_enabled  # an empty API key counts as unset


def test_the_worker_is_versioned_with_the_build_id_of_its_image() -> None:
    settings = pod_settings(by_kind("Deployment")["sessionflow-worker"])
    assert settings.worker_versioned
    assert settings.worker_deployment_name == "sessionflow"
    assert settings.worker_build_id == IMAGE_TAG
    assert settings.worker_versioning_behavior == "auto_upgrade"
    # The API and codec run the same image: they carry the build id as a label and stay unversioned.
    assert not pod_settings(by_kind("Deployment")["sessionflow-api"]).worker_versioned
    assert not pod_settings(by_kind("Deployment")["sessionflow-codec"]).worker_versioned


def test_no_manifest_hard_codes_a_build_id() -> None:
    (configmap,) = by_kind("ConfigMap").values()
    (secret,) = documents(K8S / "secret.example.yaml")
    assert "SESSIONFLOW_WORKER_BUILD_ID" not in {*configmap["data"], *secret["stringData"]}
    for name, deployment in by_kind("Deployment").items():
        names = {item["name"] for item in container(deployment).get("env", [])}
        assert "SESSIONFLOW_WORKER_BUILD_ID" not in names, name
    tag = kustomization()["images"][0]["newTag"]
    assert settings_for_tag(tag).worker_build_id == tag  # a new tag is a new version, no other edit


def settings_for_tag(tag: str) -> Settings:
    return pod_settings(by_kind("Deployment")["sessionflow-worker"], {"SESSIONFLOW_BUILD_ID": tag})


def test_a_versioned_worker_refuses_an_image_built_without_a_build_id() -> None:
    with pytest.raises(ValidationError, match="--build-arg SESSIONFLOW_BUILD_ID"):
        pod_settings(by_kind("Deployment")["sessionflow-worker"], build_args={})
    assert not pod_settings(by_kind("Deployment")["sessionflow-api"], build_args={}).worker_versioned


def test_worker_grace_period_is_longer_than_its_graceful_shutdown() -> None:
    deployment = by_kind("Deployment")["sessionflow-worker"]
    settings = pod_settings(deployment)
    grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    # The drain plus time to cancel stragglers, report them and disconnect.
    assert grace >= settings.graceful_shutdown_seconds + 15


def test_probes_hit_paths_and_ports_our_processes_serve() -> None:
    from api.app import create_app
    from api.codec_app import create_codec_app

    api_paths = set(create_app().openapi()["paths"])
    codec_paths = set(create_codec_app().openapi()["paths"])
    worker = by_kind("Deployment")["sessionflow-worker"]
    api = by_kind("Deployment")["sessionflow-api"]
    codec = by_kind("Deployment")["sessionflow-codec"]
    assert container(codec)["args"] == ["codec"]  # `sessionflow codec`: the codec app alone
    for deployment, paths, setting in (
        (worker, WORKER_PROBE_PATHS, "worker_health_address"),
        (api, api_paths, "api_port"),
        (codec, codec_paths, "api_port"),
    ):
        spec = container(deployment)
        ports = {port["name"]: port["containerPort"] for port in spec["ports"]}
        settings = pod_settings(deployment)
        expected_port = (
            int(settings.worker_health_address.rpartition(":")[2])
            if setting == "worker_health_address"
            else settings.api_port
        )
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            get = spec[probe]["httpGet"]
            assert get["path"] in paths, f"{deployment['metadata']['name']} {probe} {get['path']}"
            assert ports[get["port"]] == expected_port
        assert spec["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert spec["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_pods_run_non_root_read_only_without_capabilities_and_with_resources() -> None:
    for name, deployment in by_kind("Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] >= 1000
        assert pod["automountServiceAccountToken"] is False
        spec = container(deployment)
        assert spec["securityContext"]["readOnlyRootFilesystem"] is True
        assert spec["securityContext"]["allowPrivilegeEscalation"] is False
        assert spec["securityContext"]["capabilities"]["drop"] == ["ALL"]
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(spec["resources"][kind]), f"{name} {kind}"


def test_the_hpa_scales_the_worker_deployment_from_at_least_two() -> None:
    (hpa,) = by_kind("HorizontalPodAutoscaler").values()
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "sessionflow-worker")
    assert target["apiVersion"] == by_kind("Deployment")["sessionflow-worker"]["apiVersion"]
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]


def test_each_pdb_selects_exactly_its_deployments_pods() -> None:
    deployments = by_kind("Deployment")
    budgets = by_kind("PodDisruptionBudget")
    assert set(budgets) == set(deployments)
    for name, budget in budgets.items():
        selector = budget["spec"]["selector"]["matchLabels"]
        for other_name, deployment in deployments.items():
            labels = deployment["spec"]["template"]["metadata"]["labels"]
            selects = all(labels.get(key) == value for key, value in selector.items())
            assert selects == (other_name == name), f"PDB {name} vs Deployment {other_name}"
        assert deployments[name]["spec"]["selector"]["matchLabels"] == selector


@pytest.mark.parametrize("name", ["sessionflow-api", "sessionflow-codec"])
def test_each_service_selects_its_deployments_pods_on_a_named_port(name: str) -> None:
    service = by_kind("Service")[name]
    deployment = by_kind("Deployment")[name]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert service["spec"]["type"] == "ClusterIP"  # reached through the ingress, never a node port
    port_names = {port["name"] for port in container(deployment)["ports"]}
    assert all(port["targetPort"] in port_names for port in service["spec"]["ports"])


def test_the_codec_trusts_access_tokens_not_origins_and_only_the_ingress_reaches_it() -> None:
    codec = by_kind("Deployment")["sessionflow-codec"]
    settings = pod_settings(codec)
    assert settings.codec_oidc_enabled and not settings.codec_trust_ui_origins
    assert settings.codec_oidc_issuer.startswith("https://") and settings.codec_oidc_audience
    assert all(origin.startswith("https://") for origin in settings.codec_ui_origins)
    # The network policy: only the codec's pods, only from the ingress namespace, only its port.
    policy = by_kind("NetworkPolicy")["sessionflow-codec"]
    assert policy["spec"]["podSelector"]["matchLabels"] == codec["spec"]["selector"]["matchLabels"]
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    (rule,) = policy["spec"]["ingress"]
    assert [source.keys() for source in rule["from"]] == [{"namespaceSelector"}]
    assert [port["port"] for port in rule["ports"]] == [container(codec)["ports"][0]["name"]]


# The rollout, simulated: the Deployment controller's rolling-update arithmetic (kubernetes
# pkg/controller/deployment/rolling.go: scale the new ReplicaSet up to replicas + maxSurge, scale
# old pods down only while replicas - maxUnavailable stay available, unavailable old pods first)
# with a pod counted available exactly when observability.health says its version is ready.


@dataclass
class Pod:
    build_id: str


def surge_and_unavailable(deployment: dict[str, Any]) -> tuple[int, int]:
    replicas: int = deployment["spec"]["replicas"]
    rolling = deployment["spec"]["strategy"]["rollingUpdate"]

    def absolute(value: int | str, round_up: bool) -> int:
        if isinstance(value, int):
            return value
        share = replicas * int(value.rstrip("%")) / 100
        return math.ceil(share) if round_up else math.floor(share)

    return absolute(rolling["maxSurge"], round_up=True), absolute(rolling["maxUnavailable"], round_up=False)


def simulate_rollout(
    deployment: dict[str, Any], *, promote: bool, readiness: str = "version"
) -> tuple[list[int], bool]:
    """Roll build "old" (current) to "new": per controller step, how many pods poll the version
    that receives the tasks; and whether the rollout completed. ``promote``: the release step runs
    as soon as the new pods poll. ``readiness="polling"``: a pod is ready once it polls (what the
    probe said before versioning was checked)."""
    replicas = deployment["spec"]["replicas"]
    surge, unavailable = surge_and_unavailable(deployment)
    current = "old"
    old, new = [Pod("old") for _ in range(replicas)], list[Pod]()

    def ready(pod: Pod) -> bool:
        if readiness == "polling":
            return True
        return version_readiness(Routing(current_build_id=current), pod.build_id)[0]

    serving: list[int] = []
    for _ in range(50):
        before = (len(old), len(new), current)
        new += [
            Pod("new")
            for _ in range(max(0, min(replicas + surge - len(old) - len(new), replicas - len(new))))
        ]
        serving.append(sum(pod.build_id == current for pod in old + new))
        if promote and new:
            current = "new"
            serving.append(sum(pod.build_id == current for pod in old + new))
        scale_down = len(old) + len(new) - (replicas - unavailable) - sum(not ready(pod) for pod in new)
        for pod in [pod for pod in old if not ready(pod)] + [pod for pod in old if ready(pod)]:
            available = sum(ready(p) for p in old + new)
            if scale_down <= 0 or (ready(pod) and available <= replicas - unavailable):
                break
            old.remove(pod)
            scale_down -= 1
        serving.append(sum(pod.build_id == current for pod in old + new))
        if (len(old), len(new), current) == before:
            break
    return serving, not old and len(new) == replicas


def test_a_promoted_rollout_keeps_every_poller_of_the_version_that_gets_the_tasks() -> None:
    worker = by_kind("Deployment")["sessionflow-worker"]
    replicas = worker["spec"]["replicas"]
    serving, completed = simulate_rollout(worker, promote=True)
    assert completed
    assert min(serving) >= replicas, serving


def test_an_unpromoted_rollout_waits_with_the_old_build_still_working() -> None:
    worker = by_kind("Deployment")["sessionflow-worker"]
    serving, completed = simulate_rollout(worker, promote=False)
    assert not completed
    assert min(serving) >= worker["spec"]["replicas"], serving


def test_the_simulation_reproduces_the_hazard_of_the_old_rollout() -> None:
    """What the manifests did before: maxSurge 1 and a probe ready on polling. The old pods are
    removed while the new version is not current, and nothing polls the version that gets tasks;
    with maxSurge 1 and the version check, promotion leaves one pod for all the work."""
    worker = json.loads(json.dumps(by_kind("Deployment")["sessionflow-worker"]))
    worker["spec"]["strategy"]["rollingUpdate"]["maxSurge"] = 1
    serving, _ = simulate_rollout(worker, promote=False, readiness="polling")
    assert serving[-1] == 0
    serving, _ = simulate_rollout(worker, promote=True)
    assert min(serving) < worker["spec"]["replicas"]


def test_the_worker_rollout_is_blue_green_behind_readiness() -> None:
    worker = by_kind("Deployment")["sessionflow-worker"]
    strategy = worker["spec"]["strategy"]
    assert strategy["type"] == "RollingUpdate"
    assert strategy["rollingUpdate"] == {"maxSurge": "100%", "maxUnavailable": 0}
    assert container(worker)["readinessProbe"]["httpGet"]["path"] == "/readyz"
    # Long enough for the replay gate and the promotion (deploy/README.md) after `kubectl apply`.
    assert worker["spec"]["progressDeadlineSeconds"] >= 900
    # PINNED would strand sessions on the old build once its pods are removed.
    assert pod_settings(worker).worker_versioning_behavior == "auto_upgrade"
