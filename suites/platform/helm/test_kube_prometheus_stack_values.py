"""kube-prometheus-stack's values, checked by structure: that chart cannot be fetched here, so it is
not rendered. Its own keys are checked against the documented ones kept beside the values (with
the chart's version); what it copies into the Prometheus and Alertmanager specs is checked against
those CRDs of the same operator version. A misspelt or mistyped key fails with its path.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from .charts import CHARTS_DIR, CRDS_DIR, crd_schema

pytestmark = pytest.mark.static

FOLDER = CHARTS_DIR / "monitoring"
VALUES = FOLDER / "kube-prometheus-stack.values.yaml"
KEYS = FOLDER / "kube-prometheus-stack.keys.yaml"
JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "boolean": bool,
    "string": str,
    "integer": int,
    "number": (int, float),
    "object": dict,
    "array": list,
}


def _leaves(tree: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in tree.items():
        path = f"{prefix}{key}"
        yield path, value
        if isinstance(value, dict) and value:
            yield from _leaves(value, f"{path}.")


def _json_type(value: Any, wanted: str) -> bool:
    if wanted == "integer" and isinstance(value, bool):
        return False
    return isinstance(value, JSON_TYPES[wanted])


def structure_problems(values: dict[str, Any], source: str) -> list[str]:
    """Every key of ``values`` documented by the chart or a field of the spec it is copied into."""
    documented = yaml.safe_load(KEYS.read_text(encoding="utf-8"))
    keys: dict[str, str] = documented["keys"]
    specs: dict[str, str] = documented["specs"]
    problems: list[str] = []
    unknown: list[str] = []
    for path, value in _leaves(values):
        if any(path.startswith(f"{u}.") for u in unknown):
            continue  # reported with its unknown parent
        parent, _, field = path.rpartition(".")
        if path in keys:
            if not _json_type(value, keys[path]):
                problems.append(f"{source}: {path}: documented as {keys[path]}, got {value!r}")
        elif parent in specs:
            crd = crd_schema(*_api_kind(specs[parent]))
            assert crd is not None, specs[parent]
            fields = crd["openAPIV3Schema"]["properties"]["spec"]["properties"]
            if field not in fields:
                unknown.append(path)
                problems.append(
                    f"{source}: {path}: neither a key of {documented['chart']}"
                    f" {documented['version']} nor a field of the {crd['kind']} spec"
                    f" ({crd['module']})"
                )
            elif "type" in fields[field] and not _json_type(value, fields[field]["type"]):
                problems.append(
                    f"{source}: {path}: the {crd['kind']} spec wants {fields[field]['type']},"
                    f" got {value!r}"
                )
        elif not any(key.startswith(f"{path}.") for key in keys) and not any(
            path.startswith(f"{key}.") for key, kind in keys.items() if kind == "object"
        ):
            unknown.append(path)
            problems.append(f"{source}: {path}: not a documented key of {documented['chart']}")
    return problems


def _api_kind(file_name: str) -> tuple[str, str]:
    crd = yaml.safe_load((CRDS_DIR / file_name).read_text(encoding="utf-8"))
    return f"{crd['group']}/{crd['version']}", crd["kind"]


def test_the_keys_are_of_the_chart_version_that_bundles_the_kept_crds() -> None:
    documented = yaml.safe_load(KEYS.read_text(encoding="utf-8"))
    for file_name in documented["specs"].values():
        module = yaml.safe_load((CRDS_DIR / file_name).read_text(encoding="utf-8"))["module"]
        assert module.endswith(f"@{documented['operator']}"), (file_name, module)
    assert f"kube-prometheus-stack {documented['version']}" in VALUES.read_text(encoding="utf-8")


def test_the_values_use_only_documented_keys_and_spec_fields() -> None:
    values = yaml.safe_load(VALUES.read_text(encoding="utf-8"))
    assert not structure_problems(values, VALUES.name), structure_problems(values, VALUES.name)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"prometheus": {"prometheusSpec": {"ruleSelectorNillUsesHelmValues": False}}},
            "prometheus.prometheusSpec.ruleSelectorNillUsesHelmValues: neither a key of"
            " kube-prometheus-stack 67.8.0 nor a field of the Prometheus spec",
        ),
        (
            {"prometheus": {"prometheusSpec": {"replicas": "two"}}},
            "prometheus.prometheusSpec.replicas: the Prometheus spec wants integer, got 'two'",
        ),
        (
            {"alertmanager": {"alertmanagerSpec": {"useExistingSecret": "yes"}}},
            "alertmanager.alertmanagerSpec.useExistingSecret: documented as boolean, got 'yes'",
        ),
        ({"alertmanagr": {"enabled": True}}, "alertmanagr: not a documented key"),
    ],
    ids=["misspelt-chart-key", "wrong-spec-type", "wrong-chart-type", "unknown-section"],
)
def test_a_wrong_key_or_type_is_named_with_its_path(
    change: dict[str, Any], expected: str, tmp_path: Path
) -> None:
    values = yaml.safe_load(VALUES.read_text(encoding="utf-8"))

    def merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
        for key, value in extra.items():
            if isinstance(value, dict) and isinstance(into.get(key), dict):
                merge(into[key], value)
            else:
                into[key] = value

    merge(values, change)
    problems = structure_problems(values, "broken.values.yaml")
    assert len(problems) == 1 and problems[0].startswith(f"broken.values.yaml: {expected}"), (
        problems
    )


def test_alertmanager_reads_the_monitoring_charts_secret() -> None:
    spec = yaml.safe_load(VALUES.read_text(encoding="utf-8"))["alertmanager"]["alertmanagerSpec"]
    chart = yaml.safe_load((FOLDER / "values.yaml").read_text(encoding="utf-8"))["alertmanager"]
    assert spec["useExistingSecret"] is True
    assert spec["configSecret"] == chart["configSecret"]
    assert chart["slackSecret"]["name"] in spec["secrets"]
