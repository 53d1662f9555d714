"""The platform's policies for rendered manifests: each returns problems as
``<values file>: <rule>: <resource>: <what>``, an empty list when the rendering complies.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from .charts import Doc, Rendering

__all__ = ["POLICIES", "pinned_image"]

WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job")
SERVING = ("Deployment", "StatefulSet", "DaemonSet")
# A content hash (stormcheck.local.images.role_hash), a release version, or a digest.
_PINNED_TAG = re.compile(r"^([0-9a-f]{16}|v?[0-9]+\.[0-9]+\.[0-9]+([-.][0-9A-Za-z.-]+)?)$")
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def _name(doc: Doc) -> str:
    return f"{doc['kind']}/{doc['metadata']['name']}"


def _pod(doc: Doc) -> dict[str, Any]:
    spec: dict[str, Any] = doc["spec"]["template"]["spec"]
    return spec


def _containers(doc: Doc) -> Iterator[dict[str, Any]]:
    pod = _pod(doc)
    yield from pod.get("initContainers", [])
    yield from pod["containers"]


def _workloads(rendering: Rendering, kinds: tuple[str, ...] = WORKLOADS) -> Iterator[Doc]:
    return (doc for doc in rendering.docs if doc["kind"] in kinds)


def probes(rendering: Rendering) -> list[str]:
    """Every container of a long-running workload has a readiness and a liveness probe."""
    problems = []
    for doc in _workloads(rendering, SERVING):
        for container in _pod(doc)["containers"]:
            for probe in ("readinessProbe", "livenessProbe"):
                if not container.get(probe):
                    problems.append(
                        f"{rendering.source}: probes: {_name(doc)} container"
                        f" {container['name']} has no {probe}"
                    )
    return problems


def limits(rendering: Rendering) -> list[str]:
    """Every container requests and is limited in CPU and memory."""
    problems = []
    for doc in _workloads(rendering):
        for container in _containers(doc):
            resources = container.get("resources") or {}
            for bound in ("requests", "limits"):
                missing = {"cpu", "memory"} - set(resources.get(bound) or {})
                if missing:
                    problems.append(
                        f"{rendering.source}: limits: {_name(doc)} container {container['name']}"
                        f" has no {bound} for {', '.join(sorted(missing))}"
                    )
    return problems


def non_root(rendering: Rendering) -> list[str]:
    """Pods run as non-root with RuntimeDefault seccomp; containers drop every capability,
    cannot escalate, and have a read-only root filesystem (Pod Security Standards, restricted)."""
    problems = []
    for doc in _workloads(rendering):
        pod = _pod(doc).get("securityContext") or {}
        where = f"{rendering.source}: non-root: {_name(doc)}"
        if pod.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{where}: seccompProfile is not RuntimeDefault")
        for container in _containers(doc):
            context = container.get("securityContext") or {}
            if not (pod.get("runAsNonRoot") or context.get("runAsNonRoot")):
                problems.append(f"{where}: container {container['name']} may run as root")
            if context.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: container {container['name']} may escalate")
            if context.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: container {container['name']} root filesystem writable")
            if context.get("capabilities", {}).get("drop") != ["ALL"]:
                problems.append(f"{where}: container {container['name']} keeps capabilities")
    return problems


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def disruption_budgets(rendering: Rendering) -> list[str]:
    """Every Deployment's pods are covered by exactly one PodDisruptionBudget."""
    budgets = [d for d in rendering.docs if d["kind"] == "PodDisruptionBudget"]
    problems = []
    for doc in _workloads(rendering, ("Deployment",)):
        labels = doc["spec"]["template"]["metadata"]["labels"]
        covering = [
            b["metadata"]["name"]
            for b in budgets
            if b["metadata"]["namespace"] == doc["metadata"]["namespace"]
            and _selects(b["spec"]["selector"].get("matchLabels", {}), labels)
        ]
        if len(covering) != 1:
            problems.append(
                f"{rendering.source}: pdb: {_name(doc)} is covered by {len(covering)}"
                f" PodDisruptionBudgets {covering}, not 1"
            )
    return problems


