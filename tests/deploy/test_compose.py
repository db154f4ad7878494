"""deploy/compose.yaml, validated without a container engine: against the Compose Specification's
own JSON schema (vendored, see schemas/README.md) after Compose's variable interpolation, plus the
rules this stack keeps: secrets required, start order by health, two workers, pinned images."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy.support import FIELDS, settings_from_environment

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose.yaml"
ENV_EXAMPLE = ROOT / "deploy" / ".env.example"
SCHEMA = Path(__file__).parent / "schemas" / "compose-spec.json"

# Compose interpolation: $$ escapes; ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err},
# ${VAR:+alt}, ${VAR+alt}. (Unbraced $VAR is refused here: every reference must say how it fails.)
VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|KEY", re.IGNORECASE)
ONE_SHOT = "service_completed_successfully"


def raw() -> str:
    return COMPOSE.read_text()


def interpolate(value: Any, environment: dict[str, str]) -> Any:
    """Compose's interpolation of every string in the model, failing like Compose does."""
    if isinstance(value, dict):
        return {key: interpolate(item, environment) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, environment) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"] or ""
        present = name in environment
        current = environment.get(name, "")
        if op in (":?", "?"):
            if not present or (op == ":?" and not current):
                raise KeyError(f"{name}: {arg}")
            return current
        if op == ":-":
            return current or arg
        if op == "-":
            return current if present else arg
        return current

    return VARIABLE.sub(replace, value.replace("$$", "\0")).replace("\0", "$")


def example_environment() -> dict[str, str]:
    environment = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            environment[name] = value
    return environment


def model() -> dict[str, Any]:
    loaded = interpolate(yaml.safe_load(raw()), example_environment())
    assert isinstance(loaded, dict)
    return loaded


def services() -> dict[str, dict[str, Any]]:
    return model()["services"]  # type: ignore[no-any-return]


def test_the_file_is_a_valid_compose_file_by_the_compose_spec_schema() -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(model()), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_the_schema_check_would_catch_a_mistake() -> None:
    broken = model()
    broken["services"]["api"]["healthchek"] = {}
    broken["services"]["temporal"]["depends_on"]["temporal-schema"]["condition"] = "service_ready"
    schema = json.loads(SCHEMA.read_text())
    assert len(list(jsonschema.Draft7Validator(schema).iter_errors(broken))) >= 2


def test_every_variable_reference_says_how_it_fails_and_secrets_are_required() -> None:
    references = [m for m in VARIABLE.finditer(raw())]
    assert references
    assert not re.search(r"(?<![$])\$(?![{$])[A-Za-z_]", raw()), "unbraced $VAR reference"
    for reference in references:
        name, op = reference["name"], reference["op"]
        if SECRET_NAME.search(name):
            assert op == ":?", f"${{{name}}} is a secret: it must be required with :?"
            assert reference["arg"], f"${{{name}:?}} needs a message saying where to set it"
        else:
            assert op in (":-", ":?"), f"${{{name}}} needs a default (:-) or to be required (:?)"


def test_a_missing_secret_stops_compose() -> None:
    environment = example_environment()
    del environment["SESSIONFLOW_CODEC_KEYS"]
    with pytest.raises(KeyError, match="SESSIONFLOW_CODEC_KEYS"):
        interpolate(yaml.safe_load(raw()), environment)


def test_the_env_example_lists_every_required_variable_with_placeholders_only() -> None:
    required = {m["name"] for m in VARIABLE.finditer(raw()) if m["op"] == ":?"}
    example = example_environment()
    assert required <= set(example), f"missing from .env.example: {sorted(required - set(example))}"
    for name in required:
        value = example[name]
        # Placeholders only: every value still has a <…> part for the operator to fill in.
        assert "<" in value and ">" in value, f"{name} in .env.example looks like a real value"


def test_no_secret_is_written_into_the_file() -> None:
    for name in services():
        environment = yaml.safe_load(raw())["services"][name].get("environment", {})
        for key, value in environment.items():
            if SECRET_NAME.search(key) and not key.endswith(("_KEY_ID", "_API_BASE")):
                assert isinstance(value, str) and value.startswith("${"), f"{name}.{key} is not a variable"


def test_every_long_running_service_has_a_healthcheck_and_jobs_are_one_shot() -> None:
    all_services = services()
    one_shots = {
        dependency
        for service in all_services.values()
        for dependency, rule in service.get("depends_on", {}).items()
        if rule["condition"] == ONE_SHOT
    }
    assert one_shots == {"temporal-schema", "temporal-namespace"}
    for name, service in all_services.items():
        if name in one_shots:
            assert service.get("restart") == "no", f"{name} is a one-shot job: it must not restart"
            continue
        check = service.get("healthcheck")
        assert check and check.get("test") and not check.get("disable"), f"{name} has no healthcheck"


def test_every_dependency_waits_for_health_or_completion() -> None:
    all_services = services()
    for name, service in all_services.items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: depends_on must be the long form with conditions"
        for dependency, rule in depends_on.items():
            assert dependency in all_services
            assert rule["condition"] in ("service_healthy", ONE_SHOT), f"{name} -> {dependency}"
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in all_services[dependency]


