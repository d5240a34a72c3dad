"""deploy/k8s, rendered as `make k8s` renders it (serving/k8s.py, kubectl's kustomize): every
object valid against the Kubernetes schemas (kubernetes-validate, offline, strict); every
workload holding the policies a scanner such as checkov enforces (its check IDs named below —
`make k8s-scan` runs checkov itself); the model server Deployment carrying the launcher's own
flags; the base's configs equal to what the launcher writes."""

from __future__ import annotations

import functools
import shutil

import kubernetes_validate
import pytest
import yaml

from serving import k8s, launcher

pytestmark = [
    pytest.mark.unit,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl renders the manifests"),
]
KUBERNETES = "1.33.0"
"""The oldest Kubernetes the manifests target (native preStop sleep is GA from 1.32)."""
WORKLOADS = {"Deployment", "Job", "StatefulSet", "DaemonSet"}


OVERLAYS = ("tfserving-gpu", "embedded-cpu")
"""The kustomizations with the serving stack (the other one is the load test)."""


@functools.cache
def documents_of(name: str) -> list[dict]:
    documents = yaml.safe_load_all(k8s.render(k8s.KUSTOMIZATIONS[name]))
    return [document for document in documents if document]


@pytest.fixture(params=sorted(k8s.KUSTOMIZATIONS))
def rendered(request) -> tuple[str, list[dict]]:
    return request.param, documents_of(request.param)


def containers(workload: dict) -> list[dict]:
    return workload["spec"]["template"]["spec"]["containers"]


def test_every_object_is_valid_against_the_kubernetes_schemas(rendered):
    _, documents = rendered
    assert documents
    for document in documents:
        kubernetes_validate.validate(document, KUBERNETES, strict=True)


def test_every_workload_holds_the_security_and_operations_policies(rendered):
    name, documents = rendered
    workloads = [d for d in documents if d["kind"] in WORKLOADS]
    assert workloads, name
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        where = f"{name}: {workload['kind']}/{workload['metadata']['name']}"
        assert pod["securityContext"]["runAsNonRoot"] is True, where  # CKV_K8S_23
        assert pod["securityContext"]["runAsUser"] >= 10000, where  # CKV_K8S_40
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        assert pod["automountServiceAccountToken"] is False, where  # CKV_K8S_38
        for container in containers(workload):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, where  # CKV_K8S_20
            assert context["readOnlyRootFilesystem"] is True, where  # CKV_K8S_22
            assert context["capabilities"]["drop"] == ["ALL"], where  # CKV_K8S_28, 37
            for bound in ("requests", "limits"):  # CKV_K8S_10, 11, 12, 13
                assert {"cpu", "memory"} <= set(container["resources"][bound]), where
            assert "readinessProbe" in container and "livenessProbe" in container, where
            assert ":" in container["image"], where  # a tag, not :latest (CKV_K8S_14)
            assert not container["image"].endswith(":latest"), where
            assert container["imagePullPolicy"] == "Always", where  # CKV_K8S_15


def test_every_pod_is_covered_by_a_network_policy(rendered):
    """CKV2_K8S_6: ingress is allowed on purpose, not by default."""
    name, documents = rendered
    policies = [d["spec"]["podSelector"] for d in documents if d["kind"] == "NetworkPolicy"]
    for workload in (d for d in documents if d["kind"] in WORKLOADS):
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert any(selects(policy, labels) for policy in policies), (name, labels)


def selects(selector: dict, labels: dict) -> bool:
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    return all(
        labels.get(expression["key"]) in expression["values"]
        for expression in selector.get("matchExpressions", [])
    )


@pytest.mark.parametrize("name", OVERLAYS)
def test_the_model_servers_run_with_the_launchers_flags_and_drain_in_time(name):
    (server,) = [
        d
        for d in documents_of(name)
        if d["kind"] == "Deployment" and d["metadata"]["name"] == "tfserving"
    ]
    (container,) = containers(server)
    settings = launcher.LaunchSettings(batching=True)
    expected = launcher.server_flags(
        settings, launcher.CONTAINER_CONFIG, 8500, 8501, grpc_health=True
    )
    assert container["args"] == expected
    assert (
        container["command"]
        == {
            "tfserving-gpu": ["tensorflow_model_server"],
            "embedded-cpu": ["python", "-m", "serving.modelserver"],
        }[name]
    )
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["grpc"]["port"] == 8500
    gpus = container["resources"]["limits"].get("nvidia.com/gpu")
    assert (gpus == 1) == (name == "tfserving-gpu")
    pause = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert server["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > pause + 30


@pytest.mark.parametrize("name", OVERLAYS)
def test_the_gateway_finds_every_replica_and_is_scaled_and_protected(name):
    by_kind = {(d["kind"], d["metadata"]["name"]): d for d in documents_of(name)}
    gateway = by_kind[("Deployment", "gateway")]
    env = {item["name"]: item["value"] for item in containers(gateway)[0]["env"]}
    headless = by_kind[("Service", "tfserving-headless")]
    assert headless["spec"]["clusterIP"] == "None"
    assert env["TFS_TARGET"] == "dns:///tfserving-headless:8500"
    graceful = int(env["GATEWAY_GRACEFUL_TIMEOUT_S"])
    pause = containers(gateway)[0]["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert gateway["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > graceful + pause
    assert by_kind[("HorizontalPodAutoscaler", "gateway")]["spec"]["minReplicas"] >= 2
    for budget in ("gateway", "tfserving"):
        assert by_kind[("PodDisruptionBudget", budget)]["spec"]["minAvailable"] >= 1


def test_the_base_configs_are_what_the_launcher_writes():
    """One source: `make k8s` rewrites them; a change to the contract or serving/config that
    was not rendered fails here."""
    for name, text in k8s.expected_configs().items():
        assert (k8s.CONFIG_DIR / name).read_text() == text, f"run `make k8s`: {name} is stale"
