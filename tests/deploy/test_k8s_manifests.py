"""The Kubernetes manifests in deploy/k8s, checked offline: parsed, rendered (base and example
overlay), validated against the Kubernetes 1.31 JSON schemas (strict: unknown fields fail) that
the kubernetes-validate package ships, and compared with the services' own settings and routes.

Not checked here: that a cluster accepts them (admission, quotas, the storage class behind the
ReadWriteMany claim), that the images exist, and that the pods become ready.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from tests.deploy.kustomize_lite import containers, load_documents, pod_spec, render
from tests.deploy.service_settings import DEPLOYABLES, unknown_env

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
BASE, OVERLAY = K8S / "base", K8S / "overlays" / "example"
KUBERNETES_VERSION = "1.31"
SERVICES = sorted(DEPLOYABLES)
Doc = dict[str, Any]

RENDERED = {"base": render(BASE), "overlay": render(OVERLAY)}


def find(docs: list[Doc], kind: str, name: str) -> Doc:
    matches = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def dockerfile_user() -> str:
    users = re.findall(r"^USER\s+(\S+)", (ROOT / "deploy" / "Dockerfile").read_text(), re.M)
    return users[-1]


def test_every_manifest_file_parses_into_objects_with_kind_and_name() -> None:
    files = sorted(K8S.rglob("*.yaml"))
    assert len(files) >= 10
    for path in files:
        for doc in load_documents(path):
            assert doc.get("apiVersion") and doc.get("kind"), path
            if doc["kind"] != "Kustomization":
                assert doc["metadata"]["name"], path


@pytest.mark.parametrize("variant", sorted(RENDERED))
def test_every_rendered_object_is_valid_for_kubernetes(variant: str) -> None:
    for doc in RENDERED[variant]:
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']} at {path}: {exc.message}")


def test_the_schema_check_catches_an_unknown_field_and_a_wrong_type() -> None:
    deployment = find(render(BASE), "Deployment", "crm-contacts")
    deployment["spec"]["replica"] = 2  # misspelled
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    service = find(render(BASE), "Service", "crm-contacts")
    service["spec"]["ports"][0]["port"] = "eight thousand"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(service, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("variant", sorted(RENDERED))
@pytest.mark.parametrize("service", SERVICES)
def test_each_service_has_a_deployment_a_service_and_matching_ports(
    variant: str, service: str
) -> None:
    docs = RENDERED[variant]
    deployment = find(docs, "Deployment", f"crm-{service}")
    pod = deployment["spec"]["template"]
    assert (
        deployment["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    )
    (container,) = pod["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    port = DEPLOYABLES[service].port
    assert ports == {"http": port}, "the container port is the service's settings default"
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    assert env[f"{service.upper()}_PORT"] == str(port)
    assert env[f"{service.upper()}_HOST"] == "0.0.0.0"

    svc = find(docs, "Service", f"crm-{service}")
    assert svc["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    (svc_port,) = svc["spec"]["ports"]
    assert svc_port["targetPort"] in ports and svc_port["port"] == port


@pytest.mark.parametrize("service", SERVICES)
def test_probes_ask_the_routes_the_service_serves_on_its_port(service: str) -> None:
    (container,) = find(RENDERED["overlay"], "Deployment", f"crm-{service}")["spec"]["template"][
        "spec"
    ]["containers"]
    served = DEPLOYABLES[service].served_paths()
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        get = container[probe]["httpGet"]
        assert get["path"] == path and path in served
        assert named.get(get["port"], get["port"]) == DEPLOYABLES[service].port


@pytest.mark.parametrize("service", SERVICES)
def test_every_variable_given_to_a_service_is_one_its_settings_read(service: str) -> None:
    docs = RENDERED["overlay"]
    (container,) = find(docs, "Deployment", f"crm-{service}")["spec"]["template"]["spec"][
        "containers"
    ]
    names = {e["name"] for e in container.get("env", [])}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            names |= set(find(docs, "ConfigMap", source["configMapRef"]["name"])["data"])
        if "secretRef" in source:
            names |= set(find(docs, "Secret", source["secretRef"]["name"])["stringData"])
    assert names, "the service gets its configuration from the environment"
    assert unknown_env(service, names) == set()


def test_the_env_check_catches_a_misspelled_variable() -> None:
    assert unknown_env("contacts", {"KAFKA_BOOTSTRAP_SERVER", "CRM_STORE"}) == {
        "KAFKA_BOOTSTRAP_SERVER"
    }


@pytest.mark.parametrize("service", ["contacts", "timeline", "importer", "gdpr"])
def test_the_api_key_file_is_mounted_where_the_config_points(service: str) -> None:
    docs = RENDERED["overlay"]
    key_file = Path(find(docs, "ConfigMap", "crm-config")["data"]["CRM_API_KEYS_FILE"])
    spec = find(docs, "Deployment", f"crm-{service}")["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    mount = next(m for m in container["volumeMounts"] if m["mountPath"] == str(key_file.parent))
    volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
    secret = find(docs, "Secret", volume["secret"]["secretName"])
    assert key_file.name in secret["stringData"]


@pytest.mark.parametrize("variant", sorted(RENDERED))
def test_pods_run_as_the_images_non_root_user_on_a_read_only_root(variant: str) -> None:
    user = dockerfile_user()
    assert user.split(":")[0] not in {"0", "root"}
    for doc in RENDERED[variant]:
        spec = pod_spec(doc)
        if spec is None:
            continue
        what = f"{doc['kind']}/{doc['metadata']['name']}"
        assert spec["securityContext"]["runAsNonRoot"] is True, what
        assert str(spec["securityContext"]["runAsUser"]) == user.split(":")[0], what
        assert spec["automountServiceAccountToken"] is False, what
        tmp_volumes = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        for container in spec["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, what
            assert security["allowPrivilegeEscalation"] is False, what
            assert security["capabilities"]["drop"] == ["ALL"], what
            tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert tmp and tmp[0]["name"] in tmp_volumes, f"{what}: /tmp must be writable"
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][kind]), what


def test_autoscalers_scale_existing_deployments_within_bounds() -> None:
    docs = RENDERED["overlay"]
    autoscalers = [d for d in docs if d["kind"] == "HorizontalPodAutoscaler"]
    assert {a["metadata"]["name"] for a in autoscalers} == {
        f"crm-{s}" for s in ("contacts", "timeline", "importer", "gdpr")
    }
    for hpa in autoscalers:
        target = hpa["spec"]["scaleTargetRef"]
        find(docs, target["kind"], target["name"])
        assert 2 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]


def test_the_topic_job_runs_the_topic_cli_with_the_kafka_settings() -> None:
    docs = RENDERED["overlay"]
    job = find(docs, "Job", "crm-create-topics")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    command = container["command"]
    assert command[:2] == ["python", "-m"]
    assert importlib.util.find_spec(command[2]) is not None, f"{command[2]} does not exist"
    assert command[2] == "crm_shared.messaging.create_topics"
    assert container["args"] == ["--replication-factor", "3"]
    config = find(docs, "ConfigMap", container["envFrom"][0]["configMapRef"]["name"])
    assert config["data"]["KAFKA_BOOTSTRAP_SERVERS"].count(":9092") == 3


def test_the_overlay_pins_every_image_and_namespaces_everything() -> None:
    docs = RENDERED["overlay"]
    for container in containers(docs):
        assert re.fullmatch(r"registry\.example\.com/crm/\w+:1\.0\.0", container["image"])
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "crm"
    assert find(docs, "Deployment", "crm-contacts")["spec"]["replicas"] == 3
    base_images = {c["image"] for c in containers(RENDERED["base"])}
    assert base_images == {f"crm-{s}" for s in SERVICES}


def test_the_renderer_refuses_a_patch_that_matches_nothing(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text(
        f"resources: [{BASE}]\npatches:\n  - path: p.yaml\n"
    )
    (tmp_path / "p.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: crm-nothing}\n"
    )
    with pytest.raises(ValueError, match="matches no resource"):
        render(tmp_path)


@pytest.mark.parametrize("service", ["contacts", "timeline", "importer", "gdpr"])
def test_each_service_pod_waits_for_the_topics_instead_of_creating_them(service: str) -> None:
    docs = RENDERED["overlay"]
    spec = find(docs, "Deployment", f"crm-{service}")["spec"]["template"]["spec"]
    (init,) = spec["initContainers"]
    (container,) = spec["containers"]
    job = find(docs, "Job", "crm-create-topics")["spec"]["template"]["spec"]["containers"][0]
    assert init["command"] == job["command"], "the same CLI as the Job, in its waiting mode"
    assert init["args"][0] == "--wait" and float(init["args"][1]) > 0
    assert init["image"] == container["image"], "the service's own image holds crm_shared"
    assert init["envFrom"][0]["configMapRef"] == container["envFrom"][0]["configMapRef"]
    config = find(docs, "ConfigMap", container["envFrom"][0]["configMapRef"]["name"])
    assert config["data"]["CRM_REQUIRE_TOPICS"] == "true", "services never create topics here"
    assert init["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"cpu", "memory"} <= set(init["resources"]["limits"])


def test_the_console_runs_replicas_without_sticky_sessions() -> None:
    # Sessions and held uploads live in the console's store: any replica serves any request.
    docs = RENDERED["overlay"]
    assert find(docs, "Deployment", "crm-console")["spec"]["replicas"] >= 2
    assert "sessionAffinity" not in find(docs, "Service", "crm-console")["spec"]