def test_the_start_order_is_database_schema_server_namespace_then_sessionflow() -> None:
    all_services = services()

    def waits_for(name: str) -> set[str]:
        return set(all_services[name].get("depends_on", {}))

    assert waits_for("temporal-schema") == {"postgresql"}
    assert waits_for("temporal") == {"temporal-schema"}
    assert waits_for("temporal-namespace") == {"temporal"}
    assert "temporal-namespace" in waits_for("worker")
    assert "temporal-namespace" in waits_for("api")


def test_two_workers_and_the_ui_wired_to_the_codec() -> None:
    all_services = services()
    assert all_services["worker"]["deploy"]["replicas"] == 2
    assert all_services["worker"]["command"] == ["worker"]
    assert all_services["api"]["command"] == ["api"]
    assert all_services["codec"]["command"] == ["codec"]
    ui = all_services["temporal-ui"]
    endpoint = ui["environment"]["TEMPORAL_CODEC_ENDPOINT"]
    codec_port = all_services["codec"]["environment"]["SESSIONFLOW_API_PORT"]
    published = [port.split(":") for port in all_services["codec"]["ports"]]
    assert ["127.0.0.1", codec_port, codec_port] in published
    assert endpoint == f"http://127.0.0.1:{codec_port}/codec"
    ui_port = ui["ports"][0].split(":")[1]
    origins = json.loads(all_services["codec"]["environment"]["SESSIONFLOW_CODEC_UI_ORIGINS"])
    assert f"http://127.0.0.1:{ui_port}" in origins


def test_published_ports_listen_on_the_host_loopback_only() -> None:
    for name, service in services().items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"


def test_third_party_images_are_pinned_to_a_release_tag() -> None:
    for name, service in services().items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest", f"{name}: {image} is not pinned"
        if not repository.startswith("sessionflow"):
            assert re.fullmatch(r"\d+(\.\d+)+", tag), f"{name}: {image} should name an exact release"
    # Server and admin-tools must be the same release: the schema comes from admin-tools.
    all_services = services()
    server = all_services["temporal"]["image"].rpartition(":")[2]
    assert all_services["temporal-schema"]["image"].rpartition(":")[2] == server
    assert all_services["temporal-namespace"]["image"].rpartition(":")[2] == server


def test_sessionflow_containers_are_read_only_and_unprivileged() -> None:
    for name in ("worker", "api", "codec"):
        service = services()[name]
        assert service["read_only"] is True
        assert service["cap_drop"] == ["ALL"]
        assert "no-new-privileges:true" in service["security_opt"]


def test_every_sessionflow_variable_is_a_setting_and_each_service_configures_validly() -> None:
    for name in ("worker", "api", "codec"):
        environment = services()[name]["environment"]
        unknown = {key for key in environment if key.startswith("SESSIONFLOW_")} - FIELDS
        assert not unknown, f"{name}: not settings: {sorted(unknown)}"
        settings = settings_from_environment(real_values(environment))
        assert settings.temporal_address == "temporal:7233"
    codec = settings_from_environment(real_values(services()["codec"]["environment"]))
    assert codec.codec_trust_ui_origins and codec.api_port == 8081


def test_the_namespace_job_registers_every_search_attribute() -> None:
    from temporalio.common import SearchAttributeIndexedValueType

    from contract.search_attributes import ALL_SEARCH_ATTRIBUTES

    script = (ROOT / "deploy" / "temporal" / "create-namespace.sh").read_text()
    names = {"KEYWORD": "Keyword", "DATETIME": "Datetime"}
    for key in ALL_SEARCH_ATTRIBUTES:
        kind = names[
            SearchAttributeIndexedValueType(key.indexed_value_type).name.removeprefix("INDEXED_VALUE_TYPE_")
        ]
        assert f"{key.name}:{kind}" in script
    namespace = services()["temporal-namespace"]["environment"]["NAMESPACE"]
    assert services()["worker"]["environment"]["SESSIONFLOW_TEMPORAL_NAMESPACE"] == namespace


def real_values(environment: dict[str, str]) -> dict[str, str]:
    """The example placeholders replaced by values of the right shape, as an operator would."""
    import base64
    import hashlib

    fake = {
        "SESSIONFLOW_CODEC_KEYS": f"k1:{base64.b64encode(bytes(32)).decode()}",
        "SESSIONFLOW_CODEC_CURRENT_KEY_ID": "k1",
        "SESSIONFLOW_STRIPE_API_KEY": "sk_test_example",
        "SESSIONFLOW_STRIPE_WEBHOOK_SECRET": "whsec_example",
        "SESSIONFLOW_NOTIFY_URL": "https://backend.example.com/notifications",
        "SESSIONFLOW_NOTIFY_SECRET": "nsec_example",
        "SESSIONFLOW_API_TOKEN_SHA256": json.dumps([hashlib.sha256(b"token").hexdigest()]),
    }
    return {key: fake.get(key, value) for key, value in environment.items() if key.startswith("SESSIONFLOW_")}
