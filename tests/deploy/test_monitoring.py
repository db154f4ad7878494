"""deploy/k8s/monitoring.yaml and networkpolicy.yaml: the Prometheus Operator's PodMonitor and
ServiceMonitor valid against its CRD schema (vendored, tests/deploy/schemas/README.md), scraping
the ports our processes serve their metrics on; NetworkPolicies that let only the monitoring
namespace reach the metrics ports and nothing in the cluster reach the worker's health port."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.deploy.test_k8s import K8S, by_kind, container, documents, pod_settings

SCHEMAS = Path(__file__).resolve().parent / "schemas"
MONITORING = K8S / "monitoring.yaml"
MONITORING_NAMESPACE = {"kubernetes.io/metadata.name": "monitoring"}


def strict(schema: Any) -> Any:
    """The CRD schema as the API server applies it with strict field validation: an object's
    unknown fields are errors unless it preserves them or declares additionalProperties."""
    if isinstance(schema, dict):
        result = {key: strict(value) for key, value in schema.items()}
        if (
            "properties" in result
            and "additionalProperties" not in result
            and not result.get("x-kubernetes-preserve-unknown-fields")
        ):
            result["additionalProperties"] = False
        return result
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    return schema


def validator(kind: str) -> jsonschema.Draft7Validator:
    name = {"PodMonitor": "podmonitors", "ServiceMonitor": "servicemonitors"}[kind]
    schema = strict(json.loads((SCHEMAS / f"monitoring.coreos.com_{name}.v1.json").read_text()))
    # metadata is the API server's ObjectMeta, which the CRD schema leaves open.
    schema["properties"]["metadata"] = {"type": "object"}
    return jsonschema.Draft7Validator(schema)


def monitors() -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for doc in documents(MONITORING)}


def test_the_monitors_are_valid_against_the_operators_crd_schema() -> None:
    found = monitors()
    assert set(found) == {"PodMonitor", "ServiceMonitor"}
    for kind, doc in found.items():
        assert doc["apiVersion"] == "monitoring.coreos.com/v1"
        errors = [error.message for error in validator(kind).iter_errors(doc)]
        assert not errors, (kind, errors)


@pytest.mark.parametrize("kind", ["PodMonitor", "ServiceMonitor"])
def test_the_schema_check_would_catch_a_mistake(kind: str) -> None:
    doc = copy.deepcopy(monitors()[kind])
    endpoints = doc["spec"]["podMetricsEndpoints" if kind == "PodMonitor" else "endpoints"]
    endpoints[0]["pathh"] = "/metrics"
    assert list(validator(kind).iter_errors(doc))


def test_the_worker_pod_monitor_scrapes_both_metrics_ports_of_the_worker() -> None:
    monitor = monitors()["PodMonitor"]
    worker = by_kind("Deployment")["sessionflow-worker"]
    assert monitor["spec"]["selector"]["matchLabels"] == worker["spec"]["selector"]["matchLabels"]
    ports = {port["name"]: port["containerPort"] for port in container(worker)["ports"]}
    settings = pod_settings(worker)
    sdk_port = int(settings.worker_metrics_address.rpartition(":")[2])
    scraped = {endpoint["port"]: endpoint["path"] for endpoint in monitor["spec"]["podMetricsEndpoints"]}
    assert {ports[name] for name in scraped} == {sdk_port, settings.worker_app_metrics_port}
    assert set(scraped.values()) == {"/metrics"}
    # In a pod the exporters must listen beyond loopback, or Prometheus finds nothing there.
    assert not settings.worker_metrics_address.startswith("127.")


def test_the_api_service_monitor_scrapes_the_api_metrics_route() -> None:
    from api.app import create_app

    monitor = monitors()["ServiceMonitor"]
    service = by_kind("Service")["sessionflow-api"]
    assert monitor["spec"]["selector"]["matchLabels"] == service["metadata"]["labels"]
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {port["name"] for port in service["spec"]["ports"]}
    routes = {getattr(route, "path", None) for route in create_app().routes}
    assert endpoint["path"] in routes


def policy_for(component: str) -> dict[str, Any]:
    (policy,) = [
        doc
        for doc in by_kind("NetworkPolicy").values()
        if doc["spec"]["podSelector"]["matchLabels"]
        == by_kind("Deployment")[f"sessionflow-{component}"]["spec"]["selector"]["matchLabels"]
    ]
    return policy


def test_only_the_monitoring_namespace_reaches_the_worker_and_only_its_metrics_ports() -> None:
    policy = policy_for("worker")
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    (rule,) = policy["spec"]["ingress"]
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": MONITORING_NAMESPACE}}]
    worker = by_kind("Deployment")["sessionflow-worker"]
    named = {port["name"]: port["containerPort"] for port in container(worker)["ports"]}
    opened = {named[port["port"]] for port in rule["ports"]}
    settings = pod_settings(worker)
    health_port = int(settings.worker_health_address.rpartition(":")[2])
    sdk_port = int(settings.worker_metrics_address.rpartition(":")[2])
    assert opened == {sdk_port, settings.worker_app_metrics_port}
    # The health port is opened to no one: only the node's kubelet, always allowed, probes it.
    assert health_port not in opened


def test_the_api_port_is_open_to_the_ingress_and_monitoring_namespaces_only() -> None:
    policy = policy_for("api")
    (rule,) = policy["spec"]["ingress"]
    assert all(set(peer) == {"namespaceSelector"} for peer in rule["from"])
    namespaces = {
        peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for peer in rule["from"]
    }
    assert namespaces == {"monitoring", "ingress-nginx"}
    assert [port["port"] for port in rule["ports"]] == ["http"]