def autoscalers(rendering: Rendering) -> list[str]:
    """Every HorizontalPodAutoscaler can scale: minReplicas < maxReplicas, on CPU and memory."""
    problems = []
    for doc in rendering.docs:
        if doc["kind"] != "HorizontalPodAutoscaler":
            continue
        spec = doc["spec"]
        if not spec.get("minReplicas", 1) < spec["maxReplicas"]:
            problems.append(
                f"{rendering.source}: hpa: {_name(doc)} minReplicas {spec.get('minReplicas', 1)}"
                f" is not below maxReplicas {spec['maxReplicas']}"
            )
        metrics = {
            m["resource"]["name"] for m in spec.get("metrics", []) if m["type"] == "Resource"
        }
        if metrics != {"cpu", "memory"}:
            problems.append(
                f"{rendering.source}: hpa: {_name(doc)} scales on {sorted(metrics)}"
                ", not cpu and memory"
            )
    return problems


def network_policies(rendering: Rendering) -> list[str]:
    """Every namespace with workloads has a default-deny NetworkPolicy (ingress and egress)."""
    namespaces = {d["metadata"]["namespace"] for d in _workloads(rendering)}
    denying = {
        d["metadata"]["namespace"]
        for d in rendering.docs
        if d["kind"] == "NetworkPolicy"
        and d["spec"].get("podSelector") == {}
        and set(d["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
        and not d["spec"].get("ingress")
        and not d["spec"].get("egress")
    }
    return [
        f"{rendering.source}: network-policy: namespace {ns} has workloads but no default-deny"
        " NetworkPolicy"
        for ns in sorted(namespaces - denying)
    ]


def pinned_image(image: str) -> bool:
    """True for ``name@sha256:...`` and for a tag that is a content hash or a release version."""
    if _DIGEST.search(image):
        return True
    name, _, tag = image.rpartition(":")
    return bool(name) and "/" not in tag and bool(_PINNED_TAG.match(tag))


def images(rendering: Rendering) -> list[str]:
    """No ``:latest`` and no floating tag: every image is pinned."""
    problems = []
    for doc in _workloads(rendering):
        for container in _containers(doc):
            image = container["image"]
            if image.endswith(":latest") or not pinned_image(image):
                problems.append(
                    f"{rendering.source}: pinned-image: {_name(doc)} container"
                    f" {container['name']} runs {image!r}"
                )
    return problems


def ingress_tls(rendering: Rendering) -> list[str]:
    """Every Ingress serves TLS (an ACM certificate on the ALB) and redirects plain HTTP."""
    problems = []
    for doc in rendering.docs:
        if doc["kind"] != "Ingress":
            continue
        annotations = doc["metadata"].get("annotations", {})
        hosts = {h for rule in doc["spec"].get("rules", []) for h in [rule.get("host")]}
        covered = {h for tls in doc["spec"].get("tls", []) for h in tls.get("hosts", [])}
        if not doc["spec"].get("tls") or not hosts <= covered:
            problems.append(f"{rendering.source}: ingress-tls: {_name(doc)} has hosts without TLS")
        if not annotations.get("alb.ingress.kubernetes.io/certificate-arn"):
            problems.append(f"{rendering.source}: ingress-tls: {_name(doc)} has no certificate")
        if annotations.get("alb.ingress.kubernetes.io/ssl-redirect") != "443":
            problems.append(f"{rendering.source}: ingress-tls: {_name(doc)} serves plain HTTP")
    return problems


POLICIES: dict[str, Callable[[Rendering], list[str]]] = {
    "probes": probes,
    "limits": limits,
    "non-root": non_root,
    "pdb": disruption_budgets,
    "hpa": autoscalers,
    "network-policy": network_policies,
    "pinned-image": images,
    "ingress-tls": ingress_tls,
}
