"""Rendering and checking the Helm charts of platform/charts with the pinned helm, offline.

Every check returns problems as text that starts with the values file it came from and names
the rule that was broken, so a failing case reads ``ci/eks-values.yaml: <rule>: <what>``.
"""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from stormcheck.errors import ToolInstallError
from stormcheck.paths import project_root
from stormcheck.settings import Settings
from stormcheck.tools import install_tool

__all__ = [
    "CHARTS",
    "CHARTS_DIR",
    "CRDS_DIR",
    "KUBE_VERSION",
    "Doc",
    "Rendering",
    "ci_values",
    "crd_schema",
    "helm_run",
    "installed_helm",
    "one",
    "render",
    "rendered",
    "schema_problems",
]

ROOT = project_root()
CHARTS_DIR = ROOT / "platform" / "charts"
CRDS_DIR = CHARTS_DIR / "crds"
CHARTS = ("shop", "locust", "monitoring")
KUBE_VERSION = "1.31.0"
# The namespace each chart is installed into (the shop's ci files may move its resources).
NAMESPACES = {"shop": "shop", "locust": "load", "monitoring": "monitoring"}

Doc = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Rendering:
    """What ``helm template`` made of one chart with one values file."""

    chart: str
    values: Path
    docs: list[Doc]

    @property
    def source(self) -> str:
        """The values file, relative to the project root: how every problem starts."""
        return _relative(self.values)


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def ci_values(chart: str) -> list[Path]:
    """The chart's ``ci/*-values.yaml`` cases, sorted."""
    return sorted((CHARTS_DIR / chart / "ci").glob("*-values.yaml"))


def helm_run(helm: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the pinned helm; never raises on a non-zero exit."""
    return subprocess.run(
        [str(helm), *args], capture_output=True, text=True, timeout=120, check=False
    )


def _stderr(done: subprocess.CompletedProcess[str]) -> str:
    # helm reports each followed chart link on stderr; they are not errors.
    lines = [line for line in done.stderr.splitlines() if "found symbolic link in path" not in line]
    return "\n".join(lines).strip()


def render(helm: Path, chart: str, *values: Path, sets: tuple[str, ...] = ()) -> Rendering | str:
    """The chart rendered with the ``values`` files in order (and ``--set`` pairs), or helm's
    error naming the last file (the one a case adds on top of a good one)."""
    done = helm_run(
        helm, "template", "r", str(CHARTS_DIR / chart), "--namespace", NAMESPACES[chart],
        "--kube-version", KUBE_VERSION,
        *(arg for path in values for arg in ("--values", str(path))),
        *(arg for pair in sets for arg in ("--set", pair)),
    )  # fmt: skip
    if done.returncode != 0:
        return f"{_relative(values[-1])}: helm template refused it: {_stderr(done)}"
    docs = [doc for doc in yaml.safe_load_all(done.stdout) if doc]
    return Rendering(chart, values[-1], docs)


def rendered(helm: Path, chart: str, *values: Path, sets: tuple[str, ...] = ()) -> Rendering:
    """:func:`render` that must succeed (an assertion with helm's error otherwise)."""
    result = render(helm, chart, *values, sets=sets)
    assert isinstance(result, Rendering), result
    return result


def installed_helm(settings: Settings) -> Path:
    """The pinned helm from the tool cache (installed from the Go module proxy on first use)."""
    try:
        return install_tool("helm", settings.cache_dir, go_proxy=settings.go_proxy) / "helm"
    except ToolInstallError as exc:
        pytest.fail(str(exc), pytrace=False)


def one(docs: Iterable[Doc], kind: str, name: str) -> Doc:
    """The only rendered resource of ``kind`` called ``name``."""
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name} rendered {len(found)} times"
    return found[0]


def _closed(schema: Any) -> Any:
    """A CRD schema as the API server applies it: unknown fields are errors, not pruned."""
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    closed = {key: _closed(value) for key, value in schema.items()}
    if (
        "properties" in closed
        and "additionalProperties" not in closed
        and not closed.get("x-kubernetes-preserve-unknown-fields")
    ):
        closed["additionalProperties"] = False
    return closed


@cache
def _crds() -> dict[tuple[str, str], dict[str, Any]]:
    crds = {}
    for path in sorted(CRDS_DIR.glob("*.json")):
        crd = json.loads(path.read_text(encoding="utf-8"))
        crds[(f"{crd['group']}/{crd['version']}", crd["kind"])] = crd
    return crds


def crd_schema(api_version: str, kind: str) -> dict[str, Any] | None:
    """The kept CRD record (module, version, schema) of ``kind``, or None."""
    crd = _crds().get((api_version, kind))
    return copy.deepcopy(crd) if crd is not None else None


def schema_problems(rendering: Rendering) -> list[str]:
    """Every resource against its schema: Kubernetes' own (kubernetes-validate, strict) or the
    CRD's kept in platform/charts/crds. A resource without a schema is a problem too."""
    problems = []
    for doc in rendering.docs:
        what = f"{rendering.source}: {doc['kind']}/{doc['metadata']['name']}"
        crd = crd_schema(doc["apiVersion"], doc["kind"])
        if crd is not None:
            validator = jsonschema.Draft7Validator(_closed(crd["openAPIV3Schema"]))
            for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
                problems.append(
                    f"{what}: CRD schema of {crd['module']}: {error.message}"
                    f" at {list(error.absolute_path)}"
                )
            continue
        try:
            kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError as exc:
            problems.append(f"{what}: no schema, so not validated ({exc.message})")
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{what}: Kubernetes {KUBE_VERSION} schema: {exc.message}"
                            f" at {list(exc.absolute_path)}")  # fmt: skip
    return problems
