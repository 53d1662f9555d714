"""The shop, locust and monitoring charts: linted, rendered and validated offline with real tools.

- ``helm lint --strict`` and ``helm template --kube-version`` (the pinned helm) for every
  ``ci/*-values.yaml`` of every chart;
- every rendered resource valid against the Kubernetes schemas of kubernetes-validate (strict),
  and ServiceMonitor, PrometheusRule and ExternalSecret against their CRD schemas kept in
  platform/charts/crds (a resource without a schema is a failure);
- the platform's policies (policies.py) hold for every rendering, and each policy catches the
  manifest that breaks it;
- broken values (broken/*.yaml, laid over a good ci file) fail with helm's error naming the file
  and the rule;
- the chart conventions: values.schema.json, ci cases, NOTES.txt, one kind per template, helpers
  named ``<chart>.<name>``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from stormcheck.settings import Settings

from .charts import (
    CHARTS,
    CHARTS_DIR,
    Doc,
    Rendering,
    ci_values,
    helm_run,
    installed_helm,
    one,
    render,
    rendered,
    schema_problems,
)
from .policies import POLICIES, pinned_image

pytestmark = pytest.mark.static

BROKEN = Path(__file__).parent / "broken"
CASES = [(chart, values) for chart in CHARTS for values in ci_values(chart)]


def _id(case: tuple[str, Path]) -> str:
    return f"{case[0]}/{case[1].stem}"


@pytest.fixture(scope="module")
def helm(settings: Settings) -> Path:
    return installed_helm(settings)


@pytest.fixture(scope="module")
def renderings(helm: Path) -> dict[tuple[str, Path], Rendering]:
    return {case: rendered(helm, *case) for case in CASES}


def test_every_chart_has_ci_cases() -> None:
    assert {chart: len(ci_values(chart)) >= 2 for chart in CHARTS} == dict.fromkeys(CHARTS, True)


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_helm_lint_passes_strictly(helm: Path, case: tuple[str, Path]) -> None:
    chart, values = case
    done = helm_run(
        helm, "lint", "--strict", str(CHARTS_DIR / chart), "--values", str(values),
        "--kube-version", "1.31.0",
    )  # fmt: skip
    assert done.returncode == 0 and "0 chart(s) failed" in done.stdout, done.stdout + done.stderr


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_every_rendered_resource_is_valid_against_its_schema(
    renderings: dict[tuple[str, Path], Rendering], case: tuple[str, Path]
) -> None:
    rendering = renderings[case]
    assert rendering.docs, f"{rendering.source}: nothing rendered"
    assert not schema_problems(rendering), schema_problems(rendering)


def test_the_crd_resources_are_validated_against_their_kept_schemas(
    renderings: dict[tuple[str, Path], Rendering],
) -> None:
    kinds = {d["kind"] for r in renderings.values() for d in r.docs}
    assert {"ServiceMonitor", "PrometheusRule", "ExternalSecret"} <= kinds, kinds
    shop = next(r for (chart, _), r in renderings.items() if chart == "shop")
    monitor = copy.deepcopy(one(shop.docs, "ServiceMonitor", "r-shop"))
    monitor["spec"]["endpoints"][0]["intervall"] = "30s"
    secret = copy.deepcopy(one(shop.docs, "ExternalSecret", "r-shop-credentials"))
    secret["spec"]["target"]["creationPolicy"] = "Sometimes"
    problems = schema_problems(Rendering("shop", shop.values, [monitor, secret]))
    assert len(problems) == 2, problems
    assert "prometheus-operator@v0.79.2" in problems[0] and "'intervall'" in problems[0]
    assert "external-secrets@v0.12.1" in problems[1] and "'Sometimes'" in problems[1]


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_the_platform_policies_hold(
    renderings: dict[tuple[str, Path], Rendering], case: tuple[str, Path]
) -> None:
    rendering = renderings[case]
    problems = [p for policy in POLICIES.values() for p in policy(rendering)]
    assert not problems, problems


# --- each policy catches what breaks it ---------------------------------------------------------


def _api(docs: list[Doc]) -> Doc:
    return next(d for d in docs if d["kind"] == "Deployment")


def _drop_probe(docs: list[Doc]) -> None:
    del _api(docs)["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]


def _drop_limit(docs: list[Doc]) -> None:
    job = next(d for d in docs if d["kind"] == "Job")
    del job["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"]


def _run_as_root(docs: list[Doc]) -> None:
    pod = _api(docs)["spec"]["template"]["spec"]
    pod["securityContext"]["runAsNonRoot"] = False
    del pod["containers"][0]["securityContext"]["runAsNonRoot"]


def _drop_budget(docs: list[Doc]) -> None:
    docs.remove(next(d for d in docs if d["kind"] == "PodDisruptionBudget"))


def _stuck_autoscaler(docs: list[Doc]) -> None:
    hpa = next(d for d in docs if d["kind"] == "HorizontalPodAutoscaler")
    hpa["spec"]["maxReplicas"] = hpa["spec"]["minReplicas"]


def _drop_default_deny(docs: list[Doc]) -> None:
    docs.remove(next(d for d in docs if d["metadata"]["name"].endswith("-default-deny")))


def _latest(docs: list[Doc]) -> None:
    container = _api(docs)["spec"]["template"]["spec"]["containers"][0]
    container["image"] = container["image"].rsplit(":", 1)[0] + ":latest"


def _plain_http(docs: list[Doc]) -> None:
    ingress = next(d for d in docs if d["kind"] == "Ingress")
    del ingress["spec"]["tls"]


BREAKERS: dict[str, tuple[Callable[[list[Doc]], None], str]] = {
    "probes": (_drop_probe, "container shop has no readinessProbe"),
    "limits": (_drop_limit, "container migrate has no limits for memory"),
    "non-root": (_run_as_root, "container shop may run as root"),
    "pdb": (_drop_budget, "is covered by 0 PodDisruptionBudgets"),
    "hpa": (_stuck_autoscaler, "is not below maxReplicas"),
    "network-policy": (_drop_default_deny, "namespace shop has workloads but no default-deny"),
    "pinned-image": (_latest, ":latest'"),
    "ingress-tls": (_plain_http, "has hosts without TLS"),
}


def test_every_policy_has_a_breaking_case() -> None:
    assert set(BREAKERS) == set(POLICIES)


@pytest.mark.parametrize("rule", sorted(BREAKERS))
def test_a_policy_names_the_file_and_the_rule_it_breaks(
    renderings: dict[tuple[str, Path], Rendering], rule: str
) -> None:
    values = CHARTS_DIR / "shop" / "ci" / "eks-values.yaml"
    good = renderings[("shop", values)]
    docs = copy.deepcopy(good.docs)
    breaker, expected = BREAKERS[rule]
    breaker(docs)
    problems = POLICIES[rule](Rendering("shop", good.values, docs))
    assert problems, f"{rule} accepted the broken manifest"
    assert problems[0].startswith(f"platform/charts/shop/ci/eks-values.yaml: {rule}: "), problems
    assert expected in problems[0], problems


@pytest.mark.parametrize(
    ("image", "pinned"),
    [
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/stormcheck/shop:0123456789abcdef", True),
        ("docker.io/prom/prometheus:v2.55.1", True),
        ("localhost:5001/stormcheck/locust@sha256:" + "a" * 64, True),
        ("localhost:5001/stormcheck/locust", False),
        ("prom/prometheus:latest", False),
        ("prom/prometheus:v2", False),
        ("debian:bookworm", False),
    ],
)
def test_pinned_images_are_hashes_versions_or_digests(image: str, pinned: bool) -> None:
    assert pinned_image(image) is pinned


# --- broken values ------------------------------------------------------------------------------

SCHEMA_ERROR = "values don't meet the specifications of the schema(s)"
BROKEN_CASES = {
    "shop-wrong-type.yaml": f"{SCHEMA_ERROR} in the following chart(s):\nshop:\n"
    "- at '/replicas': got string, want integer",
    "shop-ingress-without-tls.yaml": "at '/ingress/certificateArn': minLength: got 0, want 1",
    "shop-without-probes.yaml": "at '/probes': missing property 'readiness'",
    "shop-without-memory-limit.yaml": "at '/resources/limits': missing property 'memory'",
    "shop-latest-tag.yaml": "at '/colors/blue/tag': 'latest' does not match pattern",
    "shop-hpa-cannot-scale.yaml": "autoscaling.minReplicas (6) must be below"
    " autoscaling.maxReplicas (6)",
    "locust-without-limits.yaml": "at '/workers/resources': missing property 'limits'",
    "locust-wrong-type.yaml": "at '/workers/replicas': got string, want integer",
    "locust-unknown-locustfile.yaml": "locustfile missing.py is not a file of load/",
    "monitoring-wrong-type.yaml": "at '/alertmanager/webhookUrl': got number, want string",
}


def test_every_broken_values_file_has_its_expected_error() -> None:
    assert sorted(p.name for p in BROKEN.glob("*.yaml")) == sorted(BROKEN_CASES)


@pytest.mark.parametrize("name", sorted(BROKEN_CASES))
def test_broken_values_fail_naming_the_file_and_the_rule(helm: Path, name: str) -> None:
    chart = name.split("-", 1)[0]
    result = render(helm, chart, ci_values(chart)[0], BROKEN / name)
    assert isinstance(result, str), f"{name} was accepted"
    assert result.startswith(f"suites/platform/helm/broken/{name}: helm template refused it:")
    assert BROKEN_CASES[name] in result, result


# --- conventions --------------------------------------------------------------------------------


@pytest.mark.parametrize("chart", CHARTS)
def test_the_chart_follows_the_conventions(chart: str) -> None:
    folder = CHARTS_DIR / chart
    for required in ("Chart.yaml", "values.yaml", "values.schema.json", "templates/NOTES.txt"):
        assert (folder / required).is_file(), f"{chart}: no {required}"
    assert yaml.safe_load((folder / "Chart.yaml").read_text())["name"] == chart
    helpers = (folder / "templates" / "_helpers.tpl").read_text(encoding="utf-8")
    defined = re.findall(r'define "([^"]+)"', helpers)
    assert defined and all(d.startswith(f"{chart}.") for d in defined), defined
    for template in sorted((folder / "templates").glob("*.yaml")):
        kinds = set(re.findall(r"(?m)^kind: (\w+)", template.read_text(encoding="utf-8")))
        assert len(kinds) == 1, f"{template.name}: one kind per template, found {kinds}"
